/**
 * Start-and-wait for hosting deployments, shared by `manage_frontend.start_deployment` and
 * `manage_edge_ssr.start` (API.md §13: start, then poll until the build leaves WAITING / UPLOADING /
 * BUILDING). Each step is the REST call an agent would make itself.
 */
import { ApiError } from '../../shared/errors.ts';
import type { PlatformClient } from '../platform.ts';
import { errorResult, restError, restResult } from '../tool.ts';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** Statuses of a deployment still being worked on (API.md §10.2). */
const pendingStatuses = ['WAITING', 'UPLOADING', 'BUILDING'];

/**
 * POSTs `{base}/deployments/{id}/start`, then GETs the deployment every `intervalMs` until it is
 * READY, ERROR or CANCELED (answered as REST answered it). A REST error answers as that error.
 * @throws nothing; past `timeoutMs` the result is a TIMEOUT error whose remediation names `listHint`
 *   (how the agent looks again later) and whose details are the deployment as last seen.
 */
export async function startAndWait(
  platform: PlatformClient,
  options: { base: string; id: string; tool: string; timeoutMs: number; intervalMs: number; listHint: string },
): Promise<CallToolResult> {
  const { base, id, tool } = options;
  const started = await platform.call({ method: 'POST', path: `${base}/deployments/${id}/start`, tool });
  if (!started.ok) return restResult(started);
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const current = await platform.call({ method: 'GET', path: `${base}/deployments/${id}`, tool });
    if (!current.ok) return errorResult(restError(current));
    const status = (current.json as { status: string }).status;
    if (!pendingStatuses.includes(status)) return restResult(current);
    if (Date.now() > deadline) {
      return errorResult(new ApiError('TIMEOUT', `Deployment ${id} is still ${status} after ${options.timeoutMs / 1000} s.`, {
        remediation: `${options.listHint} in a little while to see whether it became READY or ERROR.`,
        details: current.json,
      }));
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}
