/**
 * Who an invocation runs for (API.md §8.2): the router's principal mapped to ctx.caller, the
 * `X-Butterbase-As-User` gate applied *before* the `auth` check (the reference runs them the other
 * way round, so impersonating into an `auth: required` function gets 401 — API.md recommends this
 * order), then `auth: required | optional | none`.
 */
import { ApiError } from '../../shared/errors.ts';
import type { Principal } from '../../shared/principal.ts';
import type { HttpAuthMode } from '../../shared/schemas/functions.ts';
import type { InvocationCaller } from './invoke.ts';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** ctx.caller and ctx.user of one invocation. */
export interface ResolvedCaller {
  caller: InvocationCaller;
  userId: string | null;
}

/** ctx.caller for a principal (no impersonation yet): other apps' end users and bad bearers are anonymous. */
export function callerOf(principal: Principal, appId: string): ResolvedCaller {
  switch (principal.kind) {
    case 'service_key': {
      const scope = principal.scopes.find((s) => s.startsWith('app:')) ?? principal.scopes[0] ?? null;
      return { caller: { type: 'service_key', keyId: principal.keyId, scope, userId: null }, userId: null };
    }
    case 'end_user':
      if (principal.appId !== appId) break;
      return { caller: { type: 'end_user_jwt', keyId: null, scope: null, userId: principal.userId }, userId: principal.userId };
    case 'anonymous':
    case 'invalid':
      break;
  }
  return { caller: { type: 'anonymous', keyId: null, scope: null, userId: null }, userId: null };
}

/**
 * Resolves the caller of `/fn/{name}` or an owner test-invoke.
 * In: the principal, the app, the `X-Butterbase-As-User` value (or null), the function's
 * `allow_service_key_impersonation` and `auth` mode.
 * @throws ApiError AUTH_IMPERSONATION_FORBIDDEN (403: the header from a caller that is not an
 *   app-scoped service key of this app — API.md §8.2: "only from an app-scoped key of this app or
 *   loopback"; account-wide `*` keys may manage the app but not act as its end users), AUTH_IMPERSONATION_DISABLED (403: the function opted out),
 *   VALIDATION_INVALID_TYPE (the header is not a UUID), AUTH_REQUIRED (401: `auth: required` and
 *   neither a user nor a service key).
 */
export function resolveCaller(
  principal: Principal,
  appId: string,
  asUser: string | null,
  allowImpersonation: boolean,
  auth: HttpAuthMode,
): ResolvedCaller {
  const resolved = callerOf(principal, appId);
  if (asUser !== null) {
    if (principal.kind !== 'service_key' || !principal.scopes.includes(`app:${appId}`)) {
      throw new ApiError('AUTH_IMPERSONATION_FORBIDDEN', 'X-Butterbase-As-User is only accepted from an app-scoped service key of this app.', {
        remediation: 'Create a key scoped to this app (POST /api-keys {"name":…,"key_scope":"app","target_app_id":"{app_id}"}) and send it with the header; account-wide keys cannot impersonate end users.',
      });
    }
    if (!allowImpersonation) {
      throw new ApiError('AUTH_IMPERSONATION_DISABLED', 'This function does not allow impersonation (allow_service_key_impersonation is false).');
    }
    if (!uuidPattern.test(asUser)) throw new ApiError('VALIDATION_INVALID_TYPE', 'X-Butterbase-As-User must be an end user\'s id (a UUID).');
    resolved.userId = asUser.toLowerCase();
    resolved.caller = { ...resolved.caller, userId: resolved.userId };
  }
  if (auth === 'required' && resolved.userId === null && resolved.caller.type !== 'service_key' && resolved.caller.type !== 'loopback') {
    throw new ApiError('AUTH_REQUIRED', 'This function requires a signed-in user: send Authorization: Bearer <end-user access token>.', {
      remediation: 'Sign the user in (POST /auth/{app_id}/login) and send the access token, or deploy the function with triggers [{type:"http", config:{auth:"optional"}}].',
    });
  }
  return resolved;
}
