/**
 * The RPC contracts between Workers. A Worker never imports another Worker's folder; it types its
 * service binding with these interfaces (`Fetcher & ControlRpc`) and the callee implements them.
 */
import { z } from 'zod';
import type { AuditEntry } from './audit.ts';
import type { Principal } from './principal.ts';
import type { RpcResult } from './rpc.ts';
import { accessModes, provisioningStatuses } from './schemas/enums.ts';

/** What the router needs to know about an app to gate a request (one control RPC per request). */
export const appGate = z.object({
  id: z.string(),
  accountId: z.string(),
  name: z.string(),
  provisioningStatus: z.enum(provisioningStatuses),
  paused: z.boolean(),
  pausedReason: z.string().nullable(),
  allowedOrigins: z.array(z.string()),
  accessMode: z.enum(accessModes),
  rateLimitPerMinute: z.number().int().positive(),
});
export type AppGate = z.infer<typeof appGate>;

/** Input of {@link ControlRpc.resolveGate}. */
export interface GateRequest {
  /** The app named by the path, if any. */
  appId: string | null;
  /** The bearer token, if any (without the `Bearer ` prefix). */
  bearer: string | null;
}

/** Output of {@link ControlRpc.resolveGate}. */
export interface GateResult {
  principal: Principal;
  /** null when the path names no app or the app does not exist. */
  app: AppGate | null;
}

/** RPC surface of the control Worker used by the router and other Workers. */
export interface ControlRpc {
  /** Resolves the caller and the app in one round trip (API.md §1.2). */
  resolveGate(input: GateRequest): Promise<RpcResult<GateResult>>;
  /** Checks the control-plane database answers (`/health/ready`). */
  ping(): Promise<RpcResult<{ databaseMs: number }>>;
  /**
   * Writes one audit entry (API.md §2 audit-logs) for a change whose route does not reach the control
   * Worker itself: the data Worker's MCP-tool writes (workers/data/audit.ts). Only trusted Workers
   * bind it (data); they take `appId` from the router's gate, never from a client. In:
   * {@link AuditEntry} (checked with `auditEntry`). Out: `null`. A failed write is logged by the
   * control Worker, never raised; a malformed entry → VALIDATION_*.
   */
  recordAudit(entry: AuditEntry): Promise<RpcResult<null>>;
}

/** The role a DbGateway batch runs under (API.md §1.2, §4). `owner` is for trusted platform Workers only. */
export type DbRole = 'anon' | 'user' | 'service' | 'owner';

/** One parameterised statement. */
export interface SqlStatement {
  query: string;
  params?: unknown[];
}

/** Who a DbGateway batch runs as. */
export interface DbCaller {
  appId: string;
  role: DbRole;
  /** The end user's id (`request.jwt.claim.sub`); required for role `user`. */
  userId?: string | null;
}

/** One statement's result: rows as objects of JSON-safe values, plus the affected row count. */
export interface SqlResult {
  rows: Record<string, unknown>[];
  rowCount: number;
  fields: { name: string; dataTypeID: number }[];
}

/** RPC surface of DbGateway (data Worker): the only path to an app database. */
export interface DbGatewayRpc {
  /**
   * Runs statements in one transaction under the caller's role, with `request.jwt.claim.sub` set.
   * Errors come back as §1.4 codes (SQLSTATE mapped).
   */
  execute(caller: DbCaller, statements: SqlStatement[]): Promise<RpcResult<SqlResult[]>>;
  /** Applies the bundled app bootstrap migrations (idempotent). */
  bootstrap(appId: string): Promise<RpcResult<{ applied: string[] }>>;
}
