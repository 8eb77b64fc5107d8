/**
 * MCP data tools against a fake platform (no network): which REST outcomes the tools record in the
 * audit log. An entry is written only when the call reached one of the caller's apps.
 */
import { describe, expect, it } from 'vitest';
import { errorCodes, type ErrorCode } from '../workers/shared/errors.ts';
import type { PlatformClient, PlatformRequest, PlatformResponse } from '../workers/mcp/platform.ts';
import { runTool, type ToolAuditEntry, type ToolContext } from '../workers/mcp/tool.ts';
import { insertRow, seedDatabase } from '../workers/mcp/tools/data.ts';

const appId = 'app_0123456789ab';

function failure(code: ErrorCode, message: string): PlatformResponse {
  const body = { error: { code, message, remediation: errorCodes[code].remediation } };
  return { status: errorCodes[code].status, ok: false, text: JSON.stringify(body), json: body };
}

const created: PlatformResponse = { status: 201, ok: true, text: '{"id":"r1"}', json: { id: 'r1' } };

/** A context whose every REST call answers `answer`; returns the audit entries the tool wrote. */
function contextAnswering(answer: PlatformResponse): { context: ToolContext; audits: ToolAuditEntry[] } {
  const audits: ToolAuditEntry[] = [];
  const platform = { call: async (_request: PlatformRequest) => answer } as unknown as PlatformClient;
  const context: ToolContext = {
    platform,
    caller: { kind: 'service_key', keyId: 'key_1', accountId: 'acct_1', scopes: ['*'] },
    audit: async (entry) => void audits.push(entry),
  };
  return { context, audits };
}

describe('audit of MCP data writes', () => {
  const cases: { name: string; answer: PlatformResponse; audited: boolean }[] = [
    { name: 'a written row', answer: created, audited: true },
    { name: 'a row the app refused', answer: failure('VALIDATION_NOT_NULL_VIOLATION', 'Column "title" may not be null.'), audited: true },
    { name: 'an RLS refusal of a simulated role', answer: failure('AUTH_RLS_REQUIRES_USER_JWT', 'Sign in.'), audited: true },
    { name: 'an app that is not the caller\'s', answer: failure('APP_NOT_FOUND', `App ${appId} not found.`), audited: false },
    { name: 'a key revoked during the call (refused before app ownership is checked)', answer: failure('AUTH_INVALID_API_KEY', 'The service key is unknown or has been revoked.'), audited: false },
  ];
  for (const c of cases) {
    it(`${c.audited ? 'records' : 'does not record'} ${c.name}`, async () => {
      for (const [tool, args] of [
        [insertRow, { app_id: appId, table: 'posts', data: { title: 'x' } }],
        [seedDatabase, { app_id: appId, table: 'posts', rows: [{ title: 'x' }] }],
      ] as const) {
        const { context, audits } = contextAnswering(c.answer);
        const result = await runTool(tool, args, context);
        expect(result.isError ?? false, tool.name).toBe(!c.answer.ok);
        expect(audits.map((a) => a.appId), tool.name).toEqual(c.audited ? [appId] : []);
      }
    });
  }
});
