/**
 * The guard DbGateway's user sessions run before executing (see sql-guard.ts for the rules).
 */
import type { SqlStatement } from '../shared/contracts.ts';
import { ApiError } from '../shared/errors.ts';
import { parseSql, PgSyntaxError } from './pg-parser.ts';
import { userSqlRefusal } from './sql-guard.ts';

/**
 * Parses each statement and refuses the whole list when one may not run as user SQL.
 * @throws ApiError VALIDATION_SQL_REFUSED naming the reason (`details: { statement_index, reason }`), or
 *   the syntax error (`details: { statement_index, position }`); nothing has run.
 */
export async function guardUserSql(statements: SqlStatement[]): Promise<void> {
  for (const [index, statement] of statements.entries()) {
    let tree: { stmts?: unknown[] };
    try {
      tree = await parseSql(statement.query);
    } catch (error) {
      if (!(error instanceof PgSyntaxError)) throw error;
      throw new ApiError('VALIDATION_SQL_REFUSED', `The SQL does not parse: ${error.message}.`, {
        remediation: 'Fix the SQL syntax at details.position (0-based) and retry.',
        details: { statement_index: index, position: error.position },
      });
    }
    const reason = userSqlRefusal(tree);
    if (reason) {
      throw new ApiError('VALIDATION_SQL_REFUSED', `Refused: ${reason}. Nothing was executed.`, { details: { statement_index: index, reason } });
    }
  }
}
