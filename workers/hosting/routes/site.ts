/**
 * The app host (`{subdomain}.{apps domain}`, locally `{subdomain}.localhost:{port}`; API.md §1.1,
 * §10): `/_do/{name}/{instance}` goes to the app's Durable Object classes, everything else to its
 * active deployment — a static site, or an Edge SSR bundle (services/ssr.ts). The router has resolved the app (x-bb-app) and the caller (x-bb-principal).
 */
import type { AppGate } from '../../shared/contracts.ts';
import { decodePrincipal, internalHeaders } from '../../shared/principal.ts';
import type { Env } from '../env.ts';
import { servingDeploymentId } from '../services/deployments.ts';
import { loadManifest, serveSite } from '../services/serve.ts';
import { serveSsr, type HostingExecutionContext } from '../services/ssr.ts';
import { serveDurableObject } from './durable-objects-edge.ts';

/** Answers one app-host request for `app`. Never throws for a missing site: that is a 404 page. */
export async function serveAppHost(env: Env, ctx: ExecutionContext, request: Request, app: AppGate): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === '/_do' || url.pathname.startsWith('/_do/')) {
    return serveDurableObject(env, ctx, request, app, decodePrincipal(request.headers.get(internalHeaders.principal)));
  }
  const deploymentId = await servingDeploymentId(env, app.id);
  const manifest = deploymentId ? await loadManifest(env, app.id, deploymentId) : null;
  if (!manifest) return noSitePage(app);
  if (manifest.worker) return serveSsr(env, ctx as HostingExecutionContext, request, app.id, { ...manifest, worker: manifest.worker });
  return serveSite(env, request, app.id, manifest);
}

function noSitePage(app: AppGate): Response {
  const escape = (value: string) => value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const title = `${app.name} has no site yet`;
  const body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title></head><body><h1>${escape(title)}</h1><p>The app ${escape(app.name)} (${escape(app.id)}) has no site deployed yet.</p></body></html>`;
  return new Response(body, { status: 404, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' } });
}
