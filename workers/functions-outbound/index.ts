/**
 * The outbound Worker of the dispatch namespace (DESIGN.md "User code", Workers for Platforms): every
 * `fetch()` of a user script in production — a function version or an Edge SSR deployment — passes
 * here. It applies the same egress policy as the Worker Loader's `Outbound` / `SsrOutbound`
 * entrypoints (workers/shared/egress.ts `egressFetch`): the platform API through the router,
 * private/loopback/link-local and internal hosts refused, the rest out, one log line per subrequest
 * with the app and the code it came from (outbound parameters: `appId` with `functionName` from the
 * functions Worker's binding, `appId` with `deploymentId` from the hosting Worker's).
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import { egressFetch } from '../shared/egress.ts';
import type { Env } from './env.ts';

/** How the log line names the caller: the function, `ssr:{deployment id}` (as hosting's SsrOutbound does), or `unknown`. */
function callerName(params: Pick<Env, 'functionName' | 'deploymentId'>): string {
  if (params.functionName) return params.functionName;
  return params.deploymentId ? `ssr:${params.deploymentId}` : 'unknown';
}

export default class FunctionsOutbound extends WorkerEntrypoint<Env> {
  /** One subrequest of user code. Out: the upstream answer, or 403 `{ error }` when the policy refuses it. */
  override fetch(request: Request): Promise<Response> {
    return egressFetch(request, this.env, { appId: this.env.appId ?? 'unknown', functionName: callerName(this.env) });
  }
}
