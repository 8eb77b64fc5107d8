/**
 * Request-role resolution for the data API (API.md §1.2): the caller the router resolved, the app's
 * access mode and the role-simulation headers → the DbCaller a DbGateway batch runs as.
 *
 * | caller | role |
 * | none / the app's anon key | anon (401 AUTH_REQUIRED when access_mode = authenticated) |
 * | end-user access token of this app | user, `current_user_id()` = its `sub` |
 * | `bb_sk_` service key owning the app | service (RLS bypassed by the `{table}_service_bypass` policies) |
 *
 * Role simulation, service keys only: `X-Butterbase-As-Role: anon`, or `X-Butterbase-As-Role: user`
 * with `X-Butterbase-As-User: <uuid>` (`X-Butterbase-As-User` alone also means `user`). Anyone else
 * sending either header gets 403 AUTH_IMPERSONATION_FORBIDDEN. `owner` is never chosen here.
 */
import type { AppGate, DbCaller } from '../shared/contracts.ts';
import { ApiError } from '../shared/errors.ts';
import { keyCoversApp, type Principal } from '../shared/principal.ts';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What {@link resolveCaller} needs from the request. */
export interface RoleRequest {
  /** The app named by the path. */
  appId: string;
  principal: Principal;
  /** The router's view of the app (null when it does not exist). */
  app: AppGate | null;
  /** `X-Butterbase-As-Role`, if sent. */
  asRole: string | null | undefined;
  /** `X-Butterbase-As-User`, if sent. */
  asUser: string | null | undefined;
}

function headerValue(value: string | null | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}

/**
 * Resolves the DbCaller for a data request.
 * @throws ApiError APP_NOT_FOUND (no such app, or a key of another account — the router checks this
 *   first), APP_NOT_READY (database still provisioning), the router's credential code for an invalid
 *   bearer, AUTH_INVALID_END_USER_JWT (token of another app), AUTH_IMPERSONATION_FORBIDDEN (simulation
 *   headers from a non-service caller), VALIDATION_INVALID_SCHEMA / VALIDATION_MISSING_FIELD (bad
 *   simulation header values), AUTH_REQUIRED (anon role on an authenticated-only app).
 */
export function resolveCaller(request: RoleRequest): DbCaller {
  const { appId, principal, app } = request;
  if (!app || app.id !== appId) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
  const asRole = headerValue(request.asRole);
  const asUser = headerValue(request.asUser);
  const simulating = asRole !== null || asUser !== null;
  let caller: DbCaller;
  switch (principal.kind) {
    case 'invalid':
      throw new ApiError(principal.code, principal.message);
    case 'anonymous':
      if (simulating) throw forbidden();
      caller = { appId, role: 'anon', userId: null };
      break;
    case 'end_user':
      if (principal.appId !== appId) throw new ApiError('AUTH_INVALID_END_USER_JWT', 'The access token was issued for a different app.');
      if (simulating) throw forbidden();
      caller = { appId, role: 'user', userId: principal.userId };
      break;
    case 'service_key':
      if (principal.accountId !== app.accountId || !keyCoversApp(principal, appId)) {
        throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
      }
      caller = simulating ? simulatedCaller(appId, asRole, asUser) : { appId, role: 'service', userId: null };
      break;
  }
  if (app.provisioningStatus !== 'ready' && app.provisioningStatus !== 'migrating') {
    throw new ApiError('APP_NOT_READY', `App ${appId} is ${app.provisioningStatus}; its database is not ready.`);
  }
  if (caller.role === 'anon' && app.accessMode === 'authenticated') {
    throw new ApiError('AUTH_REQUIRED', `App ${appId} only serves signed-in users (access_mode = authenticated).`, {
      remediation: 'Sign the user in and send their access token as Authorization: Bearer <token>.',
    });
  }
  return caller;
}

function forbidden(): ApiError {
  return new ApiError('AUTH_IMPERSONATION_FORBIDDEN', 'Only a service key may send X-Butterbase-As-Role / X-Butterbase-As-User.');
}

function simulatedCaller(appId: string, asRole: string | null, asUser: string | null): DbCaller {
  const role = asRole?.toLowerCase() ?? 'user';
  if (role !== 'anon' && role !== 'user') {
    throw new ApiError('VALIDATION_INVALID_SCHEMA', `X-Butterbase-As-Role must be "anon" or "user", not "${asRole}".`, {
      details: [{ path: 'headers.x-butterbase-as-role', message: 'expected anon or user', code: 'invalid_value' }],
    });
  }
  if (role === 'anon') {
    if (asUser !== null) {
      throw new ApiError('VALIDATION_INVALID_SCHEMA', 'X-Butterbase-As-User cannot be combined with X-Butterbase-As-Role: anon.', {
        details: [{ path: 'headers.x-butterbase-as-user', message: 'not allowed with role anon', code: 'invalid_value' }],
      });
    }
    return { appId, role: 'anon', userId: null };
  }
  if (asUser === null) {
    throw new ApiError('VALIDATION_MISSING_FIELD', 'X-Butterbase-As-Role: user needs X-Butterbase-As-User: <user uuid>.', {
      details: [{ path: 'headers.x-butterbase-as-user', message: 'required field is missing', code: 'missing' }],
    });
  }
  if (!uuidPattern.test(asUser)) {
    throw new ApiError('VALIDATION_INVALID_SCHEMA', `X-Butterbase-As-User must be a user UUID, not "${asUser}".`, {
      details: [{ path: 'headers.x-butterbase-as-user', message: 'expected a UUID', code: 'invalid_string' }],
    });
  }
  return { appId, role: 'user', userId: asUser.toLowerCase() };
}
