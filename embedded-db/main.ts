/**
 * `npm run db`: runs the embedded database endpoint on its own (the dev command starts it for you).
 * Env: `BB_STATE_DIR` (default `.butterbase`), `BB_DB_PORT` (default 5488), `DATABASE_URL` (use a real
 * Postgres instead of PGlite), `BB_DB_IDLE_MS`, `BB_DB_MAX_OPEN`, `BB_DB_PGLITE_DRIVER` (`direct`, the
 * default, or `node-postgres`, the original path). Connection strings must carry the
 * password kept in `<state>/db.password`.
 */
import { resolve } from 'node:path';
import { openEmbeddedDb } from './open.ts';

const stateDir = resolve(process.env.BB_STATE_DIR ?? '.butterbase');
const db = await openEmbeddedDb({ stateDir, port: Number(process.env.BB_DB_PORT ?? 5488), log: (l) => console.log(`[db] ${l}`) });
console.log(`[db] ${db.backend} listening on ${db.url}/sql`);
console.log(`[db] connection strings: ${db.connectionString('<database>')} (password in ${stateDir}/db.password)`);
const stop = async () => {
  await db.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
