/**
 * Owner checks for control routes (API.md §2: owner auth; apps not owned → 404).
 */
import { ApiError } from '../shared/errors.ts';
import { keyCoversApp, type Principal, type ServiceKeyPrincipal } from '../shared/principal.ts';

/**
 * The caller must hold a service key.
 * @throws ApiError AUTH_REQUIRED (no credentials), the router's credential code (bad bearer),
 *   AUTH_INSUFFICIENT_PERMISSIONS (an end-user token).
 */
export function requireServiceKey(principal: Principal): ServiceKeyPrincipal {
  switch (principal.kind) {
    case 'service_key':
      return principal;
    case 'anonymous':
      throw new ApiError('AUTH_REQUIRED', 'This endpoint needs a service key: send Authorization: Bearer bb_sk_….');
    case 'invalid':
      throw new ApiError(principal.code, principal.message);
    case 'end_user':
      throw new ApiError('AUTH_INSUFFICIENT_PERMISSIONS', 'End-user tokens cannot call the platform API; use a service key.');
  }
}

/**
 * The caller must hold an account-wide key (not one scoped to a single app).
 * @throws ApiError AUTH_INSUFFICIENT_PERMISSIONS for app-scoped keys.
 */
export function requireAccountKey(principal: Principal): ServiceKeyPrincipal {
  const key = requireServiceKey(principal);
  if (!key.scopes.includes('*')) {
    throw new ApiError('AUTH_INSUFFICIENT_PERMISSIONS', 'This action needs an account key; this key is scoped to one app.');
  }
  return key;
}

/** True when `key` may manage the app owned by `ownerAccountId`. */
export function keyManagesApp(key: ServiceKeyPrincipal, app: { id: string; account_id: string }): boolean {
  return key.accountId === app.account_id && keyCoversApp(key, app.id);
}
