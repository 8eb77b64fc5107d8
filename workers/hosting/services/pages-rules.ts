/**
 * Cloudflare Pages' `_redirects` and `_headers` files, parsed at deploy time and applied when serving
 * (Cloudflare Pages docs, "Redirects" and "Headers"; the same formats Workers Static Assets reads).
 *
 * `_redirects`: one rule per line, `source destination [status]`, `#` comments; status 301, 302
 * (default), 303, 307, 308, 200 (rewrite: serve `destination` under the requested URL) or 404
 * (rewrite with status 404). A source may hold one `*` (the destination's `:splat`) and `:name`
 * placeholders (whole segments). The first matching rule wins.
 *
 * `_headers`: an unindented URL pattern line (same `*` and `:name` syntax), then indented
 * `Name: value` lines, or `! Name` to remove a header an earlier rule set. Every matching rule applies
 * in file order; the same header from two rules is joined with `, `.
 */
import { z } from 'zod';

/** One `_redirects` rule. */
export const redirectRule = z.object({ from: z.string(), to: z.string(), status: z.number().int() });
export type RedirectRule = z.infer<typeof redirectRule>;

/** One `_headers` rule. */
export const headerRule = z.object({
  pattern: z.string(),
  set: z.array(z.tuple([z.string(), z.string()])),
  detach: z.array(z.string()),
});
export type HeaderRule = z.infer<typeof headerRule>;

/** A line Pages would refuse, reported at deploy time instead of being ignored silently. */
export class RulesError extends Error {
  constructor(readonly file: '_redirects' | '_headers', readonly line: number, message: string) {
    super(`${file} line ${line}: ${message}`);
    this.name = 'RulesError';
  }
}

const redirectStatuses = new Set([200, 301, 302, 303, 307, 308, 404]);
/** Pages' caps: 2000 static and 100 dynamic redirects; we cap the sum. */
const maxRedirects = 2100;
const maxHeaderRules = 100;

/** Parses a `_redirects` file. @throws RulesError for a malformed line or too many rules */
export function parseRedirects(text: string): RedirectRule[] {
  const rules: RedirectRule[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    if (parts.length < 2 || parts.length > 3) throw new RulesError('_redirects', index + 1, 'expected "source destination [status]"');
    const [from, to, code] = parts as [string, string, string | undefined];
    const status = code === undefined ? 302 : Number(code.replace(/!$/, ''));
    if (!redirectStatuses.has(status)) throw new RulesError('_redirects', index + 1, `status ${code} is not one of 200, 301, 302, 303, 307, 308, 404`);
    if (!from.startsWith('/')) throw new RulesError('_redirects', index + 1, 'the source must be a path starting with /');
    if ((from.match(/\*/g) ?? []).length > 1) throw new RulesError('_redirects', index + 1, 'a source may contain one * only');
    if ((status === 200 || status === 404) && !to.startsWith('/')) throw new RulesError('_redirects', index + 1, 'a rewrite (200/404) must point at a path of this site');
    rules.push({ from, to, status });
  });
  if (rules.length > maxRedirects) throw new RulesError('_redirects', 0, `more than ${maxRedirects} rules`);
  return rules;
}

/** Parses a `_headers` file. @throws RulesError for a malformed line or too many rules */
export function parseHeaders(text: string): HeaderRule[] {
  const rules: HeaderRule[] = [];
  let current: HeaderRule | null = null;
  text.split(/\r?\n/).forEach((raw, index) => {
    if (!raw.trim() || raw.trim().startsWith('#')) return;
    if (!/^\s/.test(raw)) {
      const pattern = raw.trim();
      if (!pattern.startsWith('/')) throw new RulesError('_headers', index + 1, 'a URL pattern must be a path starting with /');
      current = { pattern, set: [], detach: [] };
      rules.push(current);
      return;
    }
    if (!current) throw new RulesError('_headers', index + 1, 'a header line must follow a URL pattern');
    const line = raw.trim();
    if (line.startsWith('!')) {
      current.detach.push(line.slice(1).trim().toLowerCase());
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new RulesError('_headers', index + 1, 'expected "Name: value"');
    const name = line.slice(0, colon).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new RulesError('_headers', index + 1, `"${name}" is not a header name`);
    current.set.push([name.toLowerCase(), line.slice(colon + 1).trim()]);
  });
  if (rules.length > maxHeaderRules) throw new RulesError('_headers', 0, `more than ${maxHeaderRules} rules`);
  return rules;
}

const compiled = new Map<string, RegExp>();

/** The captures of `pattern` against `path` (`splat` and each `:name`), or null when it does not match. */
export function matchPattern(pattern: string, path: string): Record<string, string> | null {
  let regex = compiled.get(pattern);
  if (!regex) {
    const source = pattern
      .split(/(\*|:[A-Za-z]\w*)/)
      .map((part) => {
        if (part === '*') return '(?<splat>.*)';
        if (/^:[A-Za-z]\w*$/.test(part)) return `(?<${part.slice(1)}>[^/]+)`;
        return part.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('');
    regex = new RegExp(`^${source}$`);
    compiled.set(pattern, regex);
  }
  const match = regex.exec(path);
  return match ? { ...match.groups } : null;
}

/** The first rule matching `path`, with its destination's `:splat` and placeholders filled in. */
export function findRedirect(rules: readonly RedirectRule[], path: string): { to: string; status: number } | null {
  for (const rule of rules) {
    const captures = matchPattern(rule.from, path) ?? (path.length > 1 && path.endsWith('/') ? matchPattern(rule.from, path.slice(0, -1)) : null);
    if (!captures) continue;
    const to = rule.to.replace(/:([A-Za-z]\w*)/g, (whole, name: string) => captures[name] ?? whole);
    return { to, status: rule.status };
  }
  return null;
}

/** Applies every matching `_headers` rule to `headers` (in place). */
export function applyHeaderRules(rules: readonly HeaderRule[], path: string, headers: Headers): void {
  const added = new Set<string>();
  for (const rule of rules) {
    if (!matchPattern(rule.pattern, path)) continue;
    for (const name of rule.detach) headers.delete(name);
    for (const [name, value] of rule.set) {
      if (added.has(name)) headers.append(name, value);
      else headers.set(name, value);
      added.add(name);
    }
  }
}
