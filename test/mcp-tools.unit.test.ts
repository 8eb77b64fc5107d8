/**
 * MCP data writes and their audit entries, without a platform: which writes the data route records
 * (workers/data/audit.ts: only a tool's write that reached one of the caller's apps, against the app
 * the router's gate resolved), and how seed_database tells a bad row from a failure every row would hit
 * (by error code, never by HTTP status).
 */
import { describe, expect, it } from 'vitest';
import type { AppGate } from '../workers/shared/contracts.ts';
import { ApiError, errorCodes, type ErrorCode } from '../workers/shared/errors.ts';
import type { Principal } from '../workers/shared/principal.ts';
import { dataWriteAudit, type DataWrite } from '../workers/data/audit.ts';
import type { PlatformClient, PlatformRequest, PlatformResponse } from '../workers/mcp/platform.ts';
import { runTool, type ToolContext } from '../workers/mcp/tool.ts';
import { seedDatabase } from '../workers/mcp/tools/data.ts';

const appId = 'app_0123456789ab';
const owner: Principal = { kind: 'service_key', keyId: 'key_1', accountId: 'acct_1', scopes: ['*'] };
const gate: AppGate = {
  id: appId, accountId: 'acct_1', name: 'blog', subdomain: 'blog', provisioningStatus: 'ready', paused: false, pausedReason: null,
  allowedOrigins: ['*'], accessMode: 'public', rateLimitPerMinute: 100,
};

function write(overrides: Partial<DataWrite>): DataWrite {
  return {
    method: 'POST', tool: 'insert_row', principal: owner, app: gate, table: 'posts',
    result: { status: 201, body: { id: 'r1', title: 'x' } }, ipAddress: '127.0.0.1', userAgent: 'test', requestId: 'req-1',
    ...overrides,
  };
}

describe('audit of data writes made by MCP tools', () => {
  const cases: { name: string; write: DataWrite; recorded: false | Record<string, unknown> }[] = [
    { name: 'an inserted row', write: write({}), recorded: { eventType: 'data.row_inserted', action: 'create', success: true, eventData: { tool: 'insert_row', via: 'mcp', row_id: 'r1' } } },
    { name: 'a bulk insert', write: write({ result: { status: 201, body: [{ id: 'a' }, { id: 'b' }] } }), recorded: { eventData: { row_count: 2 } } },
    { name: 'a row the app refused', write: write({ result: undefined, error: new ApiError('VALIDATION_NOT_NULL_VIOLATION', 'Column "title" may not be null.') }), recorded: { success: false, errorMessage: 'Column "title" may not be null.', eventData: { error_code: 'VALIDATION_NOT_NULL_VIOLATION' } } },
    { name: 'a write as a simulated anon', write: write({ asRole: 'anon', result: undefined, error: new ApiError('AUTH_RLS_REQUIRES_USER_JWT', 'Sign in.') }), recorded: { success: false, eventData: { as_role: 'anon', as_user: null, error_code: 'AUTH_RLS_REQUIRES_USER_JWT' } } },
    { name: 'an update by id', write: write({ method: 'PATCH', id: 'r9', result: { status: 204 } }), recorded: { eventType: 'data.rows_updated', action: 'update', eventData: { row_id: 'r9' } } },
    { name: 'a delete by filter', write: write({ method: 'DELETE', result: { status: 200, body: { deleted: 3 } } }), recorded: { eventType: 'data.rows_deleted', action: 'delete', eventData: { row_count: 3 } } },
    { name: 'a REST write without the tool header', write: write({ tool: undefined }), recorded: false },
    { name: 'a write to an app that does not exist', write: write({ app: null }), recorded: false },
    { name: "a write to another account's app", write: write({ app: { ...gate, accountId: 'acct_2' } }), recorded: false },
    { name: 'a write with a key scoped to another app', write: write({ principal: { ...owner, scopes: ['app:app_999999999999'] } }), recorded: false },
    { name: 'an end user sending the tool header', write: write({ principal: { kind: 'end_user', appId, userId: 'u1', email: null, emailVerified: false } }), recorded: false },
    { name: 'a refused credential', write: write({ principal: { kind: 'invalid', code: 'AUTH_INVALID_API_KEY', message: 'revoked' } }), recorded: false },
  ];
  for (const c of cases) {
    it(`${c.recorded ? 'records' : 'does not record'} ${c.name}`, () => {
      const entry = dataWriteAudit(c.write);
      if (!c.recorded) {
        expect(entry).toBeNull();
        return;
      }
      // The app always comes from the router's gate; the actor is the calling key.
      expect(entry).toMatchObject({ appId, category: 'admin', resourceType: 'table', resourceId: 'posts', actor: c.write.principal, correlationId: 'req-1', ...c.recorded });
    });
  }
});

function failure(code: ErrorCode, message: string, status: number = errorCodes[code].status): PlatformResponse {
  const body = { error: { code, message, remediation: errorCodes[code].remediation } };
  return { status, ok: false, text: JSON.stringify(body), json: body };
}

/** A context whose REST calls answer from `answers` in turn; records the requests. */
function contextAnswering(answers: PlatformResponse[]): { context: ToolContext; requests: PlatformRequest[] } {
  const requests: PlatformRequest[] = [];
  const platform = { call: async (request: PlatformRequest) => (requests.push(request), answers[requests.length - 1] ?? answers.at(-1)!) } as unknown as PlatformClient;
  return { context: { platform, caller: { kind: 'service_key', keyId: 'key_1', accountId: 'acct_1', scopes: ['*'] } }, requests };
}

describe('seed_database judges failures by error code', () => {
  const created: PlatformResponse = { status: 201, ok: true, text: '{"id":"r1"}', json: { id: 'r1' } };
  const cases: { name: string; answer: PlatformResponse; continues: boolean }[] = [
    { name: 'a NOT NULL violation', answer: failure('VALIDATION_NOT_NULL_VIOLATION', 'Column "title" may not be null.'), continues: true },
    { name: 'a duplicate', answer: failure('VALIDATION_UNIQUE_CONSTRAINT_VIOLATION', 'A row with this value already exists.'), continues: true },
    { name: 'a NUL in a value', answer: failure('VALIDATION_INVALID_INPUT', 'Invalid body: title: text may not contain the NUL character (U+0000)'), continues: true },
    { name: 'an RLS refusal', answer: failure('AUTH_RLS_POLICY_VIOLATION', 'Row-level security denied the operation.'), continues: true },
    { name: 'an unknown table', answer: failure('VALIDATION_TABLE_NOT_FOUND', 'Table "nope" not found.'), continues: false },
    { name: 'a database outage', answer: failure('EXTERNAL_DB_ERROR', 'The control-plane database could not be reached: the connection failed.'), continues: false },
    // A status that would look row-specific: the code decides, not the number.
    { name: 'a paused app answering 409', answer: failure('APP_PAUSED', 'App is paused.', 409), continues: false },
  ];
  for (const c of cases) {
    it(`${c.continues ? 'goes on after' : 'stops at'} ${c.name}`, async () => {
      const { context, requests } = contextAnswering([c.answer, created]);
      const result = await runTool(seedDatabase, { app_id: appId, table: 'posts', rows: [{ title: 'a' }, { title: 'b' }] }, context);
      expect(requests).toHaveLength(c.continues ? 2 : 1);
      expect(requests.every((r) => r.tool === 'seed_database')).toBe(true);
      const text = (result.content[0] as { text: string }).text;
      if (c.continues) expect(JSON.parse(text)).toMatchObject({ inserted: 1, failed: 1, errors: [{ row_index: 0, error: { code: c.answer.json && (c.answer.json as { error: { code: string } }).error.code } }] });
      else expect(result.isError).toBe(true);
    });
  }
});
