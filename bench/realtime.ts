/**
 * `npm run bench:realtime`: change → delivery latency of realtime with 100 and 1,000 subscribers on
 * one app (half end users, half anonymous; user isolation + public read, so RLS is evaluated for
 * every batch), while one writer inserts rows over REST at a steady rate. Prints, per run: delivery
 * latency p50/p95/p99 (from the change's trigger time, `timestamp`, to its arrival at a socket),
 * deliveries per second, the REST write latency measured in the same run, and the CPU ms per
 * delivery of workerd, of this process (the embedded database and the writer) and of the subscribers'
 * own process (bench/realtime-subscribers.ts: their sockets do not share the database's event loop).
 *
 * The 1,000-subscriber run is made twice: with clients that do not offer compression, and with
 * clients offering permessage-deflate as browsers do (RFC 7692). Locally the offer is always
 * accepted: wrangler's dev proxy and miniflare's entry Worker negotiate it on the client's socket,
 * and the platform cannot decline through them (an empty `Sec-WebSocket-Extensions` on the 101,
 * workerd's way to refuse, does not reach the client — measured). Every message is then deflated once per socket by
 * workerd and inflated by `ws` (zlib on libuv's thread pool, at most 10 at a time), which both costs
 * CPU on this machine's two cores and queues messages in the client before they count as delivered.
 * Env: BENCH_WRITES_PER_SECOND (20), BENCH_SECONDS (10), BENCH_USERS (distinct end users, default
 * subscribers / 10, at least 10; each user's sockets share the load of one RLS group).
 */
import { fork } from 'node:child_process';
import { benchClient, processGroupCpuMs, selfCpuMs, startBenchPlatform } from './lib.ts';
import type { Collected, CollectRequest, OpenRequest } from './realtime-subscribers.ts';

const writesPerSecond = Number(process.env.BENCH_WRITES_PER_SECOND ?? 20);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);

interface Run {
  subscribers: number;
  deflate: boolean;
  users: number;
  writes: number;
  deliveries: number;
  expected: number;
  p50: number;
  p95: number;
  p99: number;
  deliveriesPerSecond: number;
  restP50: number;
  restP99: number;
  workerdCpuMs: number;
  dbCpuMs: number;
  subscribersCpuMs: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const platform = await startBenchPlatform({ realtime: { REALTIME_MAX_CONNECTIONS_PER_APP: '10000' } });
const subscriberProcess = fork(new URL('./realtime-subscribers.ts', import.meta.url), [], { execArgv: ['--import', 'tsx'] });
/** Sends `request` to the subscribers' process; resolves with its first answer of type `answer`. */
function subscribersSay(request: OpenRequest | CollectRequest, answer: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string }) => {
      if (message.type !== answer) return;
      subscriberProcess.off('message', onMessage);
      subscriberProcess.off('exit', onExit);
      resolve(message);
    };
    const onExit = (code: number | null) => reject(new Error(`the subscribers' process exited (${code})`));
    subscriberProcess.on('message', onMessage);
    subscriberProcess.once('exit', onExit);
    subscriberProcess.send(request);
  });
}
try {
  const { service, post, readyApp } = benchClient(platform);
  const { app_id: appId } = await readyApp('bench-realtime');
  await post(`/v1/${appId}/schema/apply`, {
    schema: { tables: { messages: { columns: {
      id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' },
      user_id: { type: 'uuid' },
      body: { type: 'text', nullable: false },
      published: { type: 'boolean', default: 'false' },
    } } } },
  });
  await post(`/v1/${appId}/rls`, { table_name: 'messages', user_column: 'user_id', public_read_column: 'published' });
  await post(`/v1/${appId}/realtime/configure`, { tables: ['messages'] });

  // Each sign-up comes from its own client IP (the router passes cf-connecting-ip on), past the per-IP auth limits.
  const anon = (i: number) => ({ 'content-type': 'application/json', 'cf-connecting-ip': `10.9.${i >> 8}.${i & 255}` });
  const tokens: string[] = [];
  const account = async (i: number, email: string) => {
    await post(`/auth/${appId}/signup`, { email, password: 'Bench!pass1' }, anon(i));
    return (await post(`/auth/${appId}/login`, { email, password: 'Bench!pass1' }, anon(i))).access_token as string;
  };
  const signUp = async (i: number) => {
    tokens[i] = await account(i, `bench-${i}@example.com`);
  };
  const writer = await account(4000, 'writer@example.com');

  const runs: Run[] = [];
  const configurations = [{ subscribers: 100, deflate: false }, { subscribers: 1000, deflate: false }, { subscribers: 1000, deflate: true }];
  for (const { subscribers, deflate } of configurations) {
    const users = Number(process.env.BENCH_USERS ?? Math.max(10, Math.floor(subscribers / 10)));
    for (let i = tokens.length; i < users; i += 8) await Promise.all(Array.from({ length: Math.min(8, users - i) }, (_, k) => signUp(i + k)));
    const base = `${platform.url.replace(/^http/, 'ws')}/v1/${appId}/realtime`;
    const socketTokens = Array.from({ length: subscribers }, (_, n) => (n % 2 === 0 ? tokens[(n / 2) % users]! : null));
    await subscribersSay({ type: 'open', url: base, table: 'messages', tokens: socketTokens, deflate } satisfies OpenRequest, 'opened');
    const rest: number[] = [];
    const total = writesPerSecond * seconds;
    const startedMs = Date.now();
    const cpu0 = { workerd: processGroupCpuMs(platform.processGroup), self: selfCpuMs() };
    const writes: Promise<void>[] = [];
    let published = 0;
    let failed = 0;
    for (let i = 0; i < total; i += 1) {
      const dueMs = startedMs + (i * 1000) / writesPerSecond;
      await new Promise((r) => setTimeout(r, Math.max(0, dueMs - Date.now())));
      const isPublic = i % 2 === 0;
      if (isPublic) published += 1;
      writes.push((async () => {
        const t0 = performance.now();
        const res = await fetch(`${platform.url}/v1/${appId}/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' },
          body: JSON.stringify({ body: `m${i}`, published: isPublic }),
        }).catch(() => null);
        const text = (await res?.text()) ?? 'no answer';
        rest.push(performance.now() - t0);
        if (res?.status !== 201) {
          failed += 1;
          if (isPublic) published -= 1;
          console.error(`write ${i}: ${res?.status ?? '-'} ${text.slice(0, 200)}`);
        }
      })());
    }
    await Promise.all(writes);
    // Only published rows reach the subscribers (none of them is the writer).
    const expected = published * subscribers;
    const seen = await subscribersSay({ type: 'collect', expected, timeoutMs: 60_000 } satisfies CollectRequest, 'collected') as Collected;
    const cpu1 = { workerd: processGroupCpuMs(platform.processGroup), self: selfCpuMs() };
    const { deliveries, lastDeliveryMs } = seen;
    const latencies = seen.latenciesMs.sort((a, b) => a - b);
    rest.sort((a, b) => a - b);
    runs.push({
      subscribers, deflate, users, writes: total - failed, deliveries, expected,
      p50: percentile(latencies, 50), p95: percentile(latencies, 95), p99: percentile(latencies, 99),
      deliveriesPerSecond: deliveries / ((lastDeliveryMs - startedMs) / 1000),
      restP50: percentile(rest, 50), restP99: percentile(rest, 99),
      workerdCpuMs: cpu1.workerd - cpu0.workerd, dbCpuMs: cpu1.self - cpu0.self, subscribersCpuMs: seen.cpuMs,
    });
    await new Promise((r) => setTimeout(r, 1000));
  }

  console.log(`\nRealtime: ${writesPerSecond} REST writes/s for ${seconds} s (half published), subscribers half end users, half anonymous, RLS on\n`);
  console.log('| subscribers | client offers permessage-deflate | distinct users | writes | deliveries (expected) | delivery p50 ms | p95 ms | p99 ms | deliveries/s | REST write p50 ms | REST write p99 ms | CPU ms/delivery: workerd | db | subscribers |');
  console.log('| ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of runs) {
    console.log(`| ${r.subscribers} | ${r.deflate ? 'yes' : 'no'} | ${r.users} | ${r.writes} | ${r.deliveries} (${r.expected}) | ${r.p50} | ${r.p95} | ${r.p99} | ${Math.round(r.deliveriesPerSecond)} | ${r.restP50.toFixed(1)} | ${r.restP99.toFixed(1)} | ${(r.workerdCpuMs / r.deliveries).toFixed(3)} | ${(r.dbCpuMs / r.deliveries).toFixed(3)} | ${(r.subscribersCpuMs / r.deliveries).toFixed(3)} |`);
  }
} finally {
  subscriberProcess.disconnect();
  await platform.stop();
}
