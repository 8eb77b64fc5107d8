/**
 * URL → what the router does (API.md §1.1 hosts and path families). Pure, so it is unit-tested on
 * its own. The API host is routed by path; app hosts (`{subdomain}.{apps domain}`, locally
 * `{subdomain}.localhost:{port}`) go to the app's site.
 */
import { workerSpec, type RouterTarget, type WorkerName } from '../registry.ts';
import { isDataPlane, reservedSegment } from '../shared/reserved-segments.ts';
import { appIdPattern } from '../shared/validation.ts';

/** What the router does with a request. */
export type RouteDecision =
  | { kind: 'health'; ready: boolean }
  | { kind: 'forward'; target: RouterTarget; appId: string | null; family: Family; dataPlane: boolean }
  | { kind: 'unavailable'; feature: string; appId: string | null; family: Family; dataPlane: boolean }
  | { kind: 'app_host'; subdomain: string }
  /** The local S3-compatible endpoint (`/s3/{bucket}/{key}`): SigV4-signed, no Butterbase bearer. */
  | { kind: 'object_store'; target: RouterTarget }
  | { kind: 'not_found' };

/** Path families: `app` = `/v1/{app_id}/…` and `/storage/{app_id}/…`, `auth` = `/auth/{app_id}/…`, `platform` = the rest. */
export type Family = 'app' | 'auth' | 'platform';

/** Host labels under the apps domain that never name an app (the API and platform hosts). */
export const reservedSubdomains = new Set(['api', 'www', 'mcp', 'admin', 'app', 'apps', 'auth', 'dashboard', 'docs', 'status', 'cdn', 'static', 'mail']);

const subdomainLabel = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Where the router's hosts are. */
export interface HostConfig {
  /** Apps are served on `{subdomain}.{appsDomain}` (e.g. `butterbase.dev`; locally `localhost`). */
  appsDomain: string;
}

function forward(worker: WorkerName, appId: string | null, family: Family, dataPlane: boolean): RouteDecision {
  return { kind: 'forward', target: workerSpec(worker).routerBinding as RouterTarget, appId, family, dataPlane };
}

/**
 * The app subdomain a Host names, or null for the API host. `Host` may carry a port; letters are
 * compared case-insensitively. `{x}.{appsDomain}` with a single, valid, unreserved label is an app host.
 */
export function appSubdomainOf(host: string | null, hosts: HostConfig): string | null {
  if (!host || !hosts.appsDomain) return null;
  const hostname = host.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  const suffix = `.${hosts.appsDomain.toLowerCase()}`;
  if (!hostname.endsWith(suffix)) return null;
  const label = hostname.slice(0, -suffix.length);
  if (!subdomainLabel.test(label) || reservedSubdomains.has(label)) return null;
  return label;
}

/** Classifies a request by its Host and path. */
export function classify(url: URL, host: string | null, hosts: HostConfig): RouteDecision {
  const subdomain = appSubdomainOf(host ?? url.host, hosts);
  if (subdomain) return { kind: 'app_host', subdomain };
  return classifyPath(url.pathname);
}

/** Classifies a path on the API host. */
export function classifyPath(pathname: string): RouteDecision {
  const parts = pathname.split('/').filter(Boolean);
  const [first, second, third] = parts;
  if (first === 'health' && parts.length === 1) return { kind: 'health', ready: false };
  if (first === 'health' && second === 'ready' && parts.length === 2) return { kind: 'health', ready: true };
  if (first === 'mcp' || (first === '.well-known' && second === 'oauth-protected-resource')) return forward('mcp', null, 'platform', false);
  if (first === 'init' || first === 'apps' || first === 'api-keys' || first === 'suggestions') return forward('control', null, 'platform', false);
  if (first === 'auth' && second !== undefined) return forward('auth', second, 'auth', false);
  if (first === 'storage' && second !== undefined) return forward('storage', second, 'app', true);
  if (first === 's3' && second !== undefined) return { kind: 'object_store', target: workerSpec('storage').routerBinding as RouterTarget };
  if (first === 'v1' && second === 'regions' && parts.length === 2) return forward('control', null, 'platform', false);
  // Region moves (API.md §14) are reserved for a later feature.
  if (first === 'v1' && (second === 'source-replicas' || (second === 'apps' && (parts[3] === 'move' || parts[3] === 'migrations')))) {
    return { kind: 'unavailable', feature: 'region moves', appId: null, family: 'platform', dataPlane: false };
  }
  if (first === 'v1' && second !== undefined && appIdPattern.test(second)) {
    if (third === undefined) return { kind: 'not_found' };
    const reserved = reservedSegment(third);
    if (!reserved) return forward('data', second, 'app', true);
    const dataPlane = isDataPlane(reserved, parts.slice(3));
    if (reserved.worker === null) return { kind: 'unavailable', feature: reserved.feature, appId: second, family: 'app', dataPlane };
    return forward(reserved.worker, second, 'app', dataPlane);
  }
  return { kind: 'not_found' };
}

/**
 * True when a Host could be a custom domain of an app (API.md §10.2): not an IP address, not
 * `localhost`, not the apps domain or under it, and not one of the API's own hostnames. Only such
 * hosts cost the router a lookup (the hosting Worker's `resolveHostname`).
 */
export function customHostCandidate(host: string | null, hosts: HostConfig & { apiHostnames?: readonly string[] }): boolean {
  if (!host) return false;
  const hostname = host.toLowerCase().replace(/:\d+$/, '').replace(/\.$/, '');
  if (!hostname.includes('.') || hostname.startsWith('[') || /^[\d.]+$/.test(hostname)) return false;
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) return false;
  const apps = hosts.appsDomain.toLowerCase();
  if (apps && (hostname === apps || hostname.endsWith(`.${apps}`))) return false;
  return !(hosts.apiHostnames ?? []).includes(hostname);
}
