/** A quirk of the local dev server that clients of the local platform work around. */
/**
 * True for the answer wrangler 4.86's dev proxy gives when it loses a non-GET request to a keep-alive
 * race with the Worker behind it (cloudflare/workers-sdk#14641: "worker restarted mid-request" although
 * nothing restarted; later wranglers retry it themselves). The request never reached the platform, so
 * clients of the local platform (tests, benchmarks) may send it again.
 */
export function lostByDevProxy(status: number, body: string): boolean {
  return status === 503 && body.startsWith(devProxyLostMessage);
}

/** The text of that answer, as clients that only see it in an error message (the MCP Inspector CLI) report it. */
export const devProxyLostMessage = 'Your worker restarted mid-request';
