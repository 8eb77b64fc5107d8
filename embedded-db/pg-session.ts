/**
 * A {@link SqlSession} over a node-postgres client: the real Postgres backend's path, and PGlite's
 * original path (node-postgres over PGlite's protocol shim, `BB_DB_PGLITE_DRIVER=node-postgres`),
 * kept as the reference the direct path (pglite-session.ts) is measured and compared against.
 * Each statement is one extended-protocol round trip; a batch sends `BEGIN`, its statements and
 * `COMMIT` as separate round trips (`ROLLBACK` after an error).
 */
import type pg from 'pg';
import { beginStatement, type BatchOptions, type SqlSession, type Statement, type StatementResult } from './backend.ts';

/** The part of a node-postgres client a session uses (a `pg.Client` or a pooled client). */
export type QueryableClient = Pick<pg.Client, 'query'>;

/**
 * Wraps `client` (configured with `rawTextTypes`, so values stay Postgres's text) as a session.
 * @returns a session whose errors are node-postgres's `DatabaseError`s, thrown as they arrive
 */
export function pgSession(client: QueryableClient): SqlSession {
  const query = async ({ query, params }: Statement): Promise<StatementResult> =>
    // queryMode 'extended' makes multi-statement strings fail here as they do on Neon.
    (await client.query({ text: query, values: params, rowMode: 'array', queryMode: 'extended' } as pg.QueryConfig)) as unknown as StatementResult;
  return {
    query,
    async transaction(statements: Statement[], options: BatchOptions): Promise<StatementResult[]> {
      await client.query(beginStatement(options));
      try {
        const results: StatementResult[] = [];
        for (const statement of statements) results.push(await query(statement));
        await client.query('COMMIT');
        return results;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      }
    },
  };
}
