/** Route: GET/POST/DELETE /mcp — Streamable HTTP, stateless (API.md §13; MCP spec "Streamable HTTP"). */
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { Hono } from 'hono';
import { clientIp, principalOf, requestId } from '../../shared/http.ts';
import { requireMcpKey } from '../auth.ts';
import type { Env } from '../env.ts';
import { PlatformClient } from '../platform.ts';
import { buildServer } from '../server.ts';
import type { ToolContext } from '../tool.ts';

export const mcpRoutes = new Hono<{ Bindings: Env }>();

/** The public API base the tools address and the 401 points at. */
export function apiBase(env: Env, url: string): string {
  return (env.PUBLIC_API_URL || new URL(url).origin).replace(/\/+$/, '');
}

mcpRoutes.all('/mcp', async (c) => {
  const base = apiBase(c.env, c.req.url);
  const caller = requireMcpKey(principalOf(c), base);
  // Stateless: there is no stream to resume and nothing to push, so no standalone SSE stream (the spec allows 405).
  if (c.req.method === 'GET') {
    return c.json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this server is stateless; POST JSON-RPC messages to /mcp.' }, id: null }, 405, { allow: 'POST, DELETE' });
  }
  const facts = {
    authorization: c.req.header('authorization')!,
    baseUrl: base,
    requestId: requestId(c),
    clientIp: clientIp(c),
    userAgent: c.req.header('user-agent') ?? null,
  };
  const context: ToolContext = { platform: new PlatformClient(c.env.ROUTER, facts), caller };
  const server = buildServer(context);
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  const response = await transport.handleRequest(c.req.raw);
  c.executionCtx.waitUntil(server.close());
  return response;
});
