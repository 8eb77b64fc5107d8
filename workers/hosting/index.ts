/**
 * The hosting Worker (API.md §10, DESIGN.md "User code"): app-host requests (marked by the router
 * with x-bb-app-host) are served from the app's active deployment (a static site or an Edge SSR
 * bundle) or its Durable Objects; everything else is an owner route under /v1/{app_id}/frontend,
 * /edge-ssr, /durable-objects or /custom-domains. UserObjectHost hosts the user Durable Object
 * classes; SsrAssets and SsrOutbound are the ASSETS binding and the egress policy of SSR bundles;
 * DoInvoker is the functions Worker's way to the app's classes (ctx.invokeDO). The queue consumer
 * purges deleted apps (services/app-purge.ts).
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import { appPurgeMessage, type DurableObjectCall, type DurableObjectInvokeRpc, type HostingRpc } from '../shared/contracts.ts';
import { rpcResult, type RpcResult } from '../shared/rpc.ts';
import { ApiError } from '../shared/errors.ts';
import { decodeAppGate, errorResponse } from '../shared/http.ts';
import { internalHeaders } from '../shared/principal.ts';
import { egressFetch } from '../shared/egress.ts';
import { hostingApp } from './app.ts';
import type { Env } from './env.ts';
import { resolveCustomHostname } from './routes/custom-domains.ts';
import { serveAppHost } from './routes/site.ts';
import { purgeApp } from './services/app-purge.ts';
import { invokeDurableObject } from './services/do-invoke.ts';
import { loadManifest, serveSite } from './services/serve.ts';
import type { SsrProps } from './services/ssr.ts';
import { verifyAssetsGrant, type SsrAssetsProps } from './services/ssr-grant.ts';

export { UserObjectHost } from '../../durable-objects/user-object-host.ts';

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
    return hostingApp.fetch(request, this.env, this.ctx);
  }

  /**
   * The consumer of `butterbase-app-purge` (workers/hosting/wrangler.toml): each message is one
   * step of a deleted app's purge ({@link purgeApp}); its counts are logged. A message that fails is
   * retried with backoff (max_retries); one that is malformed is logged and dropped.
   */
  override async queue(batch: MessageBatch<unknown>): Promise<void> {
    for (const message of batch.messages) {
      const parsed = appPurgeMessage.safeParse(message.body);
      if (!parsed.success) {
        console.error(`[hosting] malformed ${batch.queue} message ${message.id} dropped: ${JSON.stringify(message.body).slice(0, 300)}`);
        message.ack();
        continue;
      }
      try {
        const r = await purgeApp(this.env, parsed.data);
        console.log(`[hosting] purged app ${r.appId}: ${r.siteObjects} site objects, ${r.instances} Durable Object instances (${r.keys} keys, ${r.tables} tables), ${r.scripts} dispatch scripts${r.scriptsNotOnWfp ? ` (${r.scriptsNotOnWfp} script names skipped: not on Workers for Platforms)` : ''}${r.continued ? ' (continuing)' : ''}`);
        message.ack();
      } catch (error) {
        console.error(`[hosting] purge of app ${parsed.data.appId} failed (attempt ${message.attempts}): ${error instanceof ApiError ? `${error.message} ${error.internal ?? ''}` : String(error)}`);
        message.retry({ delaySeconds: Math.min(60, 2 ** message.attempts) });
      }
    }
  }

  /** See {@link HostingRpc.resolveHostname}. */
  resolveHostname(host: string): Promise<RpcResult<{ subdomain: string | null }>> {
    return rpcResult(async () => ({ subdomain: await resolveCustomHostname(this.env, host) }));
  }
}

/**
 * ctx.invokeDO's way in (API.md §8.3), bound only by the functions Worker (`DURABLE_OBJECTS`): see
 * {@link DurableObjectInvokeRpc}. The method is RPC, but the host object is reached with a fetch, as
 * the `/_do` edge does (a facet started inside an RPC call into UserObjectHost trips a workerd assertion).
 */
export class DoInvoker extends WorkerEntrypoint<Env> implements DurableObjectInvokeRpc {
  /** See {@link DurableObjectInvokeRpc.invoke}; services/do-invoke.ts does the work. */
  invoke(call: DurableObjectCall): Promise<RpcResult<Response>> {
    return rpcResult(() => invokeDurableObject(this.env, this.ctx, call));
  }
}

/**
 * The `ASSETS` binding of an Edge SSR bundle (Cloudflare Pages' `env.ASSETS.fetch(request)`): serves
 * the files of deployment `props.deploymentId` with the static serving rules (services/serve.ts:
 * types, ETag/304, caching, ranges, `_headers`, `404.html`). Fixed to one deployment by its props —
 * set per load (Worker Loader) or in the uploaded script's binding (Workers for Platforms) — which
 * must carry the hosting Worker's grant for exactly that app and deployment (services/ssr-grant.ts);
 * anything else is 403 and serves nothing.
 */
export class SsrAssets extends WorkerEntrypoint<Env, SsrAssetsProps> {
  override async fetch(request: Request): Promise<Response> {
    const granted = await verifyAssetsGrant(this.ctx.props, this.env.PLATFORM_MASTER_KEY);
    if (!granted) {
      console.error('[hosting] ASSETS call refused: its binding props are not signed for its deployment');
      return new Response('This ASSETS binding is not valid for any deployment.', { status: 403, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    }
    const { appId, deploymentId } = granted;
    const manifest = await loadManifest(this.env, appId, deploymentId);
    if (!manifest) return new Response('Not Found', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    return serveSite(this.env, request, appId, manifest);
  }
}

/**
 * The egress policy of Edge SSR bundles under the Worker Loader (its `globalOutbound`; on Workers for
 * Platforms the namespace's outbound Worker, workers/functions-outbound, applies it), the same as functions'
 * (workers/shared/egress.ts): the platform's public API goes to the router internally; private,
 * loopback, link-local and internal hosts are refused with 403; the rest goes out. Logged per app
 * and deployment.
 */
export class SsrOutbound extends WorkerEntrypoint<Env, SsrProps> {
  override fetch(request: Request): Promise<Response> {
    const { appId, deploymentId } = this.ctx.props;
    return egressFetch(request, this.env, { appId, functionName: `ssr:${deploymentId}` });
  }
}
