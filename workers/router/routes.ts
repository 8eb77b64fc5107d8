/**
 * Path → concern Worker (API.md §1.1 path families). Pure, so it is unit-tested on its own.
 */
import { appIdPattern } from '../shared/validation.ts';

/** Concern Workers the router forwards to. */
export type Target = 'CONTROL' | 'DATA' | 'AUTH' | 'MCP';

/** What the router does with a path. */
export type RouteDecision =
  | { kind: 'health'; ready: boolean }
  | { kind: 'forward'; target: Target; appId: string | null; family: Family; dataPlane: boolean }
  | { kind: 'unavailable'; feature: string; appId: string | null; family: Family; dataPlane: boolean }
  | { kind: 'not_found' };

/** Path families: `app` = `/v1/{app_id}/…`, `auth` = `/auth/{app_id}/…`, `platform` = everything else. */
export type Family = 'app' | 'auth' | 'platform';

const controlSegments = new Set(['schema', 'migrations', 'rls', 'config', 'secure', 'env', 'audit-logs']);
const authSegments = new Set(['auth', 'admin']);
/** Reserved per-app segments of features this deployment does not serve yet, and whether each is data plane. */
const unbuiltSegments = new Map<string, boolean>([
  ['functions', false], ['fn', true], ['webhook', true], ['realtime', true], ['frontend', false],
  ['edge-ssr', false], ['durable-objects', false], ['custom-domains', false], ['rag', true], ['kv', true],
  ['chat', true], ['embeddings', true], ['ai', true], ['videos', true], ['images', true],
]);

/** Classifies a request path. */
export function classify(pathname: string): RouteDecision {
  const parts = pathname.split('/').filter(Boolean);
  const [first, second, third] = parts;
  if (first === 'health' && parts.length === 1) return { kind: 'health', ready: false };
  if (first === 'health' && second === 'ready' && parts.length === 2) return { kind: 'health', ready: true };
  if (first === 'mcp' || (first === '.well-known' && second === 'oauth-protected-resource')) {
    return { kind: 'forward', target: 'MCP', appId: null, family: 'platform', dataPlane: false };
  }
  if (first === 'init' || first === 'apps' || first === 'api-keys' || first === 'suggestions') {
    return { kind: 'forward', target: 'CONTROL', appId: null, family: 'platform', dataPlane: false };
  }
  if (first === 'auth' && second !== undefined) {
    return { kind: 'forward', target: 'AUTH', appId: second, family: 'auth', dataPlane: false };
  }
  if (first === 'storage' && second !== undefined) {
    return { kind: 'unavailable', feature: 'storage', appId: second, family: 'app', dataPlane: true };
  }
  if (first === 'v1' && second !== undefined && appIdPattern.test(second)) {
    if (third === undefined) return { kind: 'not_found' };
    if (controlSegments.has(third)) return { kind: 'forward', target: 'CONTROL', appId: second, family: 'app', dataPlane: false };
    if (authSegments.has(third)) return { kind: 'forward', target: 'AUTH', appId: second, family: 'app', dataPlane: false };
    const unbuilt = unbuiltSegments.get(third);
    if (unbuilt !== undefined) return { kind: 'unavailable', feature: third, appId: second, family: 'app', dataPlane: unbuilt };
    return { kind: 'forward', target: 'DATA', appId: second, family: 'app', dataPlane: true };
  }
  if (first === 'v1' && second === 'regions') {
    return { kind: 'forward', target: 'CONTROL', appId: null, family: 'platform', dataPlane: false };
  }
  return { kind: 'not_found' };
}
