/**
 * Creates and drops app databases. One interface, two implementations chosen by `PROVISIONER`:
 * `local` (CREATE DATABASE on the embedded endpoint or a real Postgres) and `neon` (Neon's API,
 * a database per app on one branch). Both are idempotent: creating an existing database and
 * dropping a missing one succeed, so an interrupted provisioning can simply run again.
 */
import { ApiError } from '../../shared/errors.ts';
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
