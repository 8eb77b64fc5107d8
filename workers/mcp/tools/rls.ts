/**
 * Tool `manage_rls` (API.md §13 → §4: /v1/{app}/rls, /rls/enable, /rls/policies, DELETE /rls/{table}[/{policy}]).
 */
import { z } from 'zod';
import { defineTool, restResult } from '../tool.ts';
import { appId, segment } from './fields.ts';

export const manageRls = defineTool({
  name: 'manage_rls',
  title: 'Manage row-level security',
  description:
    'Row-level security for the app\'s tables. The service key always bypasses RLS; anon and signed-in end users are filtered. Actions: ' +
    'create_user_isolation (recommended for user-owned tables: each user sees and writes only rows whose user_column is their id; the column is filled ' +
    'automatically on insert; public_read_column (boolean) additionally lets everyone read rows where it is true); ' +
    'enable (RLS on, default deny); create_policy / update_policy (policy_name, command, role, using_expression, with_check_expression, restrictive; ' +
    'user_column installs the auto-fill trigger); list; delete (one policy with policy_name, else every policy of the table and RLS off). ' +
    'Verify with select_rows as_role "anon" / as_role "user" + as_user.',
  input: z.object({
    action: z.enum(['enable', 'create_policy', 'update_policy', 'create_user_isolation', 'list', 'delete']).describe('What to do.'),
    app_id: appId,
    table_name: z.string().min(1).max(63).optional().describe('The table.'),
    policy_name: z.string().min(1).max(63).optional().describe('create_policy / update_policy / delete: the policy name.'),
    command: z.enum(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'ALL']).optional().describe('Statement the policy covers (default ALL).'),
    role: z.enum(['anon', 'user']).optional().describe('Role the policy applies to (default: both).'),
    using_expression: z.string().min(1).optional().describe('Boolean SQL over the row for reads/updates/deletes, e.g. "author_id = current_user_id()::uuid".'),
    with_check_expression: z.string().min(1).optional().describe('Boolean SQL that new rows must satisfy (INSERT/UPDATE).'),
    restrictive: z.boolean().optional().describe('AND this policy with the others instead of OR.'),
    user_column: z.string().min(1).max(63).optional().describe('create_user_isolation: the owner column (uuid or text); create_policy: also install the auto-fill trigger.'),
    public_read_column: z.string().min(1).max(63).optional().describe('create_user_isolation: a boolean column; rows where it is true are readable by anyone.'),
  }).strict(),
  requires: {
    enable: ['table_name'],
    create_policy: ['table_name', 'policy_name'],
    update_policy: ['table_name', 'policy_name'],
    create_user_isolation: ['table_name', 'user_column'],
    delete: ['table_name'],
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  async run(args, { platform }) {
    const tool = `manage_rls.${args.action}`;
    const app = segment(args.app_id);
    const policy = {
      command: args.command,
      role: args.role,
      using_expression: args.using_expression,
      with_check_expression: args.with_check_expression,
      restrictive: args.restrictive,
    };
    switch (args.action) {
      case 'enable':
        return restResult(await platform.call({ method: 'POST', path: `/v1/${app}/rls/enable`, body: { table_name: args.table_name }, tool }));
      case 'create_policy':
        return restResult(await platform.call({
          method: 'POST', path: `/v1/${app}/rls/policies`, tool,
          body: { table_name: args.table_name, policy_name: args.policy_name, ...policy, user_column: args.user_column },
        }));
      case 'update_policy':
        return restResult(await platform.call({
          method: 'PATCH', path: `/v1/${app}/rls/policies/${segment(args.policy_name!)}`, tool,
          body: { table_name: args.table_name, ...policy },
        }));
      case 'create_user_isolation':
        return restResult(await platform.call({
          method: 'POST', path: `/v1/${app}/rls`, tool,
          body: { table_name: args.table_name, user_column: args.user_column, public_read_column: args.public_read_column },
        }));
      case 'list':
        return restResult(await platform.call({ method: 'GET', path: `/v1/${app}/rls`, tool }));
      case 'delete': {
        const table = segment(args.table_name!);
        const path = args.policy_name ? `/v1/${app}/rls/${table}/${segment(args.policy_name)}` : `/v1/${app}/rls/${table}`;
        return restResult(await platform.call({ method: 'DELETE', path, tool }));
      }
    }
  },
});
