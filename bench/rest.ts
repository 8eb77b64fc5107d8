/**
 * `npm run bench:rest`: the REST data API as an end user through the router (RLS on), beside the very
 * same SQL batch sent straight to the embedded database endpoint, in one run:
 *   - GET  /v1/{app}/items/{id}
 *   - GET  /v1/{app}/items?n=gte.{x}&order=n.asc&limit=20   (a filtered list of 20 rows)
 *   - POST /v1/{app}/items                                  (a single insert, RETURNING *)
 * The direct batches are built with the data Worker's own SQL builders and DbGateway's role prelude,
 * so both columns run identical SQL; the difference is the platform (router, gate, rate limit,
 * data Worker, Neon driver) around it; each row shows the CPU ms per request of workerd, this
 * process (the embedded database) and the load generator; then every REST row against the bare
 * hello Worker of the same run. All endpoints are measured in alternating rounds (lib.ts
 * `measureInterleaved`), so the ratios compare figures taken side by side.
 * Env: BENCH_CONNECTIONS (16), BENCH_SECONDS (10 per endpoint, split over BENCH_ROUNDS, 3).
 */
import { neon, neonConfig } from '@neondatabase/serverless';
import { catalogFromRows, catalogQuery } from '../workers/shared/catalog.ts';
import type { SqlStatement } from '../workers/shared/contracts.ts';
import { rolePrelude } from '../workers/data/prelude.ts';
import { parseRestQuery } from '../workers/data/query/grammar.ts';
import { buildGetByKey, buildInsert, buildSelect, pickColumns } from '../workers/data/query/sql.ts';
import { benchClient, measureInterleaved, platformCpu, printTable, printTraces, startBenchPlatform, startHelloWorker, traceRequest, type Measurement } from './lib.ts';

const platform = await startBenchPlatform();
const helloWorker = await startHelloWorker();
try {
  const { service, post, readyApp } = benchClient(platform);
  const { app_id: appId } = await readyApp('bench-rest');
  await post(`/v1/${appId}/schema/apply`, {
    schema: {
      tables: {
        items: {
          columns: {
            id: { type: 'uuid', primaryKey: true, default: 'gen_random_uuid()' },
            user_id: { type: 'uuid' },
            title: { type: 'text', nullable: false },
            n: { type: 'integer', nullable: false },
            created_at: { type: 'timestamptz', default: 'now()' },
          },
          indexes: { items_user_n_idx: { columns: ['user_id', 'n'] } },
        },
      },
    },
  });
  await post(`/v1/${appId}/rls`, { table_name: 'items', user_column: 'user_id' });
  const anon = { 'content-type': 'application/json' };
  await post(`/auth/${appId}/signup`, { email: 'bench@example.com', password: 'Bench!pass1' }, anon);
  const login = await post(`/auth/${appId}/login`, { email: 'bench@example.com', password: 'Bench!pass1' }, anon);
  const user = { authorization: `Bearer ${login.access_token}`, 'content-type': 'application/json' };
  const userId: string = login.user.id;
  const seeded = await post(`/v1/${appId}/items`, Array.from({ length: 1000 }, (_, n) => ({ title: `item ${n}`, n })), user);
  const someId: string = seeded[500].id;

  // The same statements DbGateway runs for this user.
  neonConfig.fetchEndpoint = `${platform.dbUrl}/sql`;
  const owner = neon(platform.connections.appTemplate.replace('{db}', appId));
  const table = catalogFromRows(await owner.query(catalogQuery)).get('items')!;
  const caller = { appId, role: 'user' as const, userId };
  const listParams: [string, string][] = [['n', 'gte.400'], ['order', 'n.asc'], ['limit', '20']];
  const list = buildSelect(table, parseRestQuery(listParams, { reserved: ['select', 'order', 'limit', 'offset'], filters: true, route: 'GET' }));
  const insert = buildInsert(table, [pickColumns(table, { title: 'bench', n: 7 }, '(root)')], null);
  const direct = (statement: SqlStatement) => ({
    url: `${platform.dbUrl}/sql`,
    method: 'POST' as const,
    headers: {
      'content-type': 'application/json',
      'neon-connection-string': platform.connections.appTemplate.replace('{db}', appId),
      'neon-array-mode': 'true',
      'neon-raw-text-output': 'true',
    },
    body: JSON.stringify({ queries: [...rolePrelude(caller), statement].map((s) => ({ query: s.query, params: s.params ?? [] })) }),
  });

  const cpu = platformCpu(platform);
  const getByKey = buildGetByKey(table, { id: someId }, null);
  // All seven endpoints in alternating rounds, so every ratio compares figures taken side by side.
  const measured = await measureInterleaved([
    { name: 'hello Worker', request: { url: helloWorker.url }, cpu: helloWorker.cpu },
    { name: 'GET /items/{id} (router)', request: { url: `${platform.url}/v1/${appId}/items/${someId}`, headers: user }, cpu },
    { name: '  same SQL, direct', request: direct(getByKey), cpu },
    { name: 'GET /items?…limit=20 (router)', request: { url: `${platform.url}/v1/${appId}/items?n=gte.400&order=n.asc&limit=20`, headers: user }, cpu },
    { name: '  same SQL, direct', request: direct(list), cpu },
    { name: 'POST /items (router)', request: { url: `${platform.url}/v1/${appId}/items`, method: 'POST', headers: user, body: JSON.stringify({ title: 'bench', n: 7 }) }, cpu },
    { name: '  same SQL, direct', request: direct(insert), cpu },
  ]);
  const hello = measured[0]!;
  const rows: [Measurement, Measurement][] = [[measured[1]!, measured[2]!], [measured[3]!, measured[4]!], [measured[5]!, measured[6]!]];
  for (const [viaRouter, viaSql] of rows) printTable(`REST benchmark — ${viaRouter.name}`, [viaSql, viaRouter], viaSql);
  printTable('REST benchmark — against the bare hello Worker of this run', [hello, ...rows.map(([viaRouter]) => viaRouter)], hello);
  printTraces('REST hot path', [
    await traceRequest('GET /items/{id}', { url: `${platform.url}/v1/${appId}/items/${someId}`, headers: user }),
    await traceRequest('GET /items?…limit=20', { url: `${platform.url}/v1/${appId}/items?n=gte.400&order=n.asc&limit=20`, headers: user }),
    await traceRequest('POST /items', { url: `${platform.url}/v1/${appId}/items`, method: 'POST', headers: user, body: JSON.stringify({ title: 'bench', n: 7 }) }),
  ]);
} finally {
  await helloWorker.stop();
  await platform.stop();
}
