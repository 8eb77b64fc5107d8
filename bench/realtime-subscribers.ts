/**
 * The subscribers of `npm run bench:realtime`, in a process of their own (forked by bench/realtime.ts
 * with an IPC channel), so their sockets do not share an event loop with the embedded database the
 * benchmark process hosts: a delivery is timed by this process's clock and nothing here delays a query.
 *
 * Messages from the parent: {@link OpenRequest} (connect and subscribe every socket; answered
 * `{type: 'opened'}`), then {@link CollectRequest} (wait until `expected` changes arrived or the
 * deadline passed, close the sockets; answered with a {@link Collected}). Latency of one delivery:
 * arrival (`Date.now()`) minus the change's `timestamp` (its trigger time in the database).
 */
import WebSocket from 'ws';

/** Opens `tokens.length` sockets to `url` (`?token=` when a token is given), each subscribing to `table`. */
export interface OpenRequest {
  type: 'open';
  url: string;
  table: string;
  tokens: (string | null)[];
  /** Whether the clients offer permessage-deflate (browsers do). */
  deflate: boolean;
}

/** Waits for `expected` deliveries (at most `timeoutMs`), then reports and closes every socket. */
export interface CollectRequest {
  type: 'collect';
  expected: number;
  timeoutMs: number;
}

/** What the subscribers saw, and the CPU ms this process spent since it opened the sockets. */
export interface Collected {
  type: 'collected';
  latenciesMs: number[];
  deliveries: number;
  lastDeliveryMs: number;
  cpuMs: number;
}

const send = (message: unknown) => process.send!(message);
let sockets: WebSocket[] = [];
let latencies: number[] = [];
let deliveries = 0;
let lastDeliveryMs = 0;
let cpuAtOpen = 0;

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

async function open(request: OpenRequest): Promise<void> {
  sockets = [];
  latencies = [];
  deliveries = 0;
  lastDeliveryMs = 0;
  for (let i = 0; i < request.tokens.length; i += 50) {
    await Promise.all(request.tokens.slice(i, i + 50).map((token) => new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(token ? `${request.url}?token=${token}` : request.url, { perMessageDeflate: request.deflate });
      ws.on('message', (data) => {
        const message = JSON.parse(data.toString());
        if (message.type === 'subscribed') resolve();
        if (message.type === 'change') {
          const nowMs = Date.now();
          latencies.push(nowMs - Date.parse(message.timestamp));
          deliveries += 1;
          lastDeliveryMs = nowMs;
        }
      });
      ws.once('open', () => ws.send(JSON.stringify({ type: 'subscribe', table: request.table })));
      ws.once('error', reject);
      sockets.push(ws);
    })));
  }
  cpuAtOpen = cpuMs();
  send({ type: 'opened' });
}

async function collect(request: CollectRequest): Promise<void> {
  const deadline = Date.now() + request.timeoutMs;
  while (deliveries < request.expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const spent = cpuMs() - cpuAtOpen;
  for (const ws of sockets) ws.close();
  send({ type: 'collected', latenciesMs: latencies, deliveries, lastDeliveryMs, cpuMs: spent } satisfies Collected);
}

process.on('message', (message: OpenRequest | CollectRequest) => {
  const work = message.type === 'open' ? open(message) : collect(message);
  work.catch((error: unknown) => {
    console.error(`[bench subscribers] ${String(error)}`);
    process.exit(1);
  });
});
process.on('disconnect', () => process.exit(0));
