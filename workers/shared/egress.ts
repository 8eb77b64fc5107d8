/**
 * The egress policy of user code (issue 9 item 2): every fetch a function or an Edge SSR bundle makes
 * passes an Outbound entrypoint (the loader's `globalOutbound`; in production the dispatch
 * namespace's outbound Worker), which asks {@link egressDecision}. Calls to the platform's own public API (`BUTTERBASE_API_URL`) are
 * routed internally to the router — locally that API is on loopback itself; everything else on a
 * private, loopback, link-local or otherwise non-public address, or an internal host name, is refused.
 */
import ipaddr from 'ipaddr.js';

/** What the outbound policy does with one subrequest. */
export type EgressDecision =
  | { kind: 'platform' }
  | { kind: 'internet' }
  | { kind: 'refused'; reason: string };

/** Host names never reachable from user code, whatever they resolve to. */
const internalSuffixes = ['.localhost', '.local', '.internal', '.lan', '.home.arpa', '.cluster.local'];
const internalNames = new Set(['localhost', 'metadata', 'metadata.google.internal']);

/**
 * Decides where a subrequest of user code may go.
 * In: the request URL; the platform's public API base URL; extra denied host names (lowercase).
 * Only http(s) is allowed. IP literals must be public unicast (ipaddr.js `range() === 'unicast'`).
 */
export function egressDecision(url: URL, publicApiUrl: string, denyHosts: readonly string[]): EgressDecision {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { kind: 'refused', reason: `scheme ${url.protocol} is not allowed` };
  const api = new URL(publicApiUrl);
  if (url.origin === api.origin) return { kind: 'platform' };
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (ipaddr.isValid(host)) {
    let address = ipaddr.parse(host);
    if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) address = (address as ipaddr.IPv6).toIPv4Address();
    const range = address.range();
    if (range !== 'unicast') return { kind: 'refused', reason: `${host} is a ${range} address` };
    return { kind: 'internet' };
  }
  // Names like "2130706433" or "0x7f.1" that some resolvers read as IPv4 addresses.
  if (/^[0-9.]+$/.test(host) || /^0x[0-9a-f.x]+$/i.test(host)) return { kind: 'refused', reason: `${host} is not a valid public host` };
  if (internalNames.has(host) || internalSuffixes.some((s) => host.endsWith(s)) || !host.includes('.')) {
    return { kind: 'refused', reason: `${host} is an internal host name` };
  }
  if (denyHosts.includes(host)) return { kind: 'refused', reason: `${host} is a platform-internal host` };
  return { kind: 'internet' };
}

/** The denied host names of a deployment: EGRESS_DENY_HOSTS plus the hosts of the given URLs. */
export function deniedHosts(list: string | undefined, urls: readonly (string | undefined)[]): string[] {
  const hosts = (list ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean);
  for (const value of urls) {
    if (!value) continue;
    try {
      hosts.push(new URL(value).hostname.toLowerCase());
    } catch {
      /* not a URL */
    }
  }
  return hosts;
}

/** What {@link egressFetch} needs from its Worker. */
export interface EgressEnv {
  /** The platform's public API base URL (BUTTERBASE_API_URL). */
  PUBLIC_API_URL: string;
  /** Extra denied host names, comma-separated. */
  EGRESS_DENY_HOSTS?: string;
  /** The database endpoint (local runs), denied too. */
  NEON_FETCH_ENDPOINT?: string;
  /** Where calls to the platform's public API go internally. */
  ROUTER?: Fetcher;
}

/**
 * Applies the egress policy to one subrequest of user code and performs it: the platform API through
 * the router, the internet as is, anything else refused with 403 `{ error }` and
 * `x-butterbase-egress: refused`. Logs one line per subrequest naming the app and function.
 * Used by the functions Worker's `Outbound` entrypoint (Worker Loader), the functions-outbound
 * Worker (the dispatch namespace's outbound Worker) and hosting's `SsrOutbound` (Edge SSR bundles),
 * so all user code shares one policy.
 */
export async function egressFetch(request: Request, env: EgressEnv, who: { appId: string; functionName: string }): Promise<Response> {
  // `functionName` names the caller in the log line: a function's name, or `ssr:{deployment id}`.
  const url = new URL(request.url);
  const decision = egressDecision(url, env.PUBLIC_API_URL, deniedHosts(env.EGRESS_DENY_HOSTS, [env.NEON_FETCH_ENDPOINT]));
  console.log(`[egress] ${who.appId}/${who.functionName} ${request.method} ${url.host} → ${decision.kind}${decision.kind === 'refused' ? ` (${decision.reason})` : ''}`);
  switch (decision.kind) {
    case 'platform':
      if (!env.ROUTER) return Response.json({ error: 'the platform API is not reachable from functions on this deployment' }, { status: 502 });
      return env.ROUTER.fetch(request);
    case 'internet':
      return fetch(request);
    case 'refused':
      return Response.json({ error: `egress refused: ${decision.reason}` }, { status: 403, headers: { 'x-butterbase-egress': 'refused' } });
  }
}
