/**
 * Argument schemas several tools share, with the descriptions an agent reads in tools/list.
 */
import { z } from 'zod';
import { ApiError } from '../../shared/errors.ts';
import { appIdPattern } from '../../shared/validation.ts';

/** An app id. Checked here because it becomes a path segment: a malformed one could not reach the app's routes. */
export const appId = z
  .string()
  .regex(appIdPattern, 'must be an app id: "app_" followed by 12 lowercase letters or digits (manage_app action "list" shows yours)')
  .describe('The app id (app_ + 12 characters), as returned by init_app or manage_app action "list".');

/** A table name (the REST route checks it against the app's tables). */
export const tableName = z.string().min(1).max(63).describe('Table name, e.g. "posts".');

/** Role simulation (API.md §1.2): `X-Butterbase-As-Role`. */
export const asRole = z
  .enum(['anon', 'user'])
  .describe('Run as this end-user role instead of the service role, so row-level security applies ("user" needs as_user).');

/** Role simulation (API.md §1.2): `X-Butterbase-As-User`. */
export const asUser = z.guid().describe('The end-user id (uuid) to act as; implies as_role "user".');

/**
 * Encodes one dynamic path segment (a table, policy, user or key id).
 * @throws ApiError VALIDATION_INVALID_NAME for "." and "..", which a URL would resolve away instead of sending.
 */
export function segment(value: string): string {
  if (value === '.' || value === '..') {
    throw new ApiError('VALIDATION_INVALID_NAME', `"${value}" is not a valid name.`);
  }
  return encodeURIComponent(value);
}
