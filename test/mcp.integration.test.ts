/**
 * The MCP server (API.md §13) through real MCP clients over real HTTP against the running platform:
 * the MCP Inspector CLI (`@modelcontextprotocol/inspector --cli … --transport http`) for tools/list, the
 * first call of a scripted "build a blog" session and the auth failures, and the SDK's own Client (the
 * same Streamable HTTP transport, one connection instead of a process per call) for the rest of that
 * session, the error paths, initialize, prompts and docs. The app an agent builds is then used over REST by end users who sign up and log in.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { repoRoot } from '../scripts/lib/platform.ts';
import { errorCodes } from '../workers/shared/errors.ts';
import { api, createReadyApp, uniqueName } from './helpers/api.ts';

const inspectorCli = join(repoRoot, 'node_modules/@modelcontextprotocol/inspector/cli/build/cli.js');
const mcpUrl = () => `${inject('platformUrl')}/mcp`;

interface InspectorRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real Inspector CLI once (`--cli <url>/mcp --transport http`); `key: null` sends no Authorization. */
function inspector(args: string[], key: string | null = inject('serviceKey')): Promise<InspectorRun> {
  const auth = key === null ? [] : ['--header', `Authorization: Bearer ${key}`];
  return new Promise((resolve) => {
    execFile(process.execPath, [inspectorCli, '--cli', mcpUrl(), '--transport', 'http', ...auth, ...args], { timeout: 90_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** What a test sees of a tool call: the result flag, the text, and the text parsed as JSON when it is JSON. */
interface ToolOutcome {
  isError: boolean;
  text: string;
  json: any;
}

/** Reads a tools/call result into a {@link ToolOutcome}. */
function outcomeOf(result: { content?: unknown; isError?: unknown }): ToolOutcome {
  const text = (result.content as { type: string; text: string }[]).map((part) => part.text).join('');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { isError: result.isError === true, text, json };
}

/**
 * Calls a tool with the Inspector CLI (one process per call, ~2 s on these machines); every argument
 * is passed as `--tool-arg key=<JSON>` (the CLI JSON-parses values). Used where the real CLI matters:
 * tools/list, the first call of the scripted session, and the auth failures.
 */
async function callToolWithInspector(name: string, args: Record<string, unknown>, key?: string | null): Promise<ToolOutcome> {
  const toolArgs = Object.entries(args).flatMap(([k, v]) => ['--tool-arg', `${k}=${JSON.stringify(v)}`]);
  const run = await inspector(['--method', 'tools/call', '--tool-name', name, ...toolArgs], key);
  if (run.code !== 0) throw new Error(`inspector exited ${run.code}: ${run.stderr}`);
  return outcomeOf(JSON.parse(run.stdout) as { content: unknown; isError?: boolean });
}

/** One SDK client per key for the rest of the session (the same Streamable HTTP transport the Inspector uses). */
const sdkClients = new Map<string, Promise<Client>>();

/** Calls a tool through the MCP SDK's Client (connected once per key). */
async function callTool(name: string, args: Record<string, unknown>, key: string = inject('serviceKey')): Promise<ToolOutcome> {
  let client = sdkClients.get(key);
  if (!client) {
    client = (async () => {
      const c = new Client({ name: 'butterbase-session', version: '1.0.0' });
      await c.connect(new StreamableHTTPClientTransport(new URL(mcpUrl()), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
      return c;
    })();
    sdkClients.set(key, client);
  }
  return outcomeOf((await (await client).callTool({ name, arguments: args })) as { content?: unknown; isError?: unknown });
}

/** Calls a tool and expects success. */
async function ok(name: string, args: Record<string, unknown>, via: 'sdk' | 'inspector' = 'sdk'): Promise<any> {
  const outcome = via === 'inspector' ? await callToolWithInspector(name, args) : await callTool(name, args);
  expect(outcome.isError, `${name} ${JSON.stringify(args)} → ${outcome.text}`).toBe(false);
  return outcome.json;
}

/** The §13 tool surface this deployment registers: required and optional arguments, and the action enum. */
const expectedTools: Record<string, { required: string[]; optional: string[]; actions?: string[] }> = {
  init_app: { required: ['name'], optional: ['region', 'organization_id'] },
  manage_app: {
    required: ['action'],
    optional: ['app_id', 'paused', 'reason', 'access_mode', 'tables', 'allowed_origins', 'env'],
    actions: ['list', 'delete', 'pause', 'get_config', 'update_access_mode', 'secure', 'update_cors', 'get_env', 'update_env'],
  },
  manage_schema: { required: ['action', 'app_id'], optional: ['schema', 'name'], actions: ['get', 'apply', 'dry_run', 'list_migrations'] },
  manage_rls: {
    required: ['action', 'app_id'],
    optional: ['table_name', 'policy_name', 'command', 'role', 'using_expression', 'with_check_expression', 'restrictive', 'user_column', 'public_read_column'],
    actions: ['enable', 'create_policy', 'update_policy', 'create_user_isolation', 'list', 'delete'],
  },
  select_rows: { required: ['app_id', 'table'], optional: ['filters', 'select', 'order', 'limit', 'offset', 'as_role', 'as_user'] },
  insert_row: { required: ['app_id', 'table', 'data'], optional: ['as_role', 'as_user'] },
  seed_database: { required: ['app_id', 'table', 'rows'], optional: [] },
  manage_storage: {
    required: ['action', 'app_id'],
    optional: ['filename', 'content_type', 'size_bytes', 'public', 'object_id', 'publicReadEnabled', 'storageLimitBytes', 'maxFileSizeMb', 'allowedContentTypes'],
    actions: ['upload_url', 'download_url', 'list', 'delete', 'update_config'],
  },
  manage_realtime: { required: ['action', 'app_id'], optional: ['tables'], actions: ['configure', 'get'] },
  manage_oauth: {
    required: ['action', 'app_id'],
    optional: ['provider', 'client_id', 'client_secret', 'redirect_uris', 'scopes', 'authorization_url', 'token_url', 'userinfo_url', 'issuer', 'provider_metadata', 'enabled'],
    actions: ['configure', 'get', 'update', 'delete'],
  },
  deploy_function: {
    required: ['app_id', 'name', 'code'],
    optional: ['description', 'envVars', 'timeoutMs', 'memoryLimitMb', 'triggers', 'trigger', 'allow_service_key_impersonation', 'agent_tool', 'agent_tool_description', 'agent_tool_mode', 'agent_tool_exposed_to'],
  },
  invoke_function: { required: ['app_id', 'function_name'], optional: ['method', 'body', 'headers'] },
  manage_function: {
    required: ['action', 'app_id'],
    optional: ['function_name', 'limit', 'since', 'level', 'include_deleted', 'env', 'allow_service_key_impersonation'],
    actions: ['list', 'get', 'delete', 'get_logs', 'update_env', 'update_settings'],
  },
  create_frontend_deployment: { required: ['app_id'], optional: ['framework'] },
  manage_frontend: {
    required: ['action', 'app_id'],
    optional: ['deployment_id', 'lockfile_hash', 'build_command', 'output_dir', 'package_manager', 'user_env', 'vars', 'domain_action', 'hostname', 'domain_id', 'validation_method'],
    actions: ['start_deployment', 'list_deployments', 'activate_deployment', 'create_from_source', 'start_from_source', 'set_env', 'configure_custom_domain'],
  },
  manage_edge_ssr: {
    required: ['action', 'app_id'],
    optional: ['framework', 'deployment_id', 'limit', 'lockfile_hash', 'build_command', 'output_dir', 'package_manager', 'user_env', 'vars'],
    actions: ['create', 'start', 'list', 'activate', 'set_env', 'create_from_source', 'start_from_source'],
  },
  manage_durable_objects: {
    required: ['action', 'app_id'],
    optional: ['name', 'code', 'access_mode', 'key', 'value'],
    actions: ['deploy', 'list', 'get', 'delete', 'usage', 'list_env', 'set_env', 'delete_env'],
  },
  manage_auth_config: {
    required: ['action'],
    optional: ['app_id', 'post_auth_function', 'accessTokenTtl', 'refreshTokenTtlDays', 'name', 'key_scope', 'additional_scopes', 'organization_id'],
    actions: ['configure_auth_hook', 'update_jwt', 'generate_service_key'],
  },
  manage_auth_users: { required: ['action', 'app_id'], optional: ['user_id', 'limit', 'cursor'], actions: ['list', 'delete'] },
  manage_api_keys: { required: ['action'], optional: ['key_id'], actions: ['list', 'revoke'] },
  query_audit_logs: {
    required: ['app_id'],
    optional: ['category', 'event_type', 'action', 'resource_type', 'resource_id', 'actor_id', 'user_id', 'from', 'to', 'limit', 'offset'],
  },
  butterbase_docs: { required: [], optional: ['topic', 'query'] },
  submit_suggestion: {
    required: ['category', 'description'],
    optional: ['severity', 'affected_tool', 'proposed_solution', 'source', 'app_id', 'agent_context'],
  },
};

/** Every tool name API.md §13 knows, registered here or not (to check that prompts name only registered ones). */
const allSection13Tools = [
  ...Object.keys(expectedTools), 'list_regions', 'manage_migrations', 'manage_kv', 'deploy_function',
  'invoke_function', 'manage_function', 'manage_realtime', 'create_frontend_deployment', 'manage_frontend', 'manage_edge_ssr',
  'manage_durable_objects', 'manage_rag_content', 'rag_query', 'manage_ai', 'deploy_frontend', 'apply_schema', 'get_schema',
];

describe('tools/list through the Inspector CLI', () => {
  it('shows exactly the §13 tools of the served features, each with a strict input schema', async () => {
    const run = await inspector(['--method', 'tools/list']);
    expect(run.code, run.stderr).toBe(0);
    const { tools } = JSON.parse(run.stdout) as { tools: { name: string; title?: string; description?: string; inputSchema: any; annotations?: any }[] };
    expect(tools.map((t) => t.name).sort()).toEqual(Object.keys(expectedTools).sort());
    for (const tool of tools) {
      const expected = expectedTools[tool.name]!;
      const schema = tool.inputSchema;
      expect(schema.type, tool.name).toBe('object');
      expect(schema.additionalProperties, `${tool.name} must refuse unknown arguments`).toBe(false);
      expect([...(schema.required ?? [])].sort(), tool.name).toEqual([...expected.required].sort());
      expect(Object.keys(schema.properties).sort(), tool.name).toEqual([...expected.required, ...expected.optional].sort());
      if (expected.actions) expect(schema.properties.action.enum, tool.name).toEqual(expected.actions);
      expect(tool.description, tool.name).toEqual(expect.any(String));
      expect(tool.title, tool.name).toEqual(expect.any(String));
    }
    const byName = new Map(tools.map((t) => [t.name, t.inputSchema]));
    expect(byName.get('seed_database').properties.rows).toMatchObject({ type: 'array', minItems: 1, maxItems: 100 });
    expect(byName.get('query_audit_logs').properties.limit).toMatchObject({ type: 'integer', maximum: 500, default: 100 });
    expect(byName.get('query_audit_logs').properties.offset).toMatchObject({ type: 'integer', minimum: 0, default: 0 });
    expect(byName.get('select_rows').properties.as_role.enum).toEqual(['anon', 'user']);
    expect(byName.get('manage_app').properties.reason).toMatchObject({ type: 'string', maxLength: 500 });
    expect(byName.get('manage_auth_users').properties.limit).toMatchObject({ minimum: 1, maximum: 200 });
    expect(byName.get('init_app').properties.name).toMatchObject({ type: 'string', minLength: 1, maxLength: 63 });
  });
});

describe('build a blog through the Inspector CLI, then use it over REST as end users', () => {
  const alice = crypto.randomUUID();
  const bob = crypto.randomUUID();
  const postsSchema = {
    tables: {
      posts: {
        columns: {
          id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' },
          author_id: { type: 'uuid' },
          title: { type: 'text', nullable: false },
          published: { type: 'boolean', nullable: false, default: 'false' },
          created_at: { type: 'timestamptz', nullable: false, default: 'now()' },
        },
      },
    },
  };
  let appId = '';
  let anonKey = '';
  let keyId = '';

  beforeAll(async () => {
    const me = await api('/api-keys?scope=me');
    keyId = me.body.keys[0].id;
  });

  const titles = (rows: { title: string }[]) => rows.map((r) => r.title).sort();

  it('init_app creates the app and waits until its database is ready', async () => {
    const name = uniqueName('blog');
    const app = await ok('init_app', { name }, 'inspector');
    expect(app).toMatchObject({ name, provisioning_status: 'ready', db_provisioned: true });
    expect(app.app_id).toMatch(/^app_[0-9a-z]{12}$/);
    expect(app.api_url).toBe(`${inject('platformUrl')}/v1/${app.app_id}`);
    expect(app.anon_key).toEqual(expect.any(String));
    appId = app.app_id;
    anonKey = app.anon_key;
    const again = await ok('init_app', { name });
    expect(again.app_id).toBe(appId);
  });

  it('manage_schema dry_run previews the SQL without changing anything, then apply creates the table', async () => {
    const preview = await ok('manage_schema', { action: 'dry_run', app_id: appId, schema: postsSchema });
    expect(preview.dry_run).toBe(true);
    expect(preview.applied).toBeGreaterThan(0);
    expect(preview.statements.map((s: { sql: string }) => s.sql).join('\n')).toMatch(/CREATE TABLE[^\n]*"posts"/i);
    const notYet = await callTool('select_rows', { app_id: appId, table: 'posts' });
    expect(notYet.isError).toBe(true);
    expect(notYet.json.error.code).toBe('VALIDATION_TABLE_NOT_FOUND');

    const applied = await ok('manage_schema', { action: 'apply', app_id: appId, schema: postsSchema, name: 'create_posts' });
    expect(applied.applied).toBeGreaterThan(0);
    expect(applied.migration_id).toEqual(expect.anything());
    const same = await ok('manage_schema', { action: 'apply', app_id: appId, schema: postsSchema });
    expect(same.applied).toBe(0);
    const current = await ok('manage_schema', { action: 'get', app_id: appId });
    expect(Object.keys(current.schema.tables)).toContain('posts');
  });

  it('manage_rls create_user_isolation with public_read_column protects the posts', async () => {
    const isolation = await ok('manage_rls', {
      action: 'create_user_isolation', app_id: appId, table_name: 'posts', user_column: 'author_id', public_read_column: 'published',
    });
    expect(isolation).toMatchObject({ success: true, table: 'posts', user_column: 'author_id', policy_name: 'posts_user_isolation' });
    expect(isolation.public_read_policies).toEqual(expect.arrayContaining(['posts_public_read_user', 'posts_public_read_anon']));
  });

  it('manage_realtime configures the posts for realtime and reports the trigger', async () => {
    expect(await ok('manage_realtime', { action: 'configure', app_id: appId, tables: ['posts'] })).toEqual({ configured: [{ table: 'posts', status: 'enabled' }] });
    const config = await ok('manage_realtime', { action: 'get', app_id: appId });
    expect(config.tables).toEqual([expect.objectContaining({ table_name: 'posts', enabled: true, trigger_installed: true, drift: false })]);
    expect(config.websocket_url).toMatch(new RegExp(`^ws://.+/v1/${appId}/realtime$`));
  });

  it('seed_database inserts the good rows and reports the bad one with its index and code', async () => {
    const seeded = await ok('seed_database', {
      app_id: appId,
      table: 'posts',
      rows: [
        { title: 'alice public', published: true, author_id: alice },
        { title: 'alice draft', published: false, author_id: alice },
        { title: 'bob draft', author_id: bob },
        { published: true, author_id: bob },
      ],
    });
    expect(seeded.inserted).toBe(3);
    expect(seeded.failed).toBe(1);
    expect(seeded.errors).toHaveLength(1);
    expect(seeded.errors[0].row_index).toBe(3);
    expect(seeded.errors[0].error).toMatchObject({ code: 'VALIDATION_NOT_NULL_VIOLATION', remediation: expect.any(String) });
    expect(titles(seeded.rows)).toEqual(['alice draft', 'alice public', 'bob draft']);
    expect(seeded.rows.find((r: { title: string }) => r.title === 'bob draft').published).toBe(false);
  });

  it('select_rows shows each role exactly what RLS allows (service, anon, each user)', async () => {
    expect(titles(await ok('select_rows', { app_id: appId, table: 'posts' }))).toEqual(['alice draft', 'alice public', 'bob draft']);
    expect(titles(await ok('select_rows', { app_id: appId, table: 'posts', as_role: 'anon' }))).toEqual(['alice public']);
    expect(titles(await ok('select_rows', { app_id: appId, table: 'posts', as_role: 'user', as_user: alice }))).toEqual(['alice draft', 'alice public']);
    expect(titles(await ok('select_rows', { app_id: appId, table: 'posts', as_role: 'user', as_user: bob }))).toEqual(['alice public', 'bob draft']);
    const filtered = await ok('select_rows', {
      app_id: appId, table: 'posts', filters: { published: 'eq.false' }, select: ['title'], order: 'title.desc', limit: 1,
    });
    expect(filtered).toEqual([{ title: 'bob draft' }]);
  });

  it('insert_row as a simulated user gets the owner column filled by the isolation trigger', async () => {
    const row = await ok('insert_row', { app_id: appId, table: 'posts', data: { title: 'bob public', published: true }, as_role: 'user', as_user: bob });
    expect(row).toMatchObject({ title: 'bob public', author_id: bob, published: true });
    const forbidden = await callTool('insert_row', { app_id: appId, table: 'posts', data: { title: 'anon post' }, as_role: 'anon' });
    expect(forbidden.isError).toBe(true);
    expect(forbidden.json.error.code).toBe('AUTH_RLS_REQUIRES_USER_JWT');
  });

  it('query_audit_logs shows every change the session made: tool, actor key, target and outcome', async () => {
    const wanted: [eventType: string, tool: string, success: boolean][] = [
      ['app.created', 'init_app', true],
      ['schema.applied', 'manage_schema.apply', true],
      ['rls.user_isolation_created', 'manage_rls.create_user_isolation', true],
      ['realtime.configure', 'manage_realtime.configure', true],
      // The data route records each row an MCP tool writes, against the app the router resolved.
      ['data.row_inserted', 'seed_database', true],
      ['data.row_inserted', 'seed_database', false],
      ['data.row_inserted', 'insert_row', true],
      ['data.row_inserted', 'insert_row', false],
    ];
    let logs: any[] = [];
    // Control routes write their entries after answering (waitUntil), so the newest may take a moment.
    await vi.waitFor(async () => {
      logs = (await ok('query_audit_logs', { app_id: appId, category: 'admin', limit: 100 })).logs;
      for (const [eventType, tool, success] of wanted) {
        expect(logs.some((l) => l.event_type === eventType && l.event_data.tool === tool && l.success === success), `${eventType} ${tool} ${success}`).toBe(true);
      }
    }, { timeout: 20_000, interval: 500 });
    for (const log of logs.filter((l) => l.event_data.via === 'mcp')) {
      expect(log).toMatchObject({ app_id: appId, actor_type: 'service_key', actor_id: keyId });
    }
    const seeded = logs.filter((l) => l.event_type === 'data.row_inserted' && l.event_data.tool === 'seed_database');
    expect(seeded.filter((l) => l.success)).toHaveLength(3);
    expect(seeded.filter((l) => !l.success).map((l) => l.event_data.error_code)).toEqual(['VALIDATION_NOT_NULL_VIOLATION']);
    for (const entry of seeded) expect(entry).toMatchObject({ resource_type: 'table', resource_id: 'posts', action: 'create' });
    const refused = logs.find((l) => l.event_type === 'data.row_inserted' && l.event_data.tool === 'insert_row' && !l.success);
    expect(refused.event_data).toMatchObject({ as_role: 'anon', error_code: 'AUTH_RLS_REQUIRES_USER_JWT' });
    expect(refused.error_message).toEqual(expect.any(String));
    const inserted = logs.find((l) => l.event_type === 'data.row_inserted' && l.event_data.tool === 'insert_row' && l.success);
    expect(inserted.event_data).toMatchObject({ as_role: 'user', as_user: bob, row_id: expect.any(String) });
  });

  it('the same app serves end users over REST: sign up, log in, write own rows, read what RLS allows', async () => {
    const password = 'Blog-pass-1234!';
    const users: Record<string, { id: string; token: string; email: string }> = {};
    for (const who of ['carol', 'dave']) {
      const email = `${who}-${crypto.randomUUID()}@example.test`;
      const signup = await api(`/auth/${appId}/signup`, { token: null, body: { email, password } });
      expect(signup.status, signup.text).toBe(201);
      const login = await api(`/auth/${appId}/login`, { token: null, body: { email, password } });
      expect(login.status, login.text).toBe(200);
      users[who] = { id: login.body.user.id, token: login.body.access_token, email };
    }
    const carol = users.carol!;
    const dave = users.dave!;
    const created = await api(`/v1/${appId}/posts`, { token: carol.token, body: { title: 'carol draft' } });
    expect(created.status, created.text).toBe(201);
    expect(created.body.author_id).toBe(carol.id);

    const asCarol = await api(`/v1/${appId}/posts?select=title`, { token: carol.token });
    expect(titles(asCarol.body)).toEqual(['alice public', 'bob public', 'carol draft']);
    const asDave = await api(`/v1/${appId}/posts?select=title`, { token: dave.token });
    expect(titles(asDave.body)).toEqual(['alice public', 'bob public']);
    const asAnon = await api(`/v1/${appId}/posts?select=title`, { token: anonKey });
    expect(titles(asAnon.body)).toEqual(['alice public', 'bob public']);

    // What the agent sees for that user is what the user sees.
    expect(titles(await ok('select_rows', { app_id: appId, table: 'posts', select: 'title', as_user: carol.id }))).toEqual(titles(asCarol.body));
    const listed = await ok('manage_auth_users', { action: 'list', app_id: appId });
    expect(listed.users.map((u: { id: string }) => u.id)).toEqual(expect.arrayContaining([carol.id, dave.id]));

    // The agent removes a user: they can no longer sign in, and the removal is audited with the tool name.
    expect(await ok('manage_auth_users', { action: 'delete', app_id: appId, user_id: dave.id })).toMatchObject({ deleted: true, user_id: dave.id });
    expect((await api(`/auth/${appId}/login`, { token: null, body: { email: dave.email, password } })).status).toBe(401);
    await vi.waitFor(async () => {
      const { logs } = await ok('query_audit_logs', { app_id: appId, event_type: 'user_deleted' });
      expect(logs[0]).toMatchObject({ resource_id: dave.id, actor_id: keyId, event_data: { tool: 'manage_auth_users.delete' } });
    }, { timeout: 20_000, interval: 500 });
  });
});

describe('manage_storage through the Inspector CLI makes the storage REST calls', () => {
  it('upload_url → PUT the bytes → download_url → list → delete, update_config, and the REST errors', async () => {
    const { appId } = await createReadyApp('mcp-files');
    const upload = await ok('manage_storage', { action: 'upload_url', app_id: appId, filename: 'notes.txt', content_type: 'text/plain', size_bytes: 11 });
    expect(upload).toMatchObject({ uploadUrl: expect.any(String), objectId: expect.any(String), objectKey: expect.stringContaining(`${appId}/service/`), expiresIn: 300 });
    expect((await fetch(upload.uploadUrl, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'hello agent' })).status).toBe(200);
    const download = await ok('manage_storage', { action: 'download_url', app_id: appId, object_id: upload.objectId });
    expect(download).toMatchObject({ filename: 'notes.txt', expiresIn: 3600 });
    expect(await (await fetch(download.downloadUrl)).text()).toBe('hello agent');
    const listed = await ok('manage_storage', { action: 'list', app_id: appId });
    expect(listed.objects.map((o: { id: string }) => o.id)).toEqual([upload.objectId]);
    const config = await ok('manage_storage', { action: 'update_config', app_id: appId, maxFileSizeMb: 1, allowedContentTypes: ['text/*'] });
    expect(config.storage_config).toMatchObject({ maxFileSizeMb: 1, allowedContentTypes: ['text/*'] });
    const tooBig = await callTool('manage_storage', { action: 'upload_url', app_id: appId, filename: 'big.txt', content_type: 'text/plain', size_bytes: 2 * 1024 * 1024 });
    expect(tooBig.isError).toBe(true);
    expect(tooBig.json.error.code).toBe('QUOTA_FILE_SIZE_EXCEEDED');
    const wrongType = await callTool('manage_storage', { action: 'upload_url', app_id: appId, filename: 'x.png', content_type: 'image/png', size_bytes: 2 });
    expect(wrongType.json.error.code).toBe('VALIDATION_INVALID_TYPE');
    const missing = await callTool('manage_storage', { action: 'download_url', app_id: appId });
    expect(missing.json.error).toMatchObject({ code: 'VALIDATION_MISSING_FIELD', message: 'Error: object_id is required for action download_url.' });
    expect(await ok('manage_storage', { action: 'delete', app_id: appId, object_id: upload.objectId })).toEqual({ ok: true });
    const gone = await callTool('manage_storage', { action: 'download_url', app_id: appId, object_id: upload.objectId });
    expect(gone.json.error.code).toBe('RESOURCE_NOT_FOUND');
    expect(gone.json).toEqual((await api(`/storage/${appId}/download/${upload.objectId}`)).body);
  }, 120_000);
});

describe('deploy_function, invoke_function and manage_function through the Inspector CLI', () => {
  it('deploy a TypeScript function, invoke it (and as an end user), read its logs, update env and settings, delete it', async () => {
    const { appId } = await createReadyApp('mcp-fn');
    const code = 'export default async function handler(req: Request, ctx: any): Promise<Response> {\n  console.log("hello from", ctx.caller.type);\n  return Response.json({ user: ctx.user, greeting: ctx.env.GREETING ?? null });\n}';
    const deployed = await ok('deploy_function', { app_id: appId, name: 'hello', code, envVars: { GREETING: 'hi' } });
    expect(deployed).toMatchObject({ name: 'hello', url: expect.stringContaining(`/v1/${appId}/fn/hello`), triggers: [{ type: 'http', enabled: true }] });
    const invoked = await ok('invoke_function', { app_id: appId, function_name: 'hello', body: {} });
    expect(invoked).toMatchObject({ status: 200, body: { user: null, greeting: 'hi' }, duration_ms: expect.any(Number) });
    expect(invoked.headers['content-type']).toContain('application/json');
    const user = '0f7c6b2a-1d3e-4f5a-8b9c-0d1e2f3a4b5c';
    // Impersonation needs a key scoped to this app (API.md §8.2); the account key is refused.
    const byAccountKey = await ok('invoke_function', { app_id: appId, function_name: 'hello', headers: { 'X-Butterbase-As-User': user } });
    expect(byAccountKey).toMatchObject({ status: 403, body: { error: { code: 'AUTH_IMPERSONATION_FORBIDDEN' } } });
    const appKey = (await api('/api-keys', { body: { name: 'mcp-fn-app-key', key_scope: 'app', target_app_id: appId } })).body.key as string;
    const asUser = (await callTool('invoke_function', { app_id: appId, function_name: 'hello', headers: { 'X-Butterbase-As-User': user } }, appKey)).json;
    expect(asUser.body.user).toEqual({ id: user });
    const broken = await callTool('deploy_function', { app_id: appId, name: 'broken', code: 'export async function handler() {\n  return (\n}' });
    expect(broken.isError).toBe(true);
    expect(broken.json.error).toMatchObject({ code: 'FUNCTION_BUILD_FAILED', details: { line: 3 } });
    expect((await ok('manage_function', { action: 'update_env', app_id: appId, function_name: 'hello', env: { GREETING: null } })).envKeys).toEqual([]);
    expect((await ok('invoke_function', { app_id: appId, function_name: 'hello' })).body.greeting).toBeNull();
    expect(await ok('manage_function', { action: 'update_settings', app_id: appId, function_name: 'hello', allow_service_key_impersonation: false })).toMatchObject({ success: true });
    const refused = (await callTool('invoke_function', { app_id: appId, function_name: 'hello', headers: { 'X-Butterbase-As-User': user } }, appKey)).json;
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'AUTH_IMPERSONATION_DISABLED' } } });
    const listed = await ok('manage_function', { action: 'list', app_id: appId });
    expect(listed.functions.map((f: { name: string }) => f.name)).toEqual(['hello']);
    let logs: any;
    for (let i = 0; i < 20; i++) {
      logs = await ok('manage_function', { action: 'get_logs', app_id: appId, function_name: 'hello', limit: 10 });
      if (logs.logs.length >= 3) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(logs.logs.some((l: { consoleLogs: { message: string }[] }) => l.consoleLogs.some((c) => c.message === 'hello from service_key'))).toBe(true);
    const missing = await callTool('manage_function', { action: 'get', app_id: appId });
    expect(missing.json.error).toMatchObject({ code: 'VALIDATION_MISSING_FIELD' });
    expect(await ok('manage_function', { action: 'delete', app_id: appId, function_name: 'hello' })).toEqual({ success: true });
    expect((await callTool('manage_function', { action: 'get', app_id: appId, function_name: 'hello' })).json.error.code).toBe('RESOURCE_NOT_FOUND');
  }, 180_000);
});

describe('error paths through the Inspector CLI carry the REST code, message and remediation', () => {
  let appId = '';
  beforeAll(async () => {
    ({ appId } = await createReadyApp('mcperr'));
    const applied = await api(`/v1/${appId}/schema/apply`, {
      body: { schema: { tables: { notes: { columns: { id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' }, body: { type: 'text' } } } } } },
    });
    expect(applied.status, applied.text).toBe(200);
  });

  it('a missing or wrong key gets 401 with WWW-Authenticate and the envelope; the CLI reports the code', async () => {
    const expectedHeader = `Bearer realm="butterbase", resource_metadata="${inject('platformUrl')}/.well-known/oauth-protected-resource", scope="mcp"`;
    const cases: [string, string | null, string][] = [
      ['no key', null, 'AUTH_REQUIRED'],
      ['unknown key', `bb_sk_${'0'.repeat(40)}`, 'AUTH_INVALID_API_KEY'],
      ['malformed key', 'bb_sk_nope', 'AUTH_INVALID_API_KEY'],
      ['not a key', 'hello', 'AUTH_INVALID_TOKEN'],
    ];
    for (const [name, key, code] of cases) {
      const res = await api('/mcp', {
        method: 'POST', token: key, headers: { accept: 'application/json, text/event-stream' },
        body: { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } },
      });
      expect(res.status, name).toBe(401);
      expect(res.headers.get('www-authenticate'), name).toBe(expectedHeader);
      expect(res.body.error.code, name).toBe(code);
      expect(res.body.error.remediation, name).toMatch(/bootstrap\.json/);

      const run = await inspector(['--method', 'tools/list'], key);
      expect(run.code, name).not.toBe(0);
      expect(run.stderr, name).toContain(code);
    }
  });

  it('a revoked key stops working on the next MCP request', async () => {
    const created = await api('/api-keys', { body: { name: 'mcp-short-lived' } });
    expect((await inspector(['--method', 'tools/list'], created.body.key)).code).toBe(0);
    expect((await api(`/api-keys/${created.body.keyId}`, { method: 'DELETE' })).status).toBe(200);
    const run = await inspector(['--method', 'tools/list'], created.body.key);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('AUTH_INVALID_API_KEY');
  });

  it('the protected-resource metadata names the MCP endpoint; GET /mcp answers 405 (stateless)', async () => {
    const metadata = await api('/.well-known/oauth-protected-resource', { token: null });
    expect(metadata.status).toBe(200);
    expect(metadata.body).toEqual({
      resource: mcpUrl(), resource_name: 'Butterbase MCP server', authorization_servers: [], bearer_methods_supported: ['header'], scopes_supported: ['mcp'],
    });
    const get = await api('/mcp', { headers: { accept: 'text/event-stream' } });
    expect(get.status).toBe(405);
  });

  const cases: { name: string; tool: string; args: () => Record<string, unknown>; code: string; message: RegExp; remediation: RegExp }[] = [
    {
      name: 'unknown tool argument', tool: 'manage_app', args: () => ({ action: 'list', colour: 'red' }),
      code: 'VALIDATION_INVALID_SCHEMA', message: /Unknown argument "colour" for tool manage_app/, remediation: /accepts only: action, app_id/,
    },
    {
      name: 'unknown argument on a standalone tool', tool: 'select_rows', args: () => ({ app_id: appId, table: 'notes', where: 'x' }),
      code: 'VALIDATION_INVALID_SCHEMA', message: /Unknown argument "where"/, remediation: /filters/,
    },
    {
      name: 'missing per-action field', tool: 'manage_app', args: () => ({ action: 'pause' }),
      code: 'VALIDATION_MISSING_FIELD', message: /^Error: app_id is required for action pause\.$/, remediation: /app_id/,
    },
    {
      name: 'missing second per-action field', tool: 'manage_app', args: () => ({ action: 'pause', app_id: appId }),
      code: 'VALIDATION_MISSING_FIELD', message: /^Error: paused is required for action pause\.$/, remediation: /paused/,
    },
    {
      name: 'missing field for user isolation', tool: 'manage_rls', args: () => ({ action: 'create_user_isolation', app_id: appId, table_name: 'notes' }),
      code: 'VALIDATION_MISSING_FIELD', message: /user_column is required for action create_user_isolation/, remediation: /user_column/,
    },
    {
      name: 'missing tables for realtime', tool: 'manage_realtime', args: () => ({ action: 'configure', app_id: appId }),
      code: 'VALIDATION_MISSING_FIELD', message: /tables is required for action configure/, remediation: /tables/,
    },
    {
      name: 'missing schema for dry_run', tool: 'manage_schema', args: () => ({ action: 'dry_run', app_id: appId }),
      code: 'VALIDATION_MISSING_FIELD', message: /schema is required for action dry_run/, remediation: /schema/,
    },
    {
      name: 'malformed app id', tool: 'manage_schema', args: () => ({ action: 'get', app_id: 'blog' }),
      code: 'VALIDATION_INVALID_SCHEMA', message: /app_id/, remediation: /app_id/,
    },
    {
      name: 'an auth hook must name a deployed function', tool: 'manage_auth_config', args: () => ({ action: 'configure_auth_hook', app_id: appId, post_auth_function: 'after_login' }),
      code: 'RESOURCE_NOT_FOUND', message: /Function "after_login" not found/, remediation: /Deploy the function first/,
    },
  ];
  for (const c of cases) {
    it(`${c.name} → ${c.code}`, async () => {
      const outcome = await callTool(c.tool, c.args());
      expect(outcome.isError).toBe(true);
      expect(outcome.json.error.code).toBe(c.code);
      expect(outcome.json.error.message).toMatch(c.message);
      expect(outcome.json.error.remediation).toMatch(c.remediation);
      expect(outcome.json.error.documentation_url).toContain(c.code.toLowerCase().replaceAll('_', '-'));
    });
  }

  // `issuesOnly`: the tool checks the argument itself with the REST body's own schema (shared in
  // workers/shared/schemas/), so it refuses before calling REST: same code, same field paths and
  // messages in details; only the sentence around them names the tool instead of the body.
  const restParity: { name: string; tool: string; args: () => Record<string, unknown>; rest: () => Parameters<typeof api>; status: number; code: string; issuesOnly?: boolean }[] = [
    {
      name: 'unknown app', tool: 'manage_app', args: () => ({ action: 'get_config', app_id: 'app_000000000000' }),
      rest: () => ['/v1/app_000000000000/config'], status: 404, code: 'APP_NOT_FOUND',
    },
    {
      name: 'unknown app on the data API', tool: 'select_rows', args: () => ({ app_id: 'app_000000000000', table: 'posts' }),
      rest: () => ['/v1/app_000000000000/posts'], status: 404, code: 'APP_NOT_FOUND',
    },
    {
      name: 'destructive schema change without opt-in',
      tool: 'manage_schema',
      args: () => ({ action: 'apply', app_id: appId, schema: { tables: { notes: { columns: { id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' }, body: { type: 'integer' } } } } } }),
      rest: () => [`/v1/${appId}/schema/apply`, { body: { schema: { tables: { notes: { columns: { id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' }, body: { type: 'integer' } } } } } } }],
      status: 409, code: 'SCHEMA_DESTRUCTIVE_CHANGE',
    },
    {
      name: 'invalid config value', tool: 'manage_app', args: () => ({ action: 'update_cors', app_id: appId, allowed_origins: ['ftp://nope'] }),
      rest: () => [`/v1/${appId}/config/cors`, { method: 'PATCH', body: { allowed_origins: ['ftp://nope'] } }], status: 400, code: 'VALIDATION_INVALID_SCHEMA', issuesOnly: true,
    },
    {
      name: 'unknown table', tool: 'insert_row', args: () => ({ app_id: appId, table: 'nope', data: { a: 1 } }),
      rest: () => [`/v1/${appId}/nope`, { body: { a: 1 } }], status: 404, code: 'VALIDATION_TABLE_NOT_FOUND',
    },
  ];
  for (const c of restParity) {
    it(`${c.name} → ${c.code}, the same envelope as REST`, async () => {
      const outcome = await callTool(c.tool, c.args());
      const rest = await api(...c.rest());
      expect(rest.status).toBe(c.status);
      expect(outcome.isError).toBe(true);
      expect(outcome.json.error.code).toBe(c.code);
      if (c.issuesOnly) expect(outcome.json.error.details).toEqual(rest.body.error.details);
      else expect(outcome.json.error).toEqual(rest.body.error);
      if (c.code === 'APP_NOT_FOUND') expect(outcome.json.error.remediation).toBe(errorCodes.APP_NOT_FOUND.remediation);
      if (c.code === 'SCHEMA_DESTRUCTIVE_CHANGE') expect(outcome.json.error.remediation).toMatch(/_dropColumns/);
    });
  }

  it('the destructive change changed nothing and its refusal is in the audit log with the tool name', async () => {
    const schema = await ok('manage_schema', { action: 'get', app_id: appId });
    expect(schema.schema.tables.notes.columns.body.type).toBe('text');
    await vi.waitFor(async () => {
      const { logs } = await ok('query_audit_logs', { app_id: appId, event_type: 'schema.applied' });
      const refused = logs.find((l: any) => !l.success && l.event_data.tool === 'manage_schema.apply');
      expect(refused?.event_data.error_code).toBe('SCHEMA_DESTRUCTIVE_CHANGE');
    }, { timeout: 20_000, interval: 500 });
  });
});

describe('the SDK client: initialize, instructions, the quickstart prompt and the docs', () => {
  async function connect(): Promise<Client> {
    const client = new Client({ name: 'butterbase-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(mcpUrl()), {
      requestInit: { headers: { authorization: `Bearer ${inject('serviceKey')}` } },
    }));
    return client;
  }

  /** Tool names a text mentions, out of every §13 tool name. */
  const toolsNamed = (text: string) => allSection13Tools.filter((name) => new RegExp(`\\b${name}\\b`).test(text));

  it('identifies as butterbase 0.1.0 with instructions and a quickstart prompt that name only registered tools', async () => {
    const client = await connect();
    try {
      expect(client.getServerVersion()).toMatchObject({ name: 'butterbase', version: '0.1.0' });
      const instructions = client.getInstructions() ?? '';
      expect(instructions).toMatch(/init_app/);
      expect(instructions).toMatch(/401/);
      expect(instructions).toMatch(/\.butterbase\/bootstrap\.json/);
      for (const name of toolsNamed(instructions)) expect(Object.keys(expectedTools), `instructions name ${name}`).toContain(name);

      const { prompts } = await client.listPrompts();
      expect(prompts.map((p) => p.name)).toEqual(['quickstart']);
      expect(prompts[0]!.arguments?.map((a) => a.name)).toEqual(['app_name']);
      const prompt = await client.getPrompt({ name: 'quickstart', arguments: { app_name: 'shop' } });
      const text = prompt.messages.map((m) => (m.content.type === 'text' ? m.content.text : '')).join('\n');
      expect(text).toContain('"shop"');
      const named = toolsNamed(text);
      expect(named).toEqual(expect.arrayContaining(['init_app', 'manage_schema', 'manage_rls', 'seed_database', 'select_rows']));
      for (const name of named) expect(Object.keys(expectedTools), `quickstart names ${name}`).toContain(name);
    } finally {
      await client.close();
    }
  });

  it('butterbase_docs serves the topics, says what is not served here, and filters by query', async () => {
    const client = await connect();
    const docs = async (args: Record<string, unknown>) => {
      const result = await client.callTool({ name: 'butterbase_docs', arguments: args });
      expect(result.isError ?? false).toBe(false);
      return (result.content as { text: string }[]).map((c) => c.text).join('');
    };
    try {
      const overview = await docs({});
      expect(overview).toContain('What this deployment serves');
      expect(overview).toMatch(/file storage .*\| available \| MCP `manage_storage`/);
      expect(overview).toMatch(/realtime change feeds.*available/);
      expect(overview).toMatch(/serverless functions \(.*\| available \| MCP `deploy_function`/);
      expect(overview).toMatch(/static frontend hosting .*\| available \| MCP `create_frontend_deployment`/);
      expect(overview).toMatch(/edge SSR hosting .*\| available \| MCP `manage_edge_ssr`/);
      expect(overview).toMatch(/RAG, AI gateway.*not yet/);
      const mcp = await docs({ topic: 'mcp' });
      for (const name of Object.keys(expectedTools)) expect(mcp, `mcp topic documents ${name}`).toContain(`### ${name}`);
      expect(mcp).toContain('create_user_isolation needs table_name, user_column');
      const storage = await docs({ topic: 'storage' });
      expect(storage).toMatch(/^# Storage\n/);
      expect(storage).not.toContain('Not available on this deployment yet');
      expect(storage).toContain('POST /storage/{app_id}/upload');
      expect(await docs({ topic: 'billing' })).toMatch(/Out of scope for this deployment/);
      const destructive = await docs({ topic: 'schema', query: 'destructive' });
      expect(destructive).toContain('SCHEMA_DESTRUCTIVE_CHANGE');
      expect(destructive).not.toContain('"comments"'); // only the matching blocks, not the whole topic
      expect(await docs({ topic: 'schema', query: 'no-such-word-anywhere' })).toMatch(/^Nothing in topic "schema" mentions/);
      const all = await docs({ topic: 'all' });
      expect(all).toContain('## Data API');
      expect(all).not.toContain('presigned PUT URL'); // the product's storage docs are only in topic "storage"

      const bad = await client.callTool({ name: 'butterbase_docs', arguments: { topic: 'kubernetes' } });
      expect(bad.isError).toBe(true);
      expect(JSON.parse((bad.content as { text: string }[])[0]!.text).error.code).toBe('VALIDATION_INVALID_SCHEMA');
    } finally {
      await client.close();
    }
  });

  it('manage_api_keys and manage_auth_config mint, list and revoke keys through the REST routes', async () => {
    const client = await connect();
    const call = async (name: string, args: Record<string, unknown>) => {
      const result = await client.callTool({ name, arguments: args });
      return { isError: result.isError === true, json: JSON.parse((result.content as { text: string }[])[0]!.text) };
    };
    try {
      const { appId } = await createReadyApp('mcpkeys');
      const minted = await call('manage_auth_config', { action: 'generate_service_key', name: 'ci', key_scope: 'app', app_id: appId });
      expect(minted.isError).toBe(false);
      expect(minted.json.key).toMatch(/^bb_sk_[0-9a-f]{40}$/);
      expect(minted.json.scopes).toEqual([`app:${appId}`]);
      const listed = await call('manage_api_keys', { action: 'list' });
      expect(listed.json.keys.map((k: { id: string }) => k.id)).toContain(minted.json.keyId);
      expect(JSON.stringify(listed.json)).not.toContain(minted.json.key);
      const revoked = await call('manage_api_keys', { action: 'revoke', key_id: minted.json.keyId });
      expect(revoked.json).toEqual({ revoked: true });
      const again = await call('manage_api_keys', { action: 'revoke', key_id: minted.json.keyId });
      expect(again.isError).toBe(true);
      expect(again.json.error.code).toBe('RESOURCE_NOT_FOUND');
      const appOnly = await call('manage_auth_config', { action: 'generate_service_key', name: 'x', key_scope: 'app' });
      expect(appOnly.json.error).toMatchObject({ code: 'VALIDATION_MISSING_FIELD' });
      const jwt = await call('manage_auth_config', { action: 'update_jwt', app_id: appId, accessTokenTtl: '15m' });
      expect(jwt.json.jwt_config).toMatchObject({ accessTokenTtl: '15m' });
      const paused = await call('manage_app', { action: 'pause', app_id: appId, paused: true, reason: 'maintenance' });
      expect(paused.json).toMatchObject({ paused: true, paused_reason: 'maintenance' });
      const blocked = await call('select_rows', { app_id: appId, table: 'anything' });
      expect(blocked.json.error.code).toBe('APP_PAUSED');
      await call('manage_app', { action: 'pause', app_id: appId, paused: false });
      const env = await call('manage_app', { action: 'update_env', app_id: appId, env: { STRIPE_KEY: 'sk_test_secret', OLD: null } });
      expect(env.json.updatedKeys).toEqual(['OLD', 'STRIPE_KEY']);
      const names = await call('manage_app', { action: 'get_env', app_id: appId });
      expect(names.json.keys).toEqual(['STRIPE_KEY']);
      expect(JSON.stringify(names.json)).not.toContain('sk_test_secret');
      const secured = await call('manage_app', { action: 'secure', app_id: appId });
      expect(secured.json).toMatchObject({ access_mode: 'authenticated' });
      const config = await call('manage_app', { action: 'get_config', app_id: appId });
      expect(config.json.access_mode).toBe('authenticated');
      await vi.waitFor(async () => {
        const latest = (await call('query_audit_logs', { app_id: appId, event_type: 'config.pause_updated' })).json.logs;
        expect(latest.map((l: any) => l.event_data.tool)).toEqual(['manage_app.pause', 'manage_app.pause']);
      }, { timeout: 20_000, interval: 500 });
    } finally {
      await client.close();
    }
  });
});
