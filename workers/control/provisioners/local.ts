/**
 * Local provisioner: `CREATE DATABASE` / `DROP DATABASE` over Neon's SQL-over-HTTP protocol on the
 * server's maintenance database (the embedded endpoint serves these by creating a PGlite directory;
 * a real Postgres runs them natively).
 */
import { sqlClient, type DbEnv } from '../../shared/db.ts';
import { ApiError } from '../../shared/errors.ts';
import { databaseRetryAfterSeconds, isPgError } from '../../shared/pg-errors.ts';
import { identifierPattern } from '../../shared/validation.ts';
import type { Provisioner } from './provisioner.ts';

/** {@link Provisioner} that runs CREATE/DROP DATABASE on the maintenance database at `adminUrl`. */
export class LocalProvisioner implements Provisioner {
  readonly kind = 'local';

  constructor(private readonly adminUrl: string, private readonly env: DbEnv) {}

  async createDatabase(name: string): Promise<void> {
    assertName(name);
    try {
      await sqlClient(this.adminUrl, this.env).query(`CREATE DATABASE ${name}`);
    } catch (error) {
      if (isPgError(error) && error.code === '42P04') return;
      throw dbError('create', name, error);
    }
  }

  async dropDatabase(name: string): Promise<void> {
    assertName(name);
    try {
      await sqlClient(this.adminUrl, this.env).query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } catch (error) {
      throw dbError('drop', name, error);
    }
  }
}

function assertName(name: string): void {
  if (!identifierPattern.test(name)) throw new ApiError('INTERNAL_ERROR', 'Invalid database name.', { internal: name });
}

/** The driver's text stays internal: it can name hosts and roles, and it ends up in `provisioning_error`. */
function dbError(action: string, name: string, error: unknown): ApiError {
  const detail = error instanceof Error ? `${(error as { code?: string }).code ?? ''} ${error.message}`.trim() : String(error);
  return new ApiError('EXTERNAL_DB_ERROR', `Could not ${action} the app database.`, {
    internal: `${action} ${name}: ${detail}`,
    headers: { 'retry-after': String(databaseRetryAfterSeconds) },
  });
}
