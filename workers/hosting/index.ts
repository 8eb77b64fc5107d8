/**
 * The hosting Worker (API.md §10, DESIGN.md "User code"): app-host requests (marked by the router
 * with x-bb-app-host) are served from the app's active static deployment or its Durable Objects;
 * everything else is an owner route under /v1/{app_id}/frontend, /durable-objects or
 * /custom-domains. UserObjectHost hosts the user Durable Object classes.
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import { Hono } from 'hono';
import type { HostingRpc } from '../shared/contracts.ts';
import { rpcResult, type RpcResult } from '../shared/rpc.ts';
import { ApiError } from '../shared/errors.ts';
import { decodeAppGate, errorResponse, onError, onNotFound } from '../shared/http.ts';
import { internalHeaders } from '../shared/principal.ts';
import type { Env } from './env.ts';
import { customDomainRoutes, resolveCustomHostname } from './routes/custom-domains.ts';
import { durableObjectRoutes } from './routes/durable-objects.ts';
import { frontendRoutes } from './routes/frontend.ts';
import { serveAppHost } from './routes/site.ts';

export { UserObjectHost } from '../../durable-objects/user-object-host.ts';

const app = new Hono<{ Bindings: Env }>();
app.route('/', frontendRoutes);
app.route('/', durableObjectRoutes);
app.route('/', customDomainRoutes);
app.onError(onError);
app.notFound(onNotFound);

export default class HostingWorker extends WorkerEntrypoint<Env> implements HostingRpc {
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.has(internalHeaders.appHost)) {
      const gate = decodeAppGate(request.headers.get(internalHeaders.app));
      if (!gate) return errorResponse(new ApiError('APP_NOT_FOUND', 'No app is served here.'), request.headers.get(internalHeaders.requestId) ?? 'unknown');
      try {
        return await serveAppHost(this.env, this.ctx, request, gate);
      } catch (error) {
        return errorResponse(error, request.headers.get(internalHeaders.requestId) ?? 'unknown');
      }
    }
    return app.fetch(request, this.env, this.ctx);
  }

  /** See {@link HostingRpc.resolveHostname}. */
  resolveHostname(host: string): Promise<RpcResult<{ subdomain: string | null }>> {
    return rpcResult(async () => ({ subdomain: await resolveCustomHostname(this.env, host) }));
  }
}
