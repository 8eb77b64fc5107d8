/**
 * The hosting Worker (API.md §10, DESIGN.md "User code"): app-host requests (marked by the router
 * with x-bb-app-host) are served from the app's active static deployment or its Durable Objects;
 * everything else is an owner route under /v1/{app_id}/frontend, /durable-objects or
 * /custom-domains. UserObjectHost hosts the user Durable Object classes.
 */
import { Hono } from 'hono';
import { ApiError } from '../shared/errors.ts';
import { decodeAppGate, errorResponse, onError, onNotFound } from '../shared/http.ts';
import { internalHeaders } from '../shared/principal.ts';
import type { Env } from './env.ts';
import { durableObjectRoutes } from './routes/durable-objects.ts';
import { frontendRoutes } from './routes/frontend.ts';
import { serveAppHost } from './routes/site.ts';

export { UserObjectHost } from '../../durable-objects/user-object-host.ts';

const app = new Hono<{ Bindings: Env }>();
app.route('/', frontendRoutes);
app.route('/', durableObjectRoutes);
for (const segment of ['custom-domains']) {
  app.all(`/v1/:app/${segment}/*`, () => {
    throw new ApiError('FEATURE_NOT_AVAILABLE', `The ${segment} API is not available on this deployment yet.`);
  });
  app.all(`/v1/:app/${segment}`, () => {
    throw new ApiError('FEATURE_NOT_AVAILABLE', `The ${segment} API is not available on this deployment yet.`);
  });
}
app.onError(onError);
app.notFound(onNotFound);

export default {
  async fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    if (request.headers.has(internalHeaders.appHost)) {
      const gate = decodeAppGate(request.headers.get(internalHeaders.app));
      if (!gate) return errorResponse(new ApiError('APP_NOT_FOUND', 'No app is served here.'), request.headers.get(internalHeaders.requestId) ?? 'unknown');
      try {
        return await serveAppHost(env, ctx, request, gate);
      } catch (error) {
        return errorResponse(error, request.headers.get(internalHeaders.requestId) ?? 'unknown');
      }
    }
    return app.fetch(request, env, ctx);
  },
} satisfies ExportedHandler<Env>;
