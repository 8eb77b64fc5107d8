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

/** Most NUL findings listed in `details` (the message names the first). */
const maxNulIssues = 20;

/** Shows a key that itself holds U+0000 without the raw character. */
function printableKey(key: PropertyKey): PropertyKey {
  return typeof key === 'string' ? key.replaceAll('\u0000', '\\u0000') : key;
}

/** A position in a value being walked: its key and the position it hangs off (paths are built only on a find). */
interface Position {
  key: PropertyKey | null;
  parent: Position | null;
}

function pathOf(position: Position, last?: PropertyKey): PropertyKey[] {
  const path: PropertyKey[] = last === undefined ? [] : [last];
  for (let at: Position | null = position; at && at.key !== null; at = at.parent) path.unshift(at.key);
  return path;
}

/**
 * Every place in a JSON-like value where text holds U+0000: string values and object keys, with
 * their paths. Walked with an explicit stack and parent links, so a deeply nested body costs linear
 * time and cannot overflow the call stack.
 */
function nulPaths(input: unknown): PropertyKey[][] {
  const found: PropertyKey[][] = [];
  const stack: { value: unknown; at: Position }[] = [{ value: input, at: { key: null, parent: null } }];
  while (stack.length > 0 && found.length < maxNulIssues) {
    const { value, at } = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) found.push(pathOf(at));
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], at: { key: i, parent: at } });
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i]!;
        if (key.includes('\u0000')) found.push(pathOf(at, printableKey(key)));
        else stack.push({ value: child, at: { key, parent: at } });
      }
    }
  }
  return found;
}

/**
 * Refuses text holding the NUL character (U+0000) anywhere in `input`: Postgres `text` and `jsonb`
 * cannot store it (SQLSTATE 22021 / 22P05), so it is refused here, at the edge, for every field of
 * every body and query, naming each field.
 * @throws ApiError VALIDATION_INVALID_INPUT with `details` = `[{ path, message, code: "nul_character" }]`
 */
export function assertNoNul(input: unknown, where = 'body'): void {
  const paths = nulPaths(input);
  if (paths.length === 0) return;
  const details: ValidationIssue[] = paths.map((path) => ({
    path: formatPath(path),
    message: 'text may not contain the NUL character (U+0000)',
    code: 'nul_character',
  }));
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
  throw new ApiError('VALIDATION_INVALID_INPUT', `Invalid ${where}: ${details[0]!.path}: ${details[0]!.message}${more}`, {
    remediation: 'Remove the NUL character (\\u0000) from the field named in details; Postgres cannot store it in text.',
    details,
  });
}

/**
 * Parses `input` with `schema` or throws. Text holding U+0000 is refused first ({@link assertNoNul}).
 * @throws ApiError VALIDATION_INVALID_INPUT (NUL) | VALIDATION_MISSING_FIELD | VALIDATION_INVALID_TYPE |
 *   VALIDATION_INVALID_SCHEMA (see {@link zodToApiError})
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, where = 'body'): z.output<S> {
  assertNoNul(input, where);
  const result = schema.safeParse(input);
  if (!result.success) throw zodToApiError(result.error, input, where);
  return result.data;
}

/**
 * Parses a request body's text as JSON. An empty body is `{}` (the SDK and MCP send body-less
 * POST/DELETE, API.md §1.1).
 * @throws ApiError VALIDATION_INVALID_SCHEMA (malformed JSON, naming the parse problem),
 *   VALIDATION_INVALID_INPUT (text holding U+0000, see {@link assertNoNul})
 */
export function parseJsonText(text: string): unknown {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ApiError('VALIDATION_INVALID_SCHEMA', `Malformed JSON body: ${(error as Error).message}`, {
      details: [{ path: '(root)', message: 'body is not valid JSON', code: 'invalid_json' }],
    });
  }
  assertNoNul(value, 'body');
  return value;
}

/** Reads a request body as JSON ({@link parseJsonText}). */
export async function readJsonBody(request: Request): Promise<unknown> {
  return parseJsonText(await request.text());
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
