/**
 * Owner checks shared by the Workers' management routes (API.md §1.2: owner routes take a service
 * key; an app the key does not cover answers 404, as if it did not exist).
 */
import type { AppGate } from './contracts.ts';
import { ApiError } from './errors.ts';
import { keyCoversApp, type Principal, type ServiceKeyPrincipal } from './principal.ts';

/** What a refusal says to an anonymous caller and to an end user (the route's own words). */
export interface OwnerMessages {
  anonymous?: string;
  endUser: string;
}

const needsKey = 'This endpoint needs a service key: send Authorization: Bearer bb_sk_….';

/**
 * The caller must hold a service key.
 * @throws ApiError AUTH_REQUIRED (no credentials), the router's credential code (bad bearer),
 *   AUTH_INSUFFICIENT_PERMISSIONS (an end-user token).
 */
export function requireServiceKey(principal: Principal, messages: OwnerMessages): ServiceKeyPrincipal {
  switch (principal.kind) {
    case 'service_key':
      return principal;
    case 'anonymous':
      throw new ApiError('AUTH_REQUIRED', messages.anonymous ?? needsKey);
    case 'invalid':
      throw new ApiError(principal.code, principal.message);
    case 'end_user':
      throw new ApiError('AUTH_INSUFFICIENT_PERMISSIONS', messages.endUser);
  }
}

/**
 * The caller must hold a service key of the account that owns `app` (the app the router resolved
 * for path segment `appId`) that covers it.
 * @throws ApiError as {@link requireServiceKey}; APP_NOT_FOUND when the key does not cover the app.
 */
export function requireAppOwner(principal: Principal, app: AppGate | null, appId: string, messages: OwnerMessages): { key: ServiceKeyPrincipal; app: AppGate } {
  const key = requireServiceKey(principal, messages);
  if (!app || app.id !== appId || key.accountId !== app.accountId || !keyCoversApp(key, appId)) {
    throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
  }
  return { key, app };
}
