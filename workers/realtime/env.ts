import type { RealtimeHub } from '../../durable-objects/realtime-hub.ts';
import type { ControlRpc, DbGatewayRpc, FunctionEventRpc } from '../shared/contracts.ts';
import type { HubVars } from './services/hubs.ts';

/**
 * Bindings of the realtime Worker (workers/realtime/wrangler.toml); the RealtimeHub objects share them.
 * The hub limits' vars (`REALTIME_*`) are {@link HubVars}.
 */
export interface Env extends HubVars {
  /** Caller-scoped database sessions (role service for the change feed, anon/user for RLS checks). */
  DB_GATEWAY: Fetcher & DbGatewayRpc;
  /** Audit entries of configure/disable; the hubs' app-state checks (paused, deleted, access mode). */
  CONTROL: Fetcher & ControlRpc;
  /** The hubs: `{app_id}:{k}` for k in 0..REALTIME_HUBS_PER_APP-1. */
  REALTIME_HUB: DurableObjectNamespace<RealtimeHub>;
  /** The functions Worker, when deployed: runs websocket-triggered functions (`event` messages). */
  FUNCTIONS?: Fetcher & FunctionEventRpc;
  /** Public API base URL for `websocket_url` (default: the request's origin). */
  PUBLIC_API_URL?: string;
}
