/**
 * Who may use /mcp: only a `bb_sk_` service key (API.md §13). The router has already resolved the bearer
 * (x-bb-principal); anything else gets 401 with `WWW-Authenticate` pointing at the protected-resource
 * metadata (RFC 6750 §3, RFC 9728 §5.1) and the §1.3 envelope.
 */
import { ApiError } from '../shared/errors.ts';
import type { Principal, ServiceKeyPrincipal } from '../shared/principal.ts';

/** `WWW-Authenticate` of a 401 from /mcp. */
export function wwwAuthenticate(baseUrl: string): string {
  return `Bearer realm="butterbase", resource_metadata="${baseUrl}/.well-known/oauth-protected-resource", scope="mcp"`;
}

const remediation =
  'Send Authorization: Bearer <bb_sk_ service key>. On a local platform the key is "service_key" in .butterbase/bootstrap.json ' +
  '(printed by npm run dev); e.g. claude mcp add --transport http butterbase <api>/mcp --header "Authorization: Bearer $BUTTERBASE_API_KEY".';

/**
 * The caller must hold a service key.
 * @throws ApiError 401 AUTH_REQUIRED (no bearer), the router's credential code (AUTH_INVALID_API_KEY,
 *   AUTH_INVALID_TOKEN, …) for a bad one, AUTH_INVALID_TOKEN for an end-user token — each with WWW-Authenticate.
 */
export function requireMcpKey(principal: Principal, baseUrl: string): ServiceKeyPrincipal {
  const headers = { 'www-authenticate': wwwAuthenticate(baseUrl) };
  switch (principal.kind) {
    case 'service_key':
      return principal;
    case 'anonymous':
      throw new ApiError('AUTH_REQUIRED', 'The MCP server needs a Butterbase service key.', { remediation, headers });
    case 'invalid':
      throw new ApiError(principal.code, principal.message, { remediation, headers });
    case 'end_user':
      throw new ApiError('AUTH_INVALID_TOKEN', 'End-user access tokens cannot use the MCP server; it needs a service key.', { remediation, headers });
  }
}
