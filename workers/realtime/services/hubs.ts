/**
 * Which hub a socket goes to, and the hubs' limits (workers/realtime/wrangler.toml vars). An app has
 * K hubs (`REALTIME_HUBS_PER_APP`, default 1) named `{app_id}:{k}`: an end user's sockets share one
 * hub (a hash of the user id), so their RLS checks group; anonymous and service sockets spread at
 * random. Each hub reads the change feed itself; presence is merged across them.
 */
import type { DbRole } from '../../shared/contracts.ts';

/** Limits and intervals of a hub, in their units. */
export interface HubLimits {
  shards: number;
  maxConnectionsPerApp: number;
  maxMessageBytes: number;
  maxSubscriptions: number;
  maxMessagesPerSecond: number;
  pollIntervalMs: number;
  heartbeatIntervalMs: number;
  appCheckIntervalMs: number;
}

/** The subset of the realtime Worker's vars the limits come from. */
export interface HubVars {
  REALTIME_HUBS_PER_APP?: string;
  REALTIME_MAX_CONNECTIONS_PER_APP?: string;
  REALTIME_MAX_MESSAGE_BYTES?: string;
  REALTIME_MAX_SUBSCRIPTIONS?: string;
  REALTIME_MAX_MESSAGES_PER_SECOND?: string;
  REALTIME_POLL_INTERVAL_MS?: string;
  REALTIME_HEARTBEAT_INTERVAL_MS?: string;
  REALTIME_APP_CHECK_INTERVAL_MS?: string;
}

function positive(value: string | undefined, fallback: number): number {
  const parsed = Number(value);
  return Number.isFinite(parsed) && parsed > 0 ? Math.floor(parsed) : fallback;
}

/** The limits from the vars; a missing or invalid var takes its default. */
export function hubLimits(vars: HubVars): HubLimits {
  return {
    shards: positive(vars.REALTIME_HUBS_PER_APP, 1),
    maxConnectionsPerApp: positive(vars.REALTIME_MAX_CONNECTIONS_PER_APP, 5000),
    maxMessageBytes: positive(vars.REALTIME_MAX_MESSAGE_BYTES, 16_384),
    maxSubscriptions: positive(vars.REALTIME_MAX_SUBSCRIPTIONS, 50),
    maxMessagesPerSecond: positive(vars.REALTIME_MAX_MESSAGES_PER_SECOND, 50),
    pollIntervalMs: positive(vars.REALTIME_POLL_INTERVAL_MS, 2000),
    heartbeatIntervalMs: positive(vars.REALTIME_HEARTBEAT_INTERVAL_MS, 30_000),
    appCheckIntervalMs: positive(vars.REALTIME_APP_CHECK_INTERVAL_MS, 5000),
  };
}

/** The Durable Object name of hub `shard` of an app. */
export function hubName(appId: string, shard: number): string {
  return `${appId}:${shard}`;
}

/** FNV-1a, 32 bits: a stable spread of user ids over the hubs. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The hub a socket of (role, user) goes to, out of `shards`. */
export function shardFor(role: DbRole, userId: string | null, shards: number, random: () => number = Math.random): number {
  if (shards <= 1) return 0;
  if (role === 'user' && userId) return hash(userId) % shards;
  return Math.floor(random() * shards) % shards;
}
