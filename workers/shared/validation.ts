/**
 * Boundary validation (STYLE.md "Validate at the edge"): zod parse failures become
 * VALIDATION_* ApiErrors whose `details` list every problem with its field path.
 */
import { z } from 'zod';
import { ApiError, type ErrorCode } from './errors.ts';

/** One validation problem as sent in `error.details` (`path` is dotted, e.g. `tables.posts.columns.id.type`). */
export interface ValidationIssue {
  path: string;
  message: string;
  code: string;
}

/** Joins a zod path into `a.b[0].c` form; the root is `(root)`. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let current = input;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

/**
 * Converts a ZodError into an ApiError:
 * a missing required field → VALIDATION_MISSING_FIELD, a wrong type → VALIDATION_INVALID_TYPE,
 * anything else (unknown key, bad format, out of range) → VALIDATION_INVALID_SCHEMA.
 * `where` prefixes the message, e.g. "body" or "query".
 */
export function zodToApiError(error: z.ZodError, input: unknown, where = 'body'): ApiError {
  const issues: ValidationIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        issues.push({ path: formatPath([...issue.path, key]), message: `unknown field "${key}"`, code: 'unrecognized_key' });
      }
      continue;
    }
    const missing = issue.code === 'invalid_type' && valueAt(input, issue.path) === undefined;
    issues.push({
      path: formatPath(issue.path),
      message: missing ? 'required field is missing' : issue.message,
      code: missing ? 'missing' : issue.code,
    });
  }
  const first = issues[0] ?? { path: '(root)', message: 'invalid', code: 'custom' };
  const code: ErrorCode =
    first.code === 'missing' ? 'VALIDATION_MISSING_FIELD' : first.code === 'invalid_type' ? 'VALIDATION_INVALID_TYPE' : 'VALIDATION_INVALID_SCHEMA';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return new ApiError(code, `Invalid ${where}: ${first.path}: ${first.message}${more}`, { details: issues });
}

/**
 * Parses `input` with `schema` or throws the ApiError from {@link zodToApiError}.
 * @throws ApiError VALIDATION_MISSING_FIELD | VALIDATION_INVALID_TYPE | VALIDATION_INVALID_SCHEMA
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, where = 'body'): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw zodToApiError(result.error, input, where);
  return result.data;
}

/**
 * Reads a request body as JSON. An empty body is `{}` (the SDK and MCP send body-less POST/DELETE,
 * API.md §1.1). Malformed JSON → 400 VALIDATION_INVALID_SCHEMA naming the parse problem.
 */
export async function readJsonBody(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError('VALIDATION_INVALID_SCHEMA', `Malformed JSON body: ${(error as Error).message}`, {
      details: [{ path: '(root)', message: 'body is not valid JSON', code: 'invalid_json' }],
    });
  }
}

/** Reads and validates a JSON body in one step. */
export async function parseJsonBody<S extends z.ZodType>(request: Request, schema: S): Promise<z.output<S>> {
  return parseWith(schema, await readJsonBody(request), 'body');
}

/** Platform identifiers for tables, columns, indexes, policies: `^[a-z_][a-z0-9_]*$`, ≤63 chars. */
export const identifierPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/** zod schema for an identifier. */
export const identifier = z.string().regex(identifierPattern, 'must match ^[a-z_][a-z0-9_]*$ and be at most 63 characters');

/** An app id: `app_` + 12 of `[0-9a-z]` (API.md §1.1). */
export const appIdPattern = /^app_[0-9a-z]{12}$/;
