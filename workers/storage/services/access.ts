/**
 * Who may do what with an app's files (API.md §7 ACL, seeds' storage skill "Access control"):
 *
 * | caller | upload, list | download | delete, complete, abort |
 * | service key (owner) | yes; lists everything | everything | everything |
 * | end user of the app | yes, as owner; lists own files | own, `public`, or any when `publicReadEnabled` | own files |
 * | anonymous | 401 AUTH_REQUIRED | `public` objects only | never |
 *
 * Whatever a caller may not see answers 404 RESOURCE_NOT_FOUND, never 403, so object ids leak nothing.
 */
import type { AppGate } from '../../shared/contracts.ts';
import { ApiError } from '../../shared/errors.ts';
import { keyCoversApp, type Principal } from '../../shared/principal.ts';
import type { ObjectRecord } from './records.ts';

/** The caller of a storage route, as the ACL sees it. */
export type StorageCaller =
  | { kind: 'service' }
  | { kind: 'user'; userId: string }
  | { kind: 'anonymous' };

/**
 * The storage caller for a request to `appId`.
 * @throws ApiError APP_NOT_FOUND (no such app, or a service key of another account or app),
 *   AUTH_INVALID_END_USER_JWT (an end-user token of another app), the router's code for an invalid bearer
 */
export function storageCaller(principal: Principal, app: AppGate | null, appId: string): StorageCaller {
  if (!app || app.id !== appId) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
  switch (principal.kind) {
    case 'invalid':
      throw new ApiError(principal.code, principal.message);
    case 'service_key':
      if (principal.accountId !== app.accountId || !keyCoversApp(principal, appId)) throw new ApiError('APP_NOT_FOUND', `App ${appId} not found.`);
      return { kind: 'service' };
    case 'end_user':
      if (principal.appId !== appId) throw new ApiError('AUTH_INVALID_END_USER_JWT', 'The access token was issued for a different app.');
      return { kind: 'user', userId: principal.userId };
    case 'anonymous':
      return { kind: 'anonymous' };
  }
}

/**
 * The owner recorded for a new upload: the end user, or null for the service key.
 * @throws ApiError AUTH_REQUIRED for anonymous callers
 */
export function uploaderOf(caller: StorageCaller): string | null {
  if (caller.kind === 'anonymous') {
    throw new ApiError('AUTH_REQUIRED', 'Uploading and listing files needs a signed-in end user or the service key.', {
      remediation: 'Sign the user in (POST /auth/{app_id}/login) and send Authorization: Bearer <access token>.',
    });
  }
  return caller.kind === 'user' ? caller.userId : null;
}

/** The RESOURCE_NOT_FOUND every refused or missing object gets. */
export function objectNotFound(objectId: string): ApiError {
  return new ApiError('RESOURCE_NOT_FOUND', `Storage object ${objectId} not found.`, {
    remediation: 'Check the object id (GET /storage/{app_id}/objects lists your files); it is the objectId from the upload, not the objectKey.',
  });
}

/** True when `caller` may get a download URL for `record` (`publicReadEnabled` = any signed-in user). */
export function mayRead(caller: StorageCaller, record: ObjectRecord, publicReadEnabled: () => Promise<boolean>): Promise<boolean> | boolean {
  if (caller.kind === 'service' || record.public) return true;
  if (caller.kind === 'anonymous') return false;
  if (record.user_id === caller.userId) return true;
  return publicReadEnabled();
}

/** True when `caller` may delete `record` (or complete or abort its upload). */
export function mayWrite(caller: StorageCaller, record: ObjectRecord): boolean {
  return caller.kind === 'service' || (caller.kind === 'user' && record.user_id === caller.userId);
}
