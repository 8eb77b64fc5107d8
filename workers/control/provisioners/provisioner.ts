/**
 * Creates and drops app databases. One interface, two implementations chosen by `PROVISIONER`:
 * `local` (CREATE DATABASE on the embedded endpoint or a real Postgres) and `neon` (Neon's API,
 * a database per app on one branch). Both are idempotent: creating an existing database and
 * dropping a missing one succeed, so an interrupted provisioning can simply run again.
 */
import { ApiError, toApiError } from '../../shared/errors.ts';
import type { Env } from '../env.ts';
import { LocalProvisioner } from './local.ts';
import { NeonProvisioner } from './neon.ts';

export interface Provisioner {
  readonly kind: 'local' | 'neon';
  /** Creates the empty database `name` (resolves if it exists). @throws ApiError EXTERNAL_DB_ERROR / EXTERNAL_NETWORK_ERROR */
  createDatabase(name: string): Promise<void>;
  /** Drops the database `name` (resolves if it is missing). @throws ApiError EXTERNAL_DB_ERROR / EXTERNAL_NETWORK_ERROR */
  dropDatabase(name: string): Promise<void>;
}

/** The provisioner configured by the environment. @throws ApiError INTERNAL_ERROR when misconfigured. */
export function provisionerFor(env: Env): Provisioner {
  switch (env.PROVISIONER) {
    case 'neon':
      return new NeonProvisioner({
        apiUrl: env.NEON_API_URL || 'https://console.neon.tech/api/v2',
        apiKey: required(env.NEON_API_KEY, 'NEON_API_KEY'),
        projectId: required(env.NEON_PROJECT_ID, 'NEON_PROJECT_ID'),
        branchId: required(env.NEON_BRANCH_ID, 'NEON_BRANCH_ID'),
        ownerRole: required(env.NEON_DATABASE_OWNER, 'NEON_DATABASE_OWNER'),
      });
    case 'local':
    default:
      return new LocalProvisioner(required(env.DATABASE_ADMIN_URL, 'DATABASE_ADMIN_URL'), env);
  }
}

function required(value: string | undefined, name: string): string {
  if (!value) throw new ApiError('INTERNAL_ERROR', 'The platform is misconfigured.', { internal: `${name} is not set` });
  return value;
}

/**
 * The text recorded in `apps.provisioning_error` (shown by GET /apps/{id}/status and init_app) for a
 * failed attempt: `CODE: public message`. Provisioner errors carry public-safe messages already; an
 * error Postgres raised during bootstrap (it carries `pg` diagnostics, whose message is Postgres's
 * own text) is shown by its code only. The full detail is in the ApiError's `internal`, for the log.
 */
export function provisioningErrorText(error: unknown): string {
  const apiError = toApiError(error);
  const message = apiError.pg ? `The app database refused a bootstrap statement (SQLSTATE ${apiError.pg.code}).` : apiError.message;
  return `${apiError.code}: ${message}`;
}
