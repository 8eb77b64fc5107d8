/**
 * The control Worker's HTTP routes as one Hono app, apart from the Worker entrypoint (index.ts) so
 * that route scenarios also run in-process: `controlApp.request(path, init, env, ctx)` in Node with
 * an injected `DB_OWNER` (test/helpers/in-process.ts). No `cloudflare:workers` import here.
 */
import { Hono } from 'hono';
import { onError, onNotFound } from '../shared/http.ts';
import type { Env } from './env.ts';
import { apiKeyRoutes } from './routes/api-keys.ts';
import { appRoutes } from './routes/apps.ts';
import { auditLogRoutes } from './routes/audit-logs.ts';
import { configRoutes } from './routes/config.ts';
import { platformRoutes } from './routes/platform.ts';
import { rlsRoutes } from './routes/rls.ts';
import { schemaRoutes } from './routes/schema.ts';

/** Every control route (API.md §2–§4, §12): apps, keys, config, audit logs, platform, RLS, schema. */
export const controlApp = new Hono<{ Bindings: Env }>();
controlApp.route('/', appRoutes);
controlApp.route('/', apiKeyRoutes);
controlApp.route('/', configRoutes);
controlApp.route('/', auditLogRoutes);
controlApp.route('/', platformRoutes);
controlApp.route('/', rlsRoutes);
controlApp.route('/', schemaRoutes);
controlApp.onError(onError);
controlApp.notFound(onNotFound);
