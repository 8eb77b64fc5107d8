/**
 * Name checks for RLS requests (API.md §1.4, §4): identifiers `^[a-z_][a-z0-9_]*$`, tables starting
 * with `_` reserved, policy names `^[a-z0-9_]+$`, and every name the platform derives from a table
 * short enough that Postgres does not silently truncate it (63 bytes).
 */
import { ApiError } from '../../shared/errors.ts';
import { identifierPattern } from '../../shared/validation.ts';
import { maxIdentifierBytes } from './sql.ts';

/** Policy names (API.md §4 DELETE /rls/{table}/{policy_name}). */
export const policyNamePattern = /^[a-z0-9_]{1,63}$/;

function invalidName(field: string, value: string, message: string): ApiError {
  return new ApiError('VALIDATION_INVALID_NAME', `Invalid ${field} ${JSON.stringify(value)}: ${message}.`, {
    details: [{ path: field, message, code: 'invalid_name' }],
  });
}

/**
 * A table name the caller may manage RLS on.
 * @throws ApiError VALIDATION_INVALID_NAME (pattern), VALIDATION_RESERVED_TABLE (starts with `_`)
 */
export function checkTableName(value: string, field = 'table_name'): string {
  if (!identifierPattern.test(value)) throw invalidName(field, value, 'must match ^[a-z_][a-z0-9_]*$ and be at most 63 characters');
  if (value.startsWith('_')) {
    throw new ApiError('VALIDATION_RESERVED_TABLE', `Table "${value}" is reserved for the platform (names starting with "_").`, {
      details: [{ path: field, message: 'names starting with "_" are reserved', code: 'reserved' }],
    });
  }
  return value;
}

/** A column name. @throws ApiError VALIDATION_INVALID_NAME */
export function checkColumnName(value: string, field: string): string {
  if (!identifierPattern.test(value)) throw invalidName(field, value, 'must match ^[a-z_][a-z0-9_]*$ and be at most 63 characters');
  return value;
}

/** A policy name. @throws ApiError VALIDATION_INVALID_NAME */
export function checkPolicyName(value: string, field = 'policy_name'): string {
  if (!policyNamePattern.test(value)) throw invalidName(field, value, 'must match ^[a-z0-9_]+$ and be at most 63 characters');
  return value;
}

/**
 * Names derived from the table (policies, trigger, function) must fit in 63 bytes.
 * @throws ApiError VALIDATION_INVALID_NAME naming the longest one
 */
export function checkDerivedNames(table: string, derived: string[], field = 'table_name'): void {
  const tooLong = derived.find((name) => name.length > maxIdentifierBytes);
  if (tooLong) {
    throw invalidName(field, table, `the derived name "${tooLong}" would exceed ${maxIdentifierBytes} characters; RLS helpers need a shorter table name`);
  }
}
