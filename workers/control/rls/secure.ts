/**
 * POST /v1/{app_id}/secure (API.md §2): switches the app to `access_mode = authenticated` and puts
 * user isolation on each listed table. Each table is its own batch: one table's failure is reported
 * in `table_errors` and does not undo the others (nor the access mode).
 */
import { toApiError, type ErrorCode } from '../../shared/errors.ts';
import type { Env } from '../env.ts';
import type { AppRow } from '../services/apps.ts';
import { updateAccessMode } from '../services/config.ts';
import type { SecureAppBody } from './bodies.ts';
import type { Execute } from '../../shared/catalog.ts';
import { createUserIsolation } from './service.ts';

/** One table the request could not secure. */
export interface TableError {
  table: string;
  error: string;
  code: ErrorCode;
}

/**
 * Secures the app. In: {@link SecureAppBody}.
 * Out: `{ message, app_id, access_mode: "authenticated", tables_secured: [{ table, policy, public_read_policies? }], table_errors? }`.
 * Per-table failures (any code {@link createUserIsolation} raises) are collected, not thrown.
 */
export async function secureApp(env: Env, execute: Execute, app: AppRow, body: SecureAppBody) {
  await updateAccessMode(env, app, { access_mode: 'authenticated' });
  const secured: { table: string; policy: string; public_read_policies?: string[] }[] = [];
  const errors: TableError[] = [];
  for (const table of body.tables ?? []) {
    try {
      const result = await createUserIsolation(execute, table);
      secured.push({ table: result.table, policy: result.policy_name, ...(result.public_read_policies ? { public_read_policies: result.public_read_policies } : {}) });
    } catch (error) {
      const apiError = toApiError(error);
      if (apiError.code === 'INTERNAL_ERROR' || apiError.code === 'EXTERNAL_DB_ERROR' || apiError.code === 'APP_NOT_READY') throw error;
      errors.push({ table: table.table_name, error: apiError.message, code: apiError.code });
    }
  }
  const listed = body.tables?.length ?? 0;
  return {
    message: `App secured: anonymous requests to the data API now get 401 AUTH_REQUIRED${listed ? `; user isolation on ${secured.length} of ${listed} tables` : ''}.`,
    app_id: app.id,
    access_mode: 'authenticated' as const,
    tables_secured: secured,
    ...(errors.length ? { table_errors: errors } : {}),
  };
}
