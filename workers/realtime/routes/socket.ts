/**
 * Route: the realtime WebSocket, GET /v1/:app/realtime (API.md §9). Resolves the socket's role and
 * hands the upgrade to one of the app's hubs. A refused socket opens, gets `{type:"error"}` and closes
 * (1008 auth failed / required, 1013 not ready).
 */
import { Hono } from 'hono';
import { ApiError, toApiError } from '../../shared/errors.ts';
import { appGateOf, principalOf } from '../../shared/http.ts';
import { isWebSocketUpgrade, websocketRefusal } from '../../shared/websocket.ts';
import type { ConnectRequest } from '../../../durable-objects/realtime-hub.ts';
import { socketCaller } from '../caller.ts';
import type { Env } from '../env.ts';
import { parseSince } from '../protocol.ts';
import { hubLimits, hubName, shardFor } from '../services/hubs.ts';

/** The WebSocket route, mounted by the realtime Worker. */
export const socketRoutes = new Hono<{ Bindings: Env }>();

socketRoutes.get('/v1/:app/realtime', async (c) => {
  if (!isWebSocketUpgrade(c.req.raw)) {
    throw new ApiError('VALIDATION_INVALID_SCHEMA', `GET /v1/${c.req.param('app')}/realtime is a WebSocket endpoint.`, {
      remediation: 'Connect with a WebSocket client (ws:// or wss://, Upgrade: websocket); browsers pass the token as ?token=.',
    });
  }
  const appId = c.req.param('app');
  let connect: ConnectRequest;
  try {
    const caller = socketCaller(appId, principalOf(c), appGateOf(c));
    const since = parseSince(c.req.query('since') ?? undefined);
    if (since === undefined) {
      throw new ApiError('VALIDATION_INVALID_SCHEMA', 'Invalid "since" query parameter: expected a change id (a non-negative integer).');
    }
    const shards = hubLimits(c.env).shards;
    const userId = caller.userId ?? null;
    connect = { appId, role: caller.role, userId, clientId: crypto.randomUUID(), since, shard: shardFor(caller.role, userId, shards), shards };
  } catch (error) {
    const apiError = toApiError(error);
    return websocketRefusal(apiError, apiError.status === 400 ? 1008 : undefined);
  }
  const hub = c.env.REALTIME_HUB.get(c.env.REALTIME_HUB.idFromName(hubName(appId, connect.shard)));
  const headers = new Headers({ upgrade: 'websocket', 'x-bb-realtime': JSON.stringify(connect) });
  return hub.fetch(new Request(c.req.url, { headers }));
});
