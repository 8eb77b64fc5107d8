/**
 * Prepared statements for one PGlite instance (one database), so a statement text the Workers send
 * again and again — every REST request sends the same role prelude, the same BEGIN/COMMIT and one of a
 * handful of query shapes — is parsed and analysed by Postgres once, not on every request. In PGlite
 * (Postgres compiled to WASM) parse, analysis and planning are most of a small statement's cost:
 * a REST read's four-statement batch costs 135 µs unnamed and 35 µs prepared (measured in one
 * process, 5,000 batches each).
 *
 * The rules (PostgreSQL protocol, "Extended Query"; plan cache: "PREPARE", Notes):
 * - A text is prepared the second time it is seen (one-off statements — migrations, ad hoc SQL —
 *   stay unnamed); at most {@link StatementCache.limit} texts are kept, the least recently used one is
 *   closed when another comes.
 * - Only data statements and transaction control are prepared ({@link cacheable}); any other
 *   statement that runs successfully (DDL, DO blocks, SET, …) closes every prepared statement, so a
 *   statement's parameter types, inferred when it was parsed, never outlive the schema they were
 *   inferred from. Postgres itself re-plans a prepared statement after DDL on what it reads, after a
 *   `search_path` change and for another role's row-level security.
 * - After a failed exchange, statements parsed in it are treated as unknown (Postgres skips the
 *   messages after an error, so some were never parsed) and closed before their next use; closing a
 *   name Postgres does not know is not an error.
 * - When Postgres reports the cache stale — a prepared statement missing (26000: `DEALLOCATE` or
 *   `DISCARD` in user SQL) or already existing (42P05: a user `PREPARE` of one of our names), or
 *   "cached plan must not change result type" (0A000, a table's columns changed under `SELECT *`) —
 *   the session forgets every statement and runs the same exchange again unnamed (see
 *   pglite-session.ts: the failed exchange ran nothing, or only inside a transaction it rolled back).
 * Names are `_bb_stmt_{n}`, unlikely to meet a user's own.
 */
import { closeStatements, type StatementPlan } from './wire.ts';

/** Statements worth preparing: queries and data changes, and transaction control. */
const cacheablePattern = /^\s*(?:select|insert|update|delete|with|values|table|begin|start|commit|end|rollback|savepoint|release)\b/i;

/** Whether `query` may be prepared (see the file comment). */
export function cacheable(query: string): boolean {
  return cacheablePattern.test(query);
}

/** Texts longer than this stay unnamed (each prepared statement keeps its text and plan in memory). */
const maxTextLength = 16 * 1024;

interface CachedText {
  /** Null until the text is seen a second time. */
  name: string | null;
  /** Whether Postgres holds `name` as far as this cache knows. */
  prepared: boolean;
}

/** A Postgres error that means the cache no longer matches the session (see the file comment). */
export function isStaleCacheError(error: { code?: string; message: string } | undefined): boolean {
  if (!error) return false;
  if (error.code === '26000' || error.code === '42P05') return true;
  return error.code === '0A000' && /cached plan must not change result type/.test(error.message);
}

/** The prepared statements of one session (see the file comment). */
export class StatementCache {
  readonly limit: number;
  /** By text, least recently used first. */
  readonly #texts = new Map<string, CachedText>();
  /** Names to close at the start of the next exchange. */
  #closing: string[] = [];
  #next = 0;

  constructor(limit = 256) {
    this.limit = limit;
  }

  /**
   * The plan for one statement of the next exchange: unnamed, parse-and-name, or bind the named
   * statement. Call {@link settle} with the same plans once the exchange has answered.
   */
  plan(query: string): StatementPlan {
    if (query.length > maxTextLength || !cacheable(query)) return { name: '', parse: true };
    const cached = this.#texts.get(query);
    if (!cached) {
      this.#texts.set(query, { name: null, prepared: false });
      this.#evict();
      return { name: '', parse: true };
    }
    this.#texts.delete(query);
    this.#texts.set(query, cached);
    cached.name ??= `_bb_stmt_${++this.#next}`;
    return { name: cached.name, parse: !cached.prepared };
  }

  /**
   * Records how an exchange planned by {@link plan} ended. `ok`: its named Parses now exist, and a
   * statement that is not {@link cacheable} among `queries` closes everything prepared. Not ok: the
   * names it tried to parse are unknown and get closed before their next use.
   */
  settle(queries: string[], plans: StatementPlan[], ok: boolean): void {
    for (let i = 0; i < plans.length; i++) {
      const plan = plans[i]!;
      if (!plan.name || !plan.parse) continue;
      const cached = this.#texts.get(queries[i]!);
      if (ok) {
        if (cached?.name === plan.name) cached.prepared = true;
        else this.#closing.push(plan.name);
      } else {
        this.#closing.push(plan.name);
        if (cached?.name === plan.name) cached.prepared = false;
      }
    }
    // After the bookkeeping, so names parsed in this very exchange are closed too.
    if (ok && queries.some((query) => !cacheable(query))) this.reset();
  }

  /** Forgets every statement; the prepared ones are closed at the start of the next exchange. */
  reset(): void {
    for (const cached of this.#texts.values()) if (cached.name && cached.prepared) this.#closing.push(cached.name);
    this.#texts.clear();
  }

  /** Close messages owed to Postgres (evicted or uncertain names), to send first in the next exchange; empties the list. */
  takeCloses(): Buffer | null {
    if (this.#closing.length === 0) return null;
    const message = closeStatements(this.#closing);
    this.#closing = [];
    return message;
  }

  /** How many texts are known, and how many of them are prepared (tests and diagnostics). */
  stats(): { texts: number; prepared: number } {
    let prepared = 0;
    for (const cached of this.#texts.values()) if (cached.prepared) prepared++;
    return { texts: this.#texts.size, prepared };
  }

  #evict(): void {
    while (this.#texts.size > this.limit) {
      const [oldest, cached] = this.#texts.entries().next().value as [string, CachedText];
      this.#texts.delete(oldest);
      if (cached.name && cached.prepared) this.#closing.push(cached.name);
    }
  }
}
