/**
 * The data Worker's HTTP routes (the REST API of API.md §5) as one Hono app, apart from the Worker
 * entrypoint (index.ts), so route scenarios also run in-process in Node:
 * `dataApp.request(path, init, env, ctx)` (test/helpers/in-process.ts). No `cloudflare:workers` import.
 */
import { Hono } from 'hono';
import { onError, onNotFound } from '../shared/http.ts';
import type { Env } from './env.ts';
import { restRoutes } from './routes/rest.ts';

/** The REST routes over app tables. */
export const dataApp = new Hono<{ Bindings: Env }>();
dataApp.route('/', restRoutes);
dataApp.onError(onError);
dataApp.notFound(onNotFound);
