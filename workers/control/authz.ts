/**
 * Owner checks for control routes (API.md §2: owner auth; apps not owned → 404).
 */
import { ApiError } from '../shared/errors.ts';
import { requireServiceKey as requireKey } from '../shared/owner.ts';
import { keyCoversApp, type Principal, type ServiceKeyPrincipal } from '../shared/principal.ts';

/**
 * The caller must hold a service key.
 * @throws ApiError AUTH_REQUIRED (no credentials), the router's credential code (bad bearer),
 *   AUTH_INSUFFICIENT_PERMISSIONS (an end-user token).
 */
export function requireServiceKey(principal: Principal): ServiceKeyPrincipal {
  return requireKey(principal, { endUser: 'End-user tokens cannot call the platform API; use a service key.' });
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
