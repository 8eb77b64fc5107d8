/**
 * CORS from the app's `allowed_origins` (API.md §2 PATCH config/cors). Platform routes allow any
 * origin (they need a service key anyway). Source: Fetch standard, CORS protocol.
 */

const allowHeaders = 'authorization, content-type, prefer, x-butterbase-as-role, x-butterbase-as-user, x-request-id, mcp-session-id, mcp-protocol-version, last-event-id';
const exposeHeaders = 'x-request-id, retry-after, x-ratelimit-limit, x-ratelimit-remaining, x-ratelimit-reset, mcp-session-id, www-authenticate';

/** True when `origin` may call an app whose config allows `allowedOrigins` (`*` = any). */
export function originAllowed(origin: string, allowedOrigins: readonly string[]): boolean {
  return allowedOrigins.some((allowed) => allowed === '*' || allowed.replace(/\/+$/, '') === origin);
}

/** CORS headers for a response to `origin`, or none when the origin is not allowed. */
export function corsHeaders(origin: string | null, allowedOrigins: readonly string[] | null): Record<string, string> {
  if (!origin) return {};
  if (allowedOrigins && !originAllowed(origin, allowedOrigins)) return { vary: 'Origin' };
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': exposeHeaders,
    vary: 'Origin',
  };
}

/** The extra headers of a preflight answer. */
export function preflightHeaders(requestedHeaders: string | null): Record<string, string> {
  return {
    'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, OPTIONS',
    'access-control-allow-headers': requestedHeaders ?? allowHeaders,
    'access-control-max-age': '600',
  };
}
