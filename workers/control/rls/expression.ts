/**
 * Lexical safety check for RLS policy expressions (API.md §4, RLS_UNSAFE_EXPRESSION).
 *
 * A policy expression is pasted into `CREATE POLICY … USING (<expr>)`, so it must be exactly one
 * SQL expression that cannot leave its parentheses and cannot do anything but compute a boolean.
 * The check allows what is known to be safe rather than hunting for what is bad:
 * - the text is scanned with Postgres's lexical rules (string literals `'…'` with `''`, `E'…'` with
 *   backslash escapes, `B'…'`/`X'…'`/`N'…'`, quoted identifiers `"…"`), so a `;` or `)` inside a
 *   literal is harmless and one outside it is seen;
 * - refused outright: `;`, comments (`--`, `/*`), `$` (dollar quoting, parameters), Unicode escapes
 *   (`U&'…'`, `U&"…"`, which can spell any name), backslashes and control characters outside literals,
 *   unterminated literals, and parentheses/brackets that close more than they open or stay open
 *   (either would let the text escape `USING (…)`);
 * - refused: unquoted statement keywords (INSERT, UPDATE, DELETE, DROP, SET, COPY, …, plus
 *   RECURSIVE and FOR SHARE/UPDATE row locks) — subqueries (`EXISTS (SELECT …)`) stay allowed;
 * - every call `name(` must name a known side-effect-free built-in (or an SQL construct such as
 *   `IN (`, `EXISTS (`, `COALESCE(`, a type modifier such as `varchar(20)`), optionally qualified
 *   by `pg_catalog.` or `public.`. Anything else — `pg_sleep`, `set_config`, `dblink`, `lo_import`,
 *   `pg_read_file`, `nextval`, user functions — is refused by not being on the list.
 * Postgres then proves the expression against the real table (rls/probe.ts).
 * Source: PostgreSQL docs §4.1 "Lexical Structure", §9 "Functions and Operators" (volatility).
 */

/** Longest expression accepted, in characters. */
export const maxExpressionLength = 4000;

/** Why an expression was refused. */
export type UnsafeReason =
  | 'empty'
  | 'too_long'
  | 'semicolon'
  | 'comment'
  | 'dollar_quote'
  | 'unicode_escape'
  | 'character'
  | 'unterminated'
  | 'unbalanced'
  | 'statement_keyword'
  | 'function';

/** A refusal: the reason, a public sentence, and the offending token when there is one. */
export interface UnsafeExpression {
  reason: UnsafeReason;
  message: string;
  token?: string;
}

/**
 * SQL constructs and type names that may be followed by `(` without being a function call
 * (`x IN (…)`, `EXISTS (…)`, `CAST(… AS varchar(20))`, `FROM (SELECT …)`, `OVER (…)`).
 */
const constructsBeforeParen = [
  'and', 'or', 'not', 'in', 'exists', 'any', 'some', 'all', 'is', 'like', 'ilike', 'similar', 'to', 'between',
  'escape', 'case', 'when', 'then', 'else', 'array', 'row', 'values', 'cast', 'coalesce', 'nullif',
  'greatest', 'least', 'extract', 'position', 'substring', 'trim', 'overlay', 'select', 'from', 'where',
  'join', 'on', 'using', 'as', 'by', 'having', 'distinct', 'filter', 'over', 'group', 'lateral', 'union',
  'intersect', 'except', 'limit', 'offset', 'zone',
  // Type names with a modifier: `::varchar(20)`, `numeric(10,2)`, `timestamp(3)`, `vector(3)`.
  'varchar', 'char', 'character', 'varying', 'numeric', 'decimal', 'bit', 'varbit', 'timestamp',
  'timestamptz', 'time', 'timetz', 'interval', 'float', 'vector',
  // SQL value functions with an optional precision: `current_timestamp(3)`.
  'current_timestamp', 'current_time', 'localtime', 'localtimestamp',
];

/**
 * Built-in functions a policy may call: immutable or stable, no I/O, no settings changes, no
 * dynamic SQL, no sequence or lock side effects.
 */
const safeFunctions = [
  // Platform
  'current_user_id',
  // Settings (read only; set_config is not here)
  'current_setting',
  // Text
  'lower', 'upper', 'length', 'char_length', 'character_length', 'octet_length', 'btrim', 'ltrim', 'rtrim',
  'substr', 'strpos', 'starts_with', 'left', 'right', 'replace', 'split_part', 'concat', 'concat_ws',
  'lpad', 'rpad', 'initcap', 'reverse', 'md5', 'format', 'regexp_like', 'regexp_match', 'text',
  // Time
  'now', 'statement_timestamp', 'transaction_timestamp', 'date_trunc', 'date_part', 'age', 'make_date',
  'make_time', 'make_timestamp', 'make_timestamptz', 'make_interval', 'to_char', 'to_date', 'to_timestamp',
  'to_number', 'isfinite', 'timezone', 'date',
  // Numbers
  'abs', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'mod', 'sign', 'power', 'sqrt',
  // Arrays
  'array_length', 'array_position', 'array_positions', 'array_to_string', 'array_append', 'array_prepend',
  'array_cat', 'array_remove', 'array_lower', 'array_upper', 'array_ndims', 'cardinality', 'string_to_array',
  'unnest',
  // JSON
  'jsonb_array_length', 'json_array_length', 'jsonb_typeof', 'json_typeof', 'jsonb_extract_path',
  'jsonb_extract_path_text', 'json_extract_path', 'json_extract_path_text', 'jsonb_array_elements',
  'jsonb_array_elements_text', 'json_array_elements', 'json_array_elements_text', 'jsonb_object_keys',
  'to_jsonb', 'to_json', 'jsonb_build_object', 'jsonb_build_array', 'jsonb_path_exists',
  // Aggregates (inside subqueries)
  'count', 'sum', 'min', 'max', 'avg', 'bool_and', 'bool_or', 'every', 'array_agg', 'string_agg',
];

const allowedBeforeParen = new Set([...constructsBeforeParen, ...safeFunctions]);

/** Schemas a call may be qualified with. */
const allowedQualifiers = new Set(['pg_catalog', 'public']);

/**
 * Unquoted words that only start or modify statements (never part of a boolean expression), plus
 * `recursive` (unbounded CTE loops) and row-lock clauses (`FOR SHARE`, `NOWAIT`). A column with such
 * a name can still be used double-quoted (`"update"`).
 */
const statementKeywords = new Set([
  'insert', 'update', 'delete', 'merge', 'drop', 'create', 'alter', 'truncate', 'grant', 'revoke', 'copy',
  'execute', 'call', 'do', 'set', 'reset', 'begin', 'commit', 'rollback', 'savepoint', 'prepare',
  'deallocate', 'listen', 'notify', 'unlisten', 'vacuum', 'analyze', 'explain', 'reindex', 'cluster',
  'checkpoint', 'discard', 'into', 'returning', 'recursive', 'share', 'nowait',
]);

type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'operator' | 'open' | 'close' | 'punct';

interface Token {
  kind: TokenKind;
  /** Lowercased for words; the unescaped content for quoted identifiers; the raw text otherwise. */
  text: string;
}

class Unsafe extends Error {
  constructor(readonly result: UnsafeExpression) {
    super(result.message);
  }
}

function refuse(reason: UnsafeReason, message: string, token?: string): never {
  throw new Unsafe({ reason, message, ...(token === undefined ? {} : { token }) });
}

const isWordStart = (ch: string) => /[A-Za-z_]/.test(ch) || ch.charCodeAt(0) > 0x7f;
const isWordPart = (ch: string) => /[A-Za-z0-9_]/.test(ch) || ch.charCodeAt(0) > 0x7f;
const operatorChars = '+-*/<>=~!@#%^&|`?';

/** Reads a quoted run starting after the opening quote; a doubled quote is an escaped one. */
function readQuoted(text: string, start: number, quote: string, backslashEscapes: boolean): { end: number; content: string } {
  let content = '';
  for (let i = start; i < text.length; i++) {
    const ch = text[i]!;
    if (backslashEscapes && ch === '\\') {
      content += text.slice(i, i + 2);
      i++;
      continue;
    }
    if (ch === quote) {
      if (text[i + 1] === quote) {
        content += quote;
        i++;
        continue;
      }
      return { end: i + 1, content };
    }
    content += ch;
  }
  refuse('unterminated', `The expression has an unterminated ${quote === "'" ? 'string literal' : 'quoted identifier'}.`);
}

/** Splits an expression into tokens with Postgres's lexical rules, refusing what can never be safe. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    const next = text[i + 1] ?? '';
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if ((ch === '-' && next === '-') || (ch === '/' && next === '*')) refuse('comment', 'Comments are not allowed in policy expressions.', ch + next);
    if (ch === ';') refuse('semicolon', 'Semicolons are not allowed: a policy expression is one boolean expression, not statements.', ';');
    if (ch === '$') refuse('dollar_quote', 'Dollar quoting and $ parameters are not allowed in policy expressions.', '$');
    if ((ch === 'u' || ch === 'U') && next === '&') refuse('unicode_escape', 'Unicode-escaped strings and identifiers (U&…) are not allowed in policy expressions.', 'U&');
    if (ch === "'") {
      const { end, content } = readQuoted(text, i + 1, "'", false);
      tokens.push({ kind: 'string', text: content });
      i = end;
      continue;
    }
    if (ch === '"') {
      const { end, content } = readQuoted(text, i + 1, '"', false);
      if (content === '') refuse('unterminated', 'Empty quoted identifiers are not allowed.', '""');
      tokens.push({ kind: 'quoted', text: content });
      i = end;
      continue;
    }
    if (isWordStart(ch)) {
      // A one-letter prefix glued to a quote is a string constant: E'…' (backslash escapes), B'…', X'…', N'…'.
      if (next === "'" && /[eEbBxXnN]/.test(ch)) {
        const { end, content } = readQuoted(text, i + 2, "'", ch === 'e' || ch === 'E');
        tokens.push({ kind: 'string', text: content });
        i = end;
        continue;
      }
      let end = i + 1;
      while (end < text.length && isWordPart(text[end]!)) end++;
      tokens.push({ kind: 'word', text: text.slice(i, end).toLowerCase() });
      i = end;
      continue;
    }
    if (/[0-9]/.test(ch) || (ch === '.' && /[0-9]/.test(next))) {
      const match = /^(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(i))!;
      const length = Math.max(match[0].length, 1);
      tokens.push({ kind: 'number', text: text.slice(i, i + length) });
      i += length;
      continue;
    }
    if (ch === '(' || ch === '[') {
      depth++;
      tokens.push({ kind: 'open', text: ch });
      i++;
      continue;
    }
    if (ch === ')' || ch === ']') {
      depth--;
      if (depth < 0) refuse('unbalanced', `The expression closes a "${ch}" it never opened; it must be one self-contained expression.`, ch);
      tokens.push({ kind: 'close', text: ch });
      i++;
      continue;
    }
    if (ch === ',' || ch === '.' || ch === ':') {
      if (ch === ':' && next === ':') {
        tokens.push({ kind: 'punct', text: '::' });
        i += 2;
        continue;
      }
      tokens.push({ kind: 'punct', text: ch });
      i++;
      continue;
    }
    if (operatorChars.includes(ch)) {
      let end = i;
      // Postgres ends an operator where a comment starts, so check at every character.
      while (end < text.length && operatorChars.includes(text[end]!)) {
        const pair = text.slice(end, end + 2);
        if (pair === '--' || pair === '/*') refuse('comment', 'Comments are not allowed in policy expressions.', pair);
        end++;
      }
      tokens.push({ kind: 'operator', text: text.slice(i, end) });
      i = end;
      continue;
    }
    refuse('character', `The character ${JSON.stringify(ch)} is not allowed outside string literals in policy expressions.`, ch);
  }
  if (depth !== 0) refuse('unbalanced', 'The expression leaves a parenthesis or bracket open; it must be one self-contained expression.');
  return tokens;
}

/** Checks keywords and calls over the token stream. */
function checkTokens(tokens: Token[]): void {
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.kind === 'word' && statementKeywords.has(token.text)) {
      refuse('statement_keyword', `"${token.text.toUpperCase()}" is a statement keyword; a policy expression may only compute a boolean (double-quote a column of that name).`, token.text);
    }
    const isName = token.kind === 'word' || token.kind === 'quoted';
    if (!isName || tokens[i + 1]?.kind !== 'open' || tokens[i + 1]?.text !== '(') continue;
    const qualified = tokens[i - 1]?.text === '.' && tokens[i - 1]?.kind === 'punct';
    if (qualified) {
      const schema = tokens[i - 2];
      if (!schema || (schema.kind !== 'word' && schema.kind !== 'quoted') || !allowedQualifiers.has(schema.text)) {
        refuse('function', `Calls qualified with "${schema?.text ?? ''}" are not allowed; only pg_catalog. and public. built-ins on the allowed list may be called.`, `${schema?.text ?? ''}.${token.text}`);
      }
    }
    if (!allowedBeforeParen.has(token.text)) {
      refuse('function', `The function "${token.text}" is not allowed in policy expressions; only side-effect-free built-ins (e.g. current_user_id(), lower(), now(), coalesce()) may be called.`, token.text);
    }
  }
}

/**
 * Checks one policy expression.
 * @returns null when the expression is lexically safe, else the reason it is not.
 */
export function findUnsafeExpression(text: string): UnsafeExpression | null {
  if (text.trim() === '') return { reason: 'empty', message: 'The expression is empty.' };
  if (text.length > maxExpressionLength) {
    return { reason: 'too_long', message: `The expression is longer than ${maxExpressionLength} characters.` };
  }
  try {
    checkTokens(tokenize(text));
    return null;
  } catch (error) {
    if (error instanceof Unsafe) return error.result;
    throw error;
  }
}
