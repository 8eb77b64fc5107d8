/** Routes: GET /v1/:app/schema, POST /v1/:app/schema/apply, GET /v1/:app/migrations (API.md §3.2). Owner auth. */
import { Hono } from 'hono';
import { parseJsonText } from '../../shared/validation.ts';
import { audited, auditedParse, ownedApp } from '../context.ts';
import type { Env } from '../env.ts';
import {
  applyPlan, defaultMigrationName, dryRunResult, getSchema, isUpToDate, listMigrations, ownerExecutor, planApply, upToDateResult,
} from '../schema/apply.ts';
import { parseApplySchemaBody } from '../schema/dsl.ts';

/** The schema routes, mounted by the control Worker. */
export const schemaRoutes = new Hono<{ Bindings: Env }>();

schemaRoutes.get('/v1/:app/schema', async (c) => {
  const { context, app } = await ownedApp(c);
  return c.json(await getSchema(ownerExecutor(c.env, app, 'read'), app.id, context.apiBase));
});

schemaRoutes.post('/v1/:app/schema/apply', async (c) => {
  const { app } = await ownedApp(c);
  // A body that does not parse is recorded as a refused apply (it may hold an attack); a dry run is not a change.
  const refused = { appId: app.id, eventType: 'schema.applied', action: 'update' as const, resourceType: 'schema' };
  const body = await auditedParse(c, refused, async () => parseApplySchemaBody(parseJsonText(await c.req.text())));
  const execute = ownerExecutor(c.env, app, 'write');
  const plan = await planApply(execute, body.schema);
  if (body.dry_run) return c.json(dryRunResult(plan));
  if (isUpToDate(plan)) return c.json(upToDateResult());
  const name = body.name ?? defaultMigrationName(new Date());
  const target = {
    appId: app.id,
    eventType: 'schema.applied',
    action: 'update' as const,
    resourceType: 'schema',
    resourceId: name,
    data: { name, statements: plan.statements.map((s) => s.description), refused: plan.refused },
  };
  return c.json(await audited(c, target, () => applyPlan(execute, body.schema, plan, name)));
});

schemaRoutes.get('/v1/:app/migrations', async (c) => {
  const { app } = await ownedApp(c);
  return c.json(await listMigrations(ownerExecutor(c.env, app, 'read'), app.id));
});
