/**
 * Tool `manage_realtime` (API.md §13 → §9: POST /v1/{app}/realtime/configure, GET /v1/{app}/realtime/config).
 */
import { z } from 'zod';
import { configureRealtimeBody } from '../../shared/realtime.ts';
import { defineTool, restResult } from '../tool.ts';
import { appId, segment } from './fields.ts';

export const manageRealtime = defineTool({
  name: 'manage_realtime',
  title: 'Manage realtime',
  description:
    'Live change feeds over WebSocket for the app\'s tables. Actions: configure (tables: enable INSERT/UPDATE/DELETE events on existing tables with a primary key; ' +
    'idempotent, and it repairs a trigger lost to a table drop/recreate); get (each table with trigger_installed and drift, active_connection, websocket_url). ' +
    'Set up row-level security first (manage_rls): every subscriber receives only the rows it may SELECT, deletes included. Clients connect to ' +
    'websocket_url?token=<end-user access token> (none = anonymous), send {"type":"subscribe","table":"…","filter"?:{col:value},"since"?:<last change id>} ' +
    'and receive {"type":"change","id","table","op","record","old_record","timestamp"}; reconnecting with ?since=<last id> replays what was missed. ' +
    'butterbase_docs topic "realtime" has the whole protocol.',
  input: z.object({
    action: z.enum(['configure', 'get']).describe('What to do.'),
    app_id: appId,
    tables: configureRealtimeBody.shape.tables.optional().describe('configure: the tables to enable realtime on.'),
  }).strict(),
  requires: { configure: ['tables'] },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async run(args, { platform }) {
    const tool = `manage_realtime.${args.action}`;
    const app = segment(args.app_id);
    switch (args.action) {
      case 'configure':
        return restResult(await platform.call({ method: 'POST', path: `/v1/${app}/realtime/configure`, body: { tables: args.tables }, tool }));
      case 'get':
        return restResult(await platform.call({ method: 'GET', path: `/v1/${app}/realtime/config`, tool }));
    }
  },
});
