/**
 * The realtime Worker's HTTP routes (API.md §9: the socket upgrade and the owner config routes) as
 * one Hono app, apart from the Worker entrypoint (index.ts), so route scenarios also run in-process in Node:
 * `realtimeApp.request(path, init, env, ctx)` with injected bindings (test/helpers/in-process.ts).
 */
import { Hono } from 'hono';
import { onError, onNotFound } from '../shared/http.ts';
import type { Env } from './env.ts';
import { configRoutes } from './routes/config.ts';
import { socketRoutes } from './routes/socket.ts';

/** The socket upgrade at /v1/{app_id}/realtime and the owner config routes. */
export const realtimeApp = new Hono<{ Bindings: Env }>();
realtimeApp.route('/', socketRoutes);
realtimeApp.route('/', configRoutes);
realtimeApp.onError(onError);
realtimeApp.notFound(onNotFound);
