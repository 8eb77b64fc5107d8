/**
 * The storage Worker's HTTP routes (API.md §7, and the local S3 endpoint) as one Hono app, apart
 * from the Worker entrypoint (index.ts), so route scenarios also run in-process in Node:
 * `storageApp.request(path, init, env, ctx)` with injected bindings (test/helpers/in-process.ts).
 */
import { Hono } from 'hono';
import { onError, onNotFound } from '../shared/http.ts';
import type { Env } from './env.ts';
import { objectRoutes } from './routes/objects.ts';
import { uploadRoutes } from './routes/uploads.ts';
import { serveS3 } from './s3/endpoint.ts';

/** The storage API routes (uploads, objects) and, when S3_LOCAL_ENDPOINT is true, the local S3 endpoint. */
export const storageApp = new Hono<{ Bindings: Env }>();
storageApp.all('/s3/*', (c) => (c.env.S3_LOCAL_ENDPOINT === 'true' ? serveS3(c.req.raw, c.env, c.executionCtx) : c.notFound()));
storageApp.route('/', uploadRoutes);
storageApp.route('/', objectRoutes);
storageApp.onError(onError);
storageApp.notFound(onNotFound);
