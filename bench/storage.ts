/**
 * `npm run bench:storage`: file storage through the platform, in one run:
 *   - POST /storage/{app}/upload (an upload URL: gate, settings, quota reservation, SigV4 signing)
 *     and GET /storage/{app}/download/{id}: requests/s, p50, p99;
 *   - a 10 MB file PUT to its presigned upload URL and GET from its presigned download URL (router →
 *     storage Worker's S3 endpoint: SigV4 verified, R2 binding, event notification) beside the same
 *     10 MB put/get straight through an R2 binding in the same runtime (bench/storage-direct), MB/s
 *     and the ratio.
 * Env: BENCH_CONNECTIONS (16), BENCH_SECONDS (10), BENCH_TRANSFERS (10 per direction).
 */
import { randomBytes } from 'node:crypto';
import { benchClient, defaultSettings, measure, printTable, startBenchPlatform, startBenchWorker, type Measurement } from './lib.ts';

const transfers = Number(process.env.BENCH_TRANSFERS ?? 10);
const fileBytes = 10 * 1000 * 1000;
const MB = 1_000_000;

const platform = await startBenchPlatform();
const direct = await startBenchWorker('bench/storage-direct/wrangler.toml');
try {
  const { service, call, readyApp } = benchClient(platform);
  const { app_id: appId } = await readyApp('bench-storage');
  await call('PATCH', `/v1/${appId}/config/storage`, { maxFileSizeMb: 20, storageLimitBytes: 10 * 1024 ** 3 });

  // A small uploaded file for the download-URL measurement.
  const small = await call('POST', `/storage/${appId}/upload`, { filename: 'small.txt', contentType: 'text/plain', sizeBytes: 5 });
  await fetch(small.uploadUrl, { method: 'PUT', headers: { 'content-type': 'text/plain' }, body: 'hello' });

  const urlRows: Measurement[] = [
    await measure('POST /storage/{app}/upload', {
      url: `${platform.url}/storage/${appId}/upload`, method: 'POST', headers: service,
      body: JSON.stringify({ filename: 'bench.bin', contentType: 'application/octet-stream', sizeBytes: 1 }),
    }),
    await measure('GET /storage/{app}/download/{id}', { url: `${platform.url}/storage/${appId}/download/${small.objectId}`, headers: service }),
  ];
  printTable('Storage: presigned URL requests', urlRows, urlRows[0]!);

  const body = randomBytes(fileBytes);
  const timed = async (work: () => Promise<void>) => {
    const started = performance.now();
    await work();
    return performance.now() - started;
  };
  const expectOk = async (res: Response, what: string) => {
    if (!res.ok) throw new Error(`${what}: ${res.status} ${await res.text()}`);
    return res;
  };

  let presignedPutMs = 0;
  let presignedGetMs = 0;
  for (let i = -2; i < transfers; i++) {
    const reservation = await call('POST', `/storage/${appId}/upload`, { filename: `ten-${i}.bin`, contentType: 'application/octet-stream', sizeBytes: fileBytes });
    const putMs = await timed(async () => {
      await expectOk(await fetch(reservation.uploadUrl, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body }), 'presigned PUT');
    });
    const { downloadUrl } = await call('GET', `/storage/${appId}/download/${reservation.objectId}`);
    const getMs = await timed(async () => {
      const res = await expectOk(await fetch(downloadUrl), 'presigned GET');
      if ((await res.arrayBuffer()).byteLength !== fileBytes) throw new Error('presigned GET: short body');
    });
    if (i >= 0) {
      presignedPutMs += putMs;
      presignedGetMs += getMs;
    }
  }

  let directPutMs = 0;
  let directGetMs = 0;
  let bindingPutMs = 0;
  let bindingGetMs = 0;
  for (let i = -2; i < transfers; i++) {
    const key = `ten-${i}.bin`;
    let insidePut = 0;
    const putMs = await timed(async () => {
      const res = await expectOk(await fetch(`${direct.url}/${key}`, { method: 'PUT', body }), 'direct PUT');
      insidePut = Number(res.headers.get('x-binding-ms'));
    });
    const getMs = await timed(async () => {
      const res = await expectOk(await fetch(`${direct.url}/${key}`), 'direct GET');
      if ((await res.arrayBuffer()).byteLength !== fileBytes) throw new Error('direct GET: short body');
    });
    const read = await expectOk(await fetch(`${direct.url}/${key}?read`), 'direct read');
    if (i >= 0) {
      directPutMs += putMs;
      directGetMs += getMs;
      bindingPutMs += Math.max(insidePut, 1);
      bindingGetMs += Math.max(Number(read.headers.get('x-binding-ms')), 1);
    }
  }

  const rate = (ms: number) => (transfers * fileBytes) / MB / (ms / 1000);
  const rows = [
    ['upload (PUT)', rate(presignedPutMs), rate(directPutMs), rate(bindingPutMs)],
    ['download (GET)', rate(presignedGetMs), rate(directGetMs), rate(bindingGetMs)],
  ] as const;
  console.log(`\nStorage: a 10 MB file, ${transfers} transfers each way, one at a time (after 2 warm-ups), loopback`);
  const header = ['transfer', 'presigned URL MB/s', 'direct Worker + R2 binding MB/s', 'presigned / direct', 'binding call alone MB/s', 'presigned / binding'];
  console.log(header.join('  '));
  for (const [name, presigned, baseline, binding] of rows) {
    console.log([
      name.padEnd(header[0]!.length + 6),
      presigned.toFixed(1).padStart(header[1]!.length),
      baseline.toFixed(1).padStart(header[2]!.length),
      `${(presigned / baseline).toFixed(2)}×`.padStart(header[3]!.length),
      binding.toFixed(1).padStart(header[4]!.length),
      `${(presigned / binding).toFixed(2)}×`.padStart(header[5]!.length),
    ].join('  '));
  }
  console.log('("binding call alone" is timed inside the Worker: FILES.put while the body arrives, FILES.get + arrayBuffer.)');
  console.log(`(${defaultSettings.connections} connections for the request rows; transfers are sequential)`);
} finally {
  await direct.stop();
  await platform.stop();
}
