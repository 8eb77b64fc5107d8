/**
 * DbGateway: the only path to an app database (DESIGN.md "Data"), as two RPC entrypoints of the
 * data Worker with different reach:
 * - `DbGateway` hands out caller-scoped sessions (RpcTargets fixed to one app, role and user), for
 *   Workers that act for a caller (the data Worker's REST API itself, functions' `ctx.db`, the
 *   realtime hub). A session can never become owner, switch app, or change its role or user.
 * - `DbOwner` runs SQL as the database owner (DDL, bootstrap, platform-internal schemas). Only the
 *   control and auth Workers bind it (their wrangler.toml; test/deploy.build.test.ts checks it).
 */
import { RpcTarget, WorkerEntrypoint } from 'cloudflare:workers';
import type { DbCaller, DbGatewayRpc, DbOwnerRpc, DbSessionRpc, ExecuteOptions, SqlResult, SqlStatement } from '../shared/contracts.ts';
import { rpcResult, type RpcResult } from '../shared/rpc.ts';
import type { Env } from './env.ts';
import { checkStatements, commitListener, openSession, runAsOwner, upgradeApp, type CallerSession } from './execute.ts';
import { guardUserSql } from './user-sql.ts';

/** A caller-scoped session (see {@link DbSessionRpc}); the caller is private and fixed at construction. */
export class DbSession extends RpcTarget implements DbSessionRpc {
  readonly #session: CallerSession;

  constructor(env: Env, ctx: ExecutionContext, caller: unknown, userSql = false) {
    super();
    this.#session = openSession(env, caller, commitListener(env, ctx), userSql ? guardUserSql : undefined);
  }

  /** See {@link DbSessionRpc.caller}. @throws Error when the session was made with a malformed caller. */
  async caller(): Promise<DbCaller> {
    try {
      return this.#session.caller();
    } catch (error) {
      throw new Error((error as Error).message);
    }
  }

  /** See {@link DbSessionRpc.execute}. Extra arguments are ignored; only statements and options are read. */
  execute(statements: SqlStatement[], options?: ExecuteOptions): Promise<RpcResult<SqlResult[]>> {
    return rpcResult(() => this.#session.execute(statements, options));
  }
}

/** The caller-scoped entrypoint other Workers bind to (`entrypoint = "DbGateway"`). */
export class DbGateway extends WorkerEntrypoint<Env> implements DbGatewayRpc {
  /** See {@link DbGatewayRpc.session}. */
  session(caller: DbCaller): DbSession {
    return new DbSession(this.env, this.ctx, caller);
  }

  /** See {@link DbGatewayRpc.userSession}: like `session`, and every statement passes the user-SQL guard first. */
  userSession(caller: DbCaller): DbSession {
    return new DbSession(this.env, this.ctx, caller, true);
  }
}

/** The owner entrypoint, bound only by control and auth (`entrypoint = "DbOwner"`). */
export class DbOwner extends WorkerEntrypoint<Env> implements DbOwnerRpc {
  /**
   * See {@link DbOwnerRpc.execute}. A malformed app id → APP_NOT_FOUND; a malformed statement list →
   * VALIDATION_* naming the field.
   */
  execute(appId: string, statements: SqlStatement[]): Promise<RpcResult<SqlResult[]>> {
    return rpcResult(() => runAsOwner(this.env, String(appId), checkStatements(statements)));
  }

  /** See {@link DbOwnerRpc.upgrade}. */
  upgrade(appId: string): Promise<RpcResult<{ applied: string[]; version: number }>> {
    return rpcResult(() => upgradeApp(this.env, String(appId)));
  }
}
