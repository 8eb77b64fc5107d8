/**
 * Tool `query_audit_logs` (API.md §13 → §2 GET /v1/{app}/audit-logs).
 */
import { z } from 'zod';
import { defineTool, restResult } from '../tool.ts';
import { appId, segment } from './fields.ts';

export const queryAuditLogs = defineTool({
  name: 'query_audit_logs',
  title: 'Query the audit log',
  description:
    'Who changed what in an app, newest first: schema and RLS changes, config, keys, data writes made with MCP tools (event_data.tool names the tool and action), ' +
    'end-user sign-ins. Filter by category (auth | admin | function), event_type, action, resource_type, resource_id, actor_id, from/to (ISO dates, to exclusive). ' +
    'Returns {logs, total, limit, offset, nextOffset}.',
  input: z.object({
    app_id: appId,
    category: z.enum(['auth', 'admin', 'function']).optional().describe('auth = end-user sign-ins, admin = changes made with a service key.'),
    event_type: z.string().max(100).optional().describe('e.g. "config.cors_updated", "data.row_inserted".'),
    action: z.enum(['create', 'update', 'delete', 'invoke', 'enable', 'disable', 'login', 'logout', 'read']).optional(),
    resource_type: z.string().max(100).optional().describe('e.g. "app_config", "table", "api_key".'),
    resource_id: z.string().max(200).optional(),
    actor_id: z.string().max(200).optional().describe('A service key id or end-user id.'),
    user_id: z.string().max(200).optional().describe('Alias of actor_id.'),
    from: z.string().optional().describe('ISO-8601 date-time, inclusive.'),
    to: z.string().optional().describe('ISO-8601 date-time, exclusive.'),
    limit: z.number().int().min(1).max(500).default(100).describe('Page size (default 100, at most 500).'),
    offset: z.number().int().min(0).default(0).describe('Skip this many entries (use nextOffset).'),
  }).strict(),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { platform }) {
    const { app_id: app, ...query } = args;
    return restResult(await platform.call({ method: 'GET', path: `/v1/${segment(app)}/audit-logs`, query, tool: 'query_audit_logs' }));
  },
});
