/**
 * The outbound Worker of the functions dispatch namespace (DESIGN.md "User code", Workers for
 * Platforms): every `fetch()` of a user script in production passes here. It applies the same egress
 * policy as the Worker Loader's `Outbound` entrypoint (workers/shared/egress.ts `egressFetch`): the
 * platform API through the router, private/loopback/link-local and internal hosts refused, the rest
 * out, one log line per subrequest with the app and function it came from (the `appId` and
 * `functionName` outbound parameters).
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import { egressFetch } from '../shared/egress.ts';
import type { Env } from './env.ts';

export default class FunctionsOutbound extends WorkerEntrypoint<Env> {
  /** One subrequest of user code. Out: the upstream answer, or 403 `{ error }` when the policy refuses it. */
  override fetch(request: Request): Promise<Response> {
    return egressFetch(request, this.env, { appId: this.env.appId ?? 'unknown', functionName: this.env.functionName ?? 'unknown' });
  }
}
