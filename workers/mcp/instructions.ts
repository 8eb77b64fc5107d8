/**
 * What an agent reads first: the `instructions` of the initialize result and the `quickstart` prompt
 * (API.md §13). Both name only registered tools.
 */
import type { GetPromptResult } from '@modelcontextprotocol/sdk/types.js';

/** Server info of the initialize result. */
export const serverInfo = { name: 'butterbase', version: '0.1.0', title: 'Butterbase' } as const;

/** The initialize result's `instructions`: how to start, how to read results, what a 401 means. */
export const instructions = `These tools build and run a Butterbase backend: apps with their own Postgres database, declarative schema, row-level security, an auto REST API and end-user auth.

How to start:
1. init_app {name} creates the app and waits until its database is ready (idempotent per name). Keep the app_id.
2. manage_schema action "dry_run" with your schema, check the statements, then action "apply".
3. manage_rls action "create_user_isolation" for each user-owned table (public_read_column for publicly readable rows).
4. insert_row / seed_database to add data; select_rows to read it (as_role "anon", or as_role "user" + as_user, to see what end users see — without as_role the service key bypasses RLS).
5. query_audit_logs to review what changed. butterbase_docs topic "overview" lists what this deployment serves; topic "mcp" documents every tool.

Reading results: success is JSON text. A failure has isError true and JSON {"error":{code, message, remediation, details}}: act on the code and follow the remediation. VALIDATION_* errors name the argument (details has field paths); unknown argument names are refused.

Authentication: every request needs Authorization: Bearer bb_sk_… (a Butterbase service key). An HTTP 401 means the key is missing, malformed or revoked — ask the user for a valid key (on a local platform it is "service_key" in .butterbase/bootstrap.json, printed by npm run dev), update the client's MCP server header (Claude Code: claude mcp add … --header "Authorization: Bearer …", then /mcp; Cursor: the server's "headers" in mcp.json), and retry.`;

/** The `quickstart(app_name?)` prompt. */
export function quickstartPrompt(appName: string | undefined): GetPromptResult {
  const name = appName?.trim() || 'my-app';
  return {
    description: 'Build a Butterbase backend step by step with the registered tools.',
    messages: [{
      role: 'user',
      content: {
        type: 'text',
        text: `Build a Butterbase backend for the app "${name}":
1. Call init_app with name "${name}" and keep the app_id it returns (it waits until the database is ready).
2. Design the tables. Call manage_schema with action "dry_run" and the schema ({"tables": {...}}; see butterbase_docs topic "schema"), review the statements, then call it again with action "apply".
3. Protect user-owned tables: manage_rls with action "create_user_isolation", table_name, user_column (e.g. "author_id") and, for rows anyone may read, public_read_column (a boolean column).
4. Add sample data with seed_database (or insert_row for one row).
5. Check access with select_rows: without as_role (service key, sees everything), with as_role "anon", and with as_role "user" plus as_user.
6. Add backend logic with deploy_function: a TypeScript handler (export default async function handler(req, ctx)) whose ctx.db.query runs under the caller's row-level security; call it with invoke_function (to act as an end user, connect with a key scoped to the app and send headers {"X-Butterbase-As-User": "<user id>"}) and read its console output with manage_function action "get_logs" (butterbase_docs topic "functions").
7. Set browser origins with manage_app action "update_cors" and give the frontend the app's api_url and anon_key; end users sign up and log in at /auth/{app_id}/signup and /login (butterbase_docs topic "auth").
8. Review the changes with query_audit_logs.
9. Put the frontend live: build it, zip the output from inside it (cd dist && zip -r ../site.zip .), call create_frontend_deployment (framework "react-vite" for a Vite SPA), PUT the zip to its uploadUrl with Content-Type application/zip, then manage_frontend action "start_deployment" with the deployment_id. When it is READY, its url is the live site — give that URL to the user (butterbase_docs topic "frontend").
If a step fails, read error.code and error.remediation in the result and fix the input before retrying.`,
      },
    }],
  };
}
