/**
 * The functions Worker's HTTP routes (API.md §8: invocation, webhooks, deploy and management) as one
 * Hono app, apart from the Worker entrypoint (index.ts), so route scenarios can also run in-process:
 * `functionsApp.request(path, init, env, ctx)` with injected bindings. No `cloudflare:workers` import
 * here; running user code needs the Worker Loader, so invocations stay black-box tests.
 */
import { Hono } from 'hono';
import { onError, onNotFound } from '../shared/http.ts';
import type { Env } from './env.ts';
import { invokeRoutes } from './routes/invoke.ts';
import { manageRoutes } from './routes/manage.ts';
import { webhookRoutes } from './routes/webhook.ts';

/** Invocation (`/v1/{app}/fn/{name}`), webhooks and the management routes. */
export const functionsApp = new Hono<{ Bindings: Env }>();
functionsApp.route('/', invokeRoutes);
functionsApp.route('/', webhookRoutes);
functionsApp.route('/', manageRoutes);
functionsApp.onError(onError);
functionsApp.notFound(onNotFound);
