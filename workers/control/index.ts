/**
 * The control Worker: the platform API (accounts' keys, apps, config, audit logs) over HTTP from the
 * router, plus the RPC the router calls on every request (`resolveGate`).
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import { auditEntry, type AuditEntry } from '../shared/audit.ts';
import type { ControlRpc, GateRequest, GateResult, TickInput } from '../shared/contracts.ts';
import { rpcResult, type RpcResult } from '../shared/rpc.ts';
import { zodToApiError } from '../shared/validation.ts';
import { sql } from 'drizzle-orm';
import { controlApp } from './app.ts';
import { controlDb } from './db.ts';
import type { Env } from './env.ts';
import { purgeAppDatabases } from './services/housekeeping.ts';
import { recordAudit } from './services/audit.ts';
import { resolveGate } from './services/gate.ts';
import { resumeStalledProvisioning } from './services/provisioning.ts';
import { upgradeBehindApps } from './services/upgrades.ts';

export default class ControlWorker extends WorkerEntrypoint<Env> implements ControlRpc {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(controlApp.fetch(request, this.env, this.ctx));
  }

  /** See {@link ControlRpc.resolveGate}. */
  resolveGate(input: GateRequest): Promise<RpcResult<GateResult>> {
    return rpcResult(() => resolveGate(this.env, this.ctx, input));
  }

  /** See {@link ControlRpc.ping}. */
  ping(): Promise<RpcResult<{ databaseMs: number }>> {
    return rpcResult(async () => {
      const startedMs = Date.now();
      await controlDb(this.env).execute(sql`SELECT 1`);
      return { databaseMs: Date.now() - startedMs };
    });
  }

  /**
   * See {@link ScheduledRpc.tick}: upgrades app databases behind the bundled bootstrap version and
   * resumes stalled provisioning; once an hour purges expired rows of app databases
   * (services/housekeeping.ts). Out: `{ upgraded, resumed, purgedApps, purgedRows, failedApps }`.
   */
  tick(input: TickInput): Promise<RpcResult<Record<string, unknown>>> {
    return rpcResult(async () => ({
      ...(await upgradeBehindApps(this.env)),
      ...(await resumeStalledProvisioning(this.env)),
      ...(await purgeAppDatabases(this.env, Number.isFinite(input?.scheduledTimeMs) ? input.scheduledTimeMs : Date.now())),
    }));
  }

  /**
   * See {@link ControlRpc.recordAudit}. The entry is checked against `auditEntry` first (a malformed
   * one → VALIDATION_* naming the field); its text may hold anything, the writer makes it storable.
   */
  recordAudit(entry: AuditEntry): Promise<RpcResult<null>> {
    return rpcResult(async () => {
      const parsed = auditEntry.safeParse(entry);
      if (!parsed.success) throw zodToApiError(parsed.error, entry, 'audit entry');
      await recordAudit(this.env, parsed.data);
      return null;
    });
  }
}
