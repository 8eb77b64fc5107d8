/**
 * Two app databases of one Postgres cluster bootstrapping at once race on the cluster-wide roles
 * (seen in CI: both ran `IF NOT EXISTS … CREATE ROLE butterbase_authenticator`, one got 23505 on
 * pg_authid and its app failed to provision). upgradeApp retries such a loss; anything else fails at once.
 */
import { describe, expect, it } from 'vitest';
import { isClusterRoleRace, retryOnClusterRoleRace } from '../workers/data/execute.ts';
import { pgErrorToApiError } from '../workers/shared/pg-errors.ts';

/** What the Neon driver throws for a Postgres error (the fields pg-errors reads). */
function pgError(code: string, message: string, extra: Record<string, string> = {}) {
  return pgErrorToApiError(Object.assign(new Error(message), { name: 'NeonDbError', code, severity: 'ERROR', ...extra }));
}

const roleRace = () => pgError('23505', 'duplicate key value violates unique constraint "pg_authid_rolname_index"', { constraint: 'pg_authid_rolname_index', detail: 'Key (rolname)=(butterbase_authenticator) already exists.' });

describe('the cluster role race', () => {
  it('is recognised from what Postgres answers, and an app table conflict is not it', () => {
    expect(isClusterRoleRace(roleRace())).toBe(true);
    expect(isClusterRoleRace(pgError('42710', 'role "butterbase_authenticator" already exists'))).toBe(true);
    expect(isClusterRoleRace(pgError('XX000', 'tuple concurrently updated'))).toBe(true);
    expect(isClusterRoleRace(pgError('23505', 'duplicate key value violates unique constraint "items_pkey"', { constraint: 'items_pkey' }))).toBe(false);
    expect(isClusterRoleRace(new Error('pg_authid'))).toBe(false);
  });

  it('is retried until the run succeeds; another error is thrown at once; a third loss is thrown', async () => {
    let runs = 0;
    expect(await retryOnClusterRoleRace(async () => { runs += 1; if (runs === 1) throw roleRace(); return 'applied'; })).toBe('applied');
    expect(runs).toBe(2);
    runs = 0;
    const other = pgError('42601', 'syntax error at or near "CRATE"');
    await expect(retryOnClusterRoleRace(async () => { runs += 1; throw other; })).rejects.toBe(other);
    expect(runs).toBe(1);
    runs = 0;
    await expect(retryOnClusterRoleRace(async () => { runs += 1; throw roleRace(); })).rejects.toMatchObject({ code: 'VALIDATION_UNIQUE_CONSTRAINT_VIOLATION' });
    expect(runs).toBe(3);
  });
});
