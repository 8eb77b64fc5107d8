/**
 * The realtime Worker (API.md §9, DESIGN.md "Realtime"): the WebSocket at /v1/{app_id}/realtime and
 * its owner config routes over HTTP from the router, plus the after-commit RPC the data Worker calls
 * (`committed`), which pokes the app's hubs. The hubs are RealtimeHub Durable Objects.
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import type { CommitListenerRpc, CommittedWrite } from '../shared/contracts.ts';
import type { Env } from './env.ts';
import { hubLimits, hubName } from './services/hubs.ts';
import { realtimeApp } from './app.ts';

export { RealtimeHub } from '../../durable-objects/realtime-hub.ts';

export default class RealtimeWorker extends WorkerEntrypoint<Env> implements CommitListenerRpc {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(realtimeApp.fetch(request, this.env, this.ctx));
  }

  /**
   * See {@link CommitListenerRpc.committed}: pokes every hub of the app, which polls the change feed
   * at once when one of its sockets listens to a changed table. A failure is logged, never raised.
   */
  async committed(write: CommittedWrite): Promise<void> {
    const shards = hubLimits(this.env).shards;
    const pokes = Array.from({ length: shards }, (_, k) =>
      this.env.REALTIME_HUB.get(this.env.REALTIME_HUB.idFromName(hubName(write.appId, k))).poke(write.tables));
    for (const outcome of await Promise.allSettled(pokes)) {
      if (outcome.status === 'rejected') console.error(`[realtime] poke of ${write.appId} failed: ${String(outcome.reason)}`);
    }
  }
}
