/**
 * Tool `manage_schema` (API.md §13 → §3.2: GET /v1/{app}/schema, POST /v1/{app}/schema/apply, GET /v1/{app}/migrations).
 */
import { z } from 'zod';
import { defineTool, restResult } from '../tool.ts';
import { appId, segment } from './fields.ts';

export const manageSchema = defineTool({
  name: 'manage_schema',
  title: 'Manage the database schema',
  description:
    'Read or change the app\'s tables with the declarative schema DSL (butterbase_docs topic "schema"). Actions: ' +
    'get (current schema, introspected); dry_run (the SQL statements apply would run, each marked destructive or not — nothing changes); ' +
    'apply (diff and apply in one transaction; same payload twice is a no-op; returns migration_id); list_migrations (newest first). ' +
    'schema = { tables: { <table>: { columns: { <col>: { type, primaryKey?, nullable?, unique?, default?, references? } }, indexes?, _dropColumns? } }, _drop?: [<table>] }. ' +
    'Dropping a table or column needs explicit opt-in via _drop / _dropColumns, otherwise SCHEMA_DESTRUCTIVE_CHANGE.',
  input: z.object({
    action: z.enum(['get', 'apply', 'dry_run', 'list_migrations']).describe('What to do; run dry_run before apply.'),
    app_id: appId,
    schema: z.record(z.string(), z.unknown()).optional().describe(
      'apply / dry_run: the desired schema, e.g. {"tables":{"posts":{"columns":{"id":{"type":"uuid","primaryKey":true,"default":"gen_random_uuid()"},"title":{"type":"text","nullable":false}}}}}.',
    ),
    name: z.string().min(1).max(200).optional().describe('apply: a name for the migration (default schema_<timestamp>).'),
  }).strict(),
  requires: { apply: ['schema'], dry_run: ['schema'] },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(args, { platform }) {
    const tool = `manage_schema.${args.action}`;
    const app = segment(args.app_id);
    switch (args.action) {
      case 'get':
        return restResult(await platform.call({ method: 'GET', path: `/v1/${app}/schema`, tool }));
      case 'dry_run':
        return restResult(await platform.call({ method: 'POST', path: `/v1/${app}/schema/apply`, body: { schema: args.schema, dry_run: true }, tool }));
      case 'apply':
        return restResult(await platform.call({ method: 'POST', path: `/v1/${app}/schema/apply`, body: { schema: args.schema, name: args.name }, tool }));
      case 'list_migrations':
        return restResult(await platform.call({ method: 'GET', path: `/v1/${app}/migrations`, tool }));
    }
  },
});
