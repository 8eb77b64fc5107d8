/**
 * Who a hosting owner route serves (API.md §10, owner auth: a service key covering the app; end-user
 * tokens → 403), from the router's principal and app gate.
 */
import type { Context } from 'hono';
import type { AppGate } from '../shared/contracts.ts';
import { ApiError } from '../shared/errors.ts';
import { appGateOf, principalOf } from '../shared/http.ts';
import { keyCoversApp } from '../shared/principal.ts';
import type { Env } from './env.ts';

export type HostingContext = Context<{ Bindings: Env }>;

/**
 * The app of an owner route, when the caller is a service key that covers it.
 * @throws ApiError AUTH_REQUIRED (no credentials), the router's credential code,
 *   AUTH_INSUFFICIENT_PERMISSIONS (an end-user token), APP_NOT_FOUND (not the caller's app)
 */
export function requireOwner(c: HostingContext): AppGate {
  const appId = c.req.param('app')!;
  const principal = principalOf(c);
  const app = appGateOf(c);
  switch (principal.kind) {
    case 'anonymous':
      throw new ApiError('AUTH_REQUIRED', 'This endpoint needs a service key: send Authorization: Bearer bb_sk_….');
    case 'invalid':
      throw new ApiError(principal.code, principal.message);
    case 'end_user':
      throw new ApiError('AUTH_INSUFFICIENT_PERMISSIONS', 'Only app owners can manage hosting; use a service key (bb_sk_…), not an end-user token.');
    case 'service_key':
      if (!app || app.id !== appId || principal.accountId !== app.accountId || !keyCoversApp(principal, appId)) {
        throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
      }
      return app;
  }
}

/** The app's site URL (`APP_URL_TEMPLATE` with its subdomain). */
export function siteUrl(env: Pick<Env, 'APP_URL_TEMPLATE'>, app: Pick<AppGate, 'subdomain'>): string {
  return env.APP_URL_TEMPLATE.replace('{subdomain}', app.subdomain);
}
