/**
 * WebSocket helpers shared by the router and the realtime Worker (API.md §9 close codes). A browser's
 * WebSocket cannot read an HTTP error body (a refused handshake only shows as close code 1006), so a
 * refused upgrade is answered by accepting the socket, sending the error as a message and closing it
 * with the code that says why. Source: RFC 6455 §7.4.1 (1008 policy violation, 1011 internal error,
 * 1013 try again later), Cloudflare Workers WebSocketPair.
 */
import { ApiError } from './errors.ts';

/** True when `request` asks to upgrade to a WebSocket (`Upgrade: websocket`). */
export function isWebSocketUpgrade(request: Request): boolean {
  return request.headers.get('upgrade')?.toLowerCase() === 'websocket';
}

/**
 * The close code for an error (API.md §9): credentials and access (401/403/404) → 1008; the app or
 * platform is busy, paused or over a limit (429, 503) → 1013; anything else → 1011.
 */
export function closeCodeFor(error: ApiError): number {
  if (error.status === 401 || error.status === 403 || error.status === 404) return 1008;
  if (error.status === 429 || error.status === 503) return 1013;
  return 1011;
}

/** A close reason fits in 123 bytes (RFC 6455 §5.5: control frames carry at most 125, 2 for the code). */
export function closeReason(text: string): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= 123) return text;
  return new TextDecoder().decode(bytes.slice(0, 120)).replace(/\uFFFD$/, '') + '…';
}

/**
 * Answers a WebSocket upgrade that must be refused: the socket opens, receives
 * `{type:"error", code, message}` and closes with {@link closeCodeFor} and the message as reason.
 * Out: a 101 Response carrying the client end.
 */
export function websocketRefusal(error: ApiError, closeCode = closeCodeFor(error)): Response {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  server.accept();
  server.send(JSON.stringify({ type: 'error', code: error.code, message: error.message }));
  server.close(closeCode, closeReason(error.message));
  return new Response(null, { status: 101, webSocket: client });
}
