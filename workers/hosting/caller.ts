/**
 * Who a hosting owner route serves (API.md §10, owner auth: a service key covering the app; end-user
 * tokens → 403), from the router's principal and app gate.
 */
import { requireAppOwner } from '../shared/owner.ts';
import type { Context } from 'hono';
import type { AppGate } from '../shared/contracts.ts';
import { ApiError } from '../shared/errors.ts';
import { appGateOf, principalOf } from '../shared/http.ts';
import type { Env } from './env.ts';

export type HostingContext = Context<{ Bindings: Env }>;

/**
 * The app of an owner route, when the caller is a service key that covers it.
 * @throws ApiError AUTH_REQUIRED (no credentials), the router's credential code,
 *   AUTH_INSUFFICIENT_PERMISSIONS (an end-user token), APP_NOT_FOUND (not the caller's app)
 */
export function requireOwner(c: HostingContext): AppGate {
  return requireAppOwner(principalOf(c), appGateOf(c), c.req.param('app')!, {
    endUser: 'Only app owners can manage hosting; use a service key (bb_sk_…), not an end-user token.',
  }).app;
}

/** The app's site URL (`APP_URL_TEMPLATE` with its subdomain). */
export function siteUrl(env: Pick<Env, 'APP_URL_TEMPLATE'>, app: Pick<AppGate, 'subdomain'>): string {
  return env.APP_URL_TEMPLATE.replace('{subdomain}', app.subdomain);
}
