/**
 * Proves policy expressions before they are used (API.md §4 RLS_* errors): first the lexical check
 * (rls/expression.ts), then Postgres itself — `EXPLAIN SELECT 1 FROM t WHERE (expr)` as the role the
 * policy applies to, which resolves every column, operator, function and table the expression names
 * and checks that role may read them, without creating or running anything. Postgres's verdict
 * (SQLSTATE, via DbGateway's `details.pg_code` / `pg_message`) becomes an RLS_* code naming the field.
 */
import type { Execute } from '../../shared/catalog.ts';
import { ApiError } from '../../shared/errors.ts';
import { findUnsafeExpression } from './expression.ts';
import { probeStatements } from './sql.ts';

/** Remediation for policies that read each other in a cycle (SQLSTATE 42P17). */
export const recursionRemediation =
  'A policy on this table reads another table whose policies read this table back (or the table reads itself through a subquery), so Postgres would recurse forever. ' +
  'Break the cycle: compare columns of the row itself (e.g. store the owner id on the row and use user isolation), or make only one side of the pair look at the other. ' +
  'Nothing was changed.';

interface PgFacts {
  pg_code?: string;
  pg_message?: string;
}

function pgFacts(error: ApiError): PgFacts {
  return typeof error.details === 'object' && error.details !== null ? (error.details as PgFacts) : {};
}

/**
 * Refuses an expression that is not a single side-effect-free boolean expression.
 * @throws ApiError RLS_UNSAFE_EXPRESSION with details `{ field, reason, token? }`
 */
export function assertSafeExpression(field: string, expression: string): void {
  const unsafe = findUnsafeExpression(expression);
  if (unsafe) {
    throw new ApiError('RLS_UNSAFE_EXPRESSION', `${field}: ${unsafe.message}`, {
      details: { field, reason: unsafe.reason, ...(unsafe.token === undefined ? {} : { token: unsafe.token }) },
    });
  }
}

/**
 * Translates a Postgres rejection of a policy expression into an RLS_* error; anything else is
 * returned unchanged. 42P17 → RLS_INVALID_EXPRESSION (recursion, with a remediation);
 * 42883/42804/42846/42725/42P18 → RLS_TYPE_MISMATCH; 42501 (the role may not read something the
 * expression reads), other class 42, 0A and 22 → RLS_INVALID_EXPRESSION.
 */
export function translateExpressionError(error: unknown, field: string | null): unknown {
  if (!(error instanceof ApiError)) return error;
  const { pg_code: code, pg_message: pgMessage } = pgFacts(error);
  if (!code) return error;
  const text = pgMessage ?? error.message;
  const prefix = field ? `${field}: ` : '';
  const details = { ...(field ? { field } : {}), pg_code: code, pg_message: text };
  if (code === '42P17') {
    return new ApiError('RLS_INVALID_EXPRESSION', `${prefix}The policies would recurse infinitely (${text}).`, { details, remediation: recursionRemediation });
  }
  if (field === null) return error;
  if (['42883', '42804', '42846', '42725', '42P18'].includes(code)) {
    const notBoolean = /must be type boolean/.test(text);
    return new ApiError('RLS_TYPE_MISMATCH', `${prefix}${text}.`, {
      details,
      remediation: notBoolean
        ? 'A policy expression must evaluate to a boolean, e.g. user_id = current_user_id()::uuid or published = true.'
        : 'Cast one side so both have the same type. current_user_id() returns text: compare uuid columns with current_user_id()::uuid, or cast the column (col::text).',
    });
  }
  if (code === '42501') {
    return new ApiError('RLS_INVALID_EXPRESSION', `${prefix}The roles this policy applies to may not read everything the expression reads (${text}).`, {
      details,
      remediation: 'Policies run with the privileges of the querying role: read only tables in the public schema.',
    });
  }
  if (code.startsWith('42') || code.startsWith('0A') || code.startsWith('22')) {
    return new ApiError('RLS_INVALID_EXPRESSION', `${prefix}${text}.`, {
      details,
      remediation: code === '42703'
        ? 'Check the column names against GET /v1/{app_id}/schema; columns of other tables need a subquery (EXISTS (SELECT 1 FROM other WHERE …)).'
        : 'Fix the expression: it must be one valid boolean SQL expression over this table\'s columns.',
    });
  }
  return error;
}

/**
 * Checks one expression lexically, then has Postgres analyse it against `table` as each of `roles`.
 * @throws ApiError RLS_UNSAFE_EXPRESSION, RLS_INVALID_EXPRESSION, RLS_TYPE_MISMATCH (details.field = `field`)
 */
export async function proveExpression(execute: Execute, table: string, roles: string[], field: string, expression: string): Promise<void> {
  assertSafeExpression(field, expression);
  try {
    await execute(roles.flatMap((role) => probeStatements(table, role, expression)));
  } catch (error) {
    throw translateExpressionError(error, field);
  }
}
