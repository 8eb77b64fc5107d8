/**
 * Tool `query_audit_logs` (API.md §13 → §2 GET /v1/{app}/audit-logs). Its input is the REST query's
 * filters (workers/shared/schemas/audit.ts) plus `app_id`, with the page as numbers.
 */
import { auditLogFilters, auditLogLimit, auditLogOffset } from '../../shared/schemas/audit.ts';
import { defineTool, restResult } from '../tool.ts';
import { appId, segment } from './fields.ts';

const filters = auditLogFilters.shape;

export const queryAuditLogs = defineTool({
  name: 'query_audit_logs',
  title: 'Query the audit log',
  description:
    'Who changed what in an app, newest first: schema and RLS changes, config, keys, data writes made with MCP tools (event_data.tool names the tool and action), ' +
    'end-user sign-ins, and refused attempts (success false, event_data.error_code). Filter by category (auth | admin | function), event_type, action, ' +
    'resource_type, resource_id, actor_id, from/to (ISO dates, to exclusive). Returns {logs, total, limit, offset, nextOffset}.',
  input: auditLogFilters.extend({
    app_id: appId,
    category: filters.category.describe('auth = end-user sign-ins, admin = changes made with a service key.'),
    event_type: filters.event_type.describe('e.g. "config.cors_updated", "data.row_inserted".'),
    resource_type: filters.resource_type.describe('e.g. "app_config", "table", "api_key".'),
    actor_id: filters.actor_id.describe('A service key id or end-user id.'),
    user_id: filters.user_id.describe('Alias of actor_id.'),
    from: filters.from.describe('ISO-8601 date or date-time, inclusive.'),
    to: filters.to.describe('ISO-8601 date or date-time, exclusive.'),
    limit: auditLogLimit.default(100).describe('Page size (default 100, at most 500).'),
    offset: auditLogOffset.default(0).describe('Skip this many entries (use nextOffset).'),
  }).strict(),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { platform }) {
    const { app_id: app, ...query } = args;
    return restResult(await platform.call({ method: 'GET', path: `/v1/${segment(app)}/audit-logs`, query, tool: 'query_audit_logs' }));
  },
});
