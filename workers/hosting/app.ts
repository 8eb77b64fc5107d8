/**
 * The hosting Worker's owner routes (API.md §10: frontend and Edge SSR deployments, Durable Object
 * classes, custom domains) as one Hono app, apart from the Worker entrypoint (index.ts), which also
 * serves app hosts. The custom-domain routes import no workerd-only module and run in-process in tests
 * (test/helpers/in-process.ts); the others reach R2, the Worker Loader and Durable Objects.
 */
import { Hono } from 'hono';
import { onError, onNotFound } from '../shared/http.ts';
import type { Env } from './env.ts';
import { customDomainRoutes } from './routes/custom-domains.ts';
import { durableObjectRoutes } from './routes/durable-objects.ts';
import { edgeSsrRoutes, frontendRoutes } from './routes/frontend.ts';

/** Every owner route of hosting. */
export const hostingApp = new Hono<{ Bindings: Env }>();
hostingApp.route('/', frontendRoutes);
hostingApp.route('/', edgeSsrRoutes);
hostingApp.route('/', durableObjectRoutes);
hostingApp.route('/', customDomainRoutes);
hostingApp.onError(onError);
hostingApp.notFound(onNotFound);
