/**
 * Route: GET /.well-known/oauth-protected-resource[/mcp] — OAuth 2.0 Protected Resource Metadata
 * (RFC 9728 §3) for the MCP endpoint, named by the `resource_metadata` of a 401. Bearer tokens are
 * Butterbase service keys sent in the Authorization header; there is no authorization server to discover.
 * No `resource_documentation`: it must be a URL of a human-readable page (RFC 9728 §2), and the docs are
 * served by the `butterbase_docs` tool, not over HTTP.
 */
import { Hono } from 'hono';
import type { Env } from '../env.ts';
import { apiBase } from './mcp.ts';

export const protectedResourceRoutes = new Hono<{ Bindings: Env }>();

protectedResourceRoutes.get('/.well-known/oauth-protected-resource/:resource{.*}?', (c) => {
  const base = apiBase(c.env, c.req.url);
  return c.json(
    {
      resource: `${base}/mcp`,
      resource_name: 'Butterbase MCP server',
      authorization_servers: [],
      bearer_methods_supported: ['header'],
      scopes_supported: ['mcp'],
    },
    200,
    { 'cache-control': 'public, max-age=300' },
  );
});
