/**
 * Starts the whole platform locally: the embedded database endpoint, the control-plane migrations,
 * the bootstrap account and service key, and every Worker in one `wrangler dev` process (one `-c`
 * per Worker). Used by `npm run dev`, the integration tests and the benchmarks, so all three run
 * exactly the same thing.
 *
 * Per-instance settings (ports, database URLs, secrets) are written into generated wrangler configs
 * under `<stateDir>/run/`, never into the source tree, so several instances can run side by side.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { setPriority } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import { openEmbeddedDb, type EmbeddedDb } from '../../embedded-db/open.ts';
import { routerTargets, workerRegistry, workerSpec, type LocalSettings, type WorkerName } from '../../workers/registry.ts';
import { randomBase64, randomHex } from '../../workers/shared/crypto.ts';
import { createBootstrapKey, ensureDatabase, isLiveKey, migrateControlPlane, useFetchEndpoint } from './control-db.ts';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export type { WorkerName };

/** Options for {@link startPlatform}. */
export interface StartPlatformOptions {
  /** State folder (databases, Durable Object state, bootstrap key). */
  stateDir: string;
  /** Router port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** Embedded database port; 0 picks a free one. */
  dbPort: number;
  /** Use this real Postgres instead of PGlite. */
  databaseUrl?: string;
  /** Shared PGlite template directory (tests reuse one across runs). */
  templateDir?: string;
  /** Close idle PGlite databases after this long (ms). */
  dbIdleMs?: number;
  /** Most PGlite databases open at once. */
  dbMaxOpen?: number;
  /** Extra vars per Worker (override the defaults), e.g. `{ control: { PROVISIONER: 'neon' } }`. */
  vars?: Partial<Record<WorkerName, Record<string, string>>>;
  /** Changes to a Worker's generated config (tests: e.g. another `main` wrapping the Worker with a fake binding). */
  configs?: Partial<Record<WorkerName, (config: WorkerConfig) => WorkerConfig>>;
  /** wrangler's log level. Default `warn`. */
  logLevel?: 'debug' | 'info' | 'log' | 'warn' | 'error' | 'none';
  /** Where platform output goes. Default: this process's stdout. */
  log?: (line: string) => void;
  /** Max wait for readiness. Default 180 s. */
  readyTimeoutMs?: number;
  /**
   * Run the platform's minute tick (the router's scheduled handler) this often; 0 = only once at
   * start-up (the default; tests drive ticks themselves). `npm run dev` uses 60 000.
   */
  tickEveryMs?: number;
}

/** A running platform. */
export interface Platform {
  /** Router base URL, e.g. `http://127.0.0.1:8787`. */
  url: string;
  /** The bootstrap account's service key. */
  serviceKey: string;
  /**
   * The local S3-compatible endpoint (path style, `{endpoint}/{bucket}/{key}`) and its key pair, for
   * S3 clients such as the aws cli (`--endpoint-url`). Kept in `<stateDir>/s3-credentials.json`.
   */
  s3: LocalS3;
  /** True when this start created the key (it has not been shown before). */
  serviceKeyIsNew: boolean;
  accountId: string;
  /** Embedded database endpoint (Neon protocol at `${dbUrl}/sql`). */
  dbUrl: string;
  /** Connection strings the Workers use, for tests that inspect the database directly. */
  connections: { control: string; appTemplate: string; admin: string };
  /** What each Worker was configured from (the master key among it), for in-process route tests. */
  local: LocalSettings;
  /** The process group of wrangler and its workerd (benchmarks read their CPU time from /proc). */
  processGroup: number;
  /** Stops wrangler, then the database (committed data is kept). */
  stop(): Promise<void>;
  /** Simulates a crash: SIGKILLs every Worker at once (in-flight work is lost), then closes the database. */
  crash(): Promise<void>;
  /** Resolves when wrangler exits (for whatever reason). */
  exited: Promise<number | null>;
  /**
   * Runs the platform's minute tick now (the router's scheduled handler: app-database upgrades,
   * housekeeping, cron functions) and resolves when it finished. `scheduledTimeMs` fixes the clock.
   */
  tick(scheduledTimeMs?: number): Promise<void>;
}

/** The local S3 endpoint of a running platform. */
export interface LocalS3 {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

interface S3CredentialsFile {
  access_key_id: string;
  secret_access_key: string;
}

/**
 * The local S3 key pair, created on first run (file mode 0600) like the service key: 32 and 64 hex
 * characters, the shape of an R2 API token's S3 credentials.
 */
async function localS3Credentials(stateDir: string): Promise<S3CredentialsFile> {
  const path = join(stateDir, 's3-credentials.json');
  try {
    const stored = JSON.parse(await readFile(path, 'utf8')) as S3CredentialsFile;
    if (/^[0-9a-f]{32}$/.test(stored.access_key_id) && /^[0-9a-f]{64}$/.test(stored.secret_access_key)) return stored;
  } catch {
    /* created below */
  }
  const created: S3CredentialsFile = { access_key_id: randomHex(16), secret_access_key: randomHex(32) };
  await writeFile(path, `${JSON.stringify(created, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return created;
}

/** Finds a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

async function readOrCreateSecret(path: string, create: () => string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    const value = create();
    await writeFile(path, `${value}\n`, { mode: 0o600 });
    await chmod(path, 0o600);
    return value;
  }
}

interface BootstrapFile {
  account_id: string;
  service_key: string;
}

/**
 * Returns the bootstrap account and key, creating them on first run (file mode 0600). A stored key
 * that was revoked is replaced by a new one.
 */
async function bootstrapAccount(stateDir: string, controlUrl: string): Promise<{ accountId: string; key: string; isNew: boolean }> {
  const path = join(stateDir, 'bootstrap.json');
  let stored: BootstrapFile | undefined;
  try {
    stored = JSON.parse(await readFile(path, 'utf8')) as BootstrapFile;
  } catch {
    stored = undefined;
  }
  if (stored && (await isLiveKey(controlUrl, stored.account_id, stored.service_key))) {
    return { accountId: stored.account_id, key: stored.service_key, isNew: false };
  }
  const { accountId, minted } = await createBootstrapKey(controlUrl);
  const file: BootstrapFile = { account_id: accountId, service_key: minted.plaintext };
  await writeFile(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return { accountId, key: minted.plaintext, isNew: true };
}

/** A Worker's wrangler config as parsed from its wrangler.toml. */
export type WorkerConfig = Record<string, unknown>;

/**
 * A Worker's wrangler.toml as the platform runs it: `main` made absolute and, for the router, one
 * service binding per Worker the registry says it forwards to (workers/registry.ts), so the router's
 * bindings are never listed by hand.
 */
export async function readWorkerConfig(name: WorkerName): Promise<WorkerConfig> {
  const source = join(repoRoot, workerSpec(name).config);
  const parsed = parseToml(await readFile(source, 'utf8')) as WorkerConfig;
  const config: WorkerConfig = { ...parsed, main: resolve(dirname(source), String(parsed.main)) };
  if (name === 'router') {
    const listed = (parsed.services as { binding: string }[] | undefined) ?? [];
    config.services = [...listed, ...routerTargets().map((t) => ({ binding: t.binding, service: t.script }))];
  }
  return config;
}

/**
 * Writes one generated wrangler config (JSON) for `name`: {@link readWorkerConfig} with the extra
 * `vars` and an optional `transform` (e.g. dropping a binding). Returns the file's path.
 */
export async function writeWorkerConfig(
  outDir: string,
  name: WorkerName,
  vars: Record<string, string> = {},
  transform: (config: WorkerConfig) => WorkerConfig = (config) => config,
): Promise<string> {
  const parsed = await readWorkerConfig(name);
  const config = transform({
    ...parsed,
    vars: { ...(parsed.vars as Record<string, string> | undefined), ...vars },
  });
  await mkdir(outDir, { recursive: true });
  const out = join(outDir, `${name}.json`);
  await writeFile(out, JSON.stringify(config, null, 2), { mode: 0o600 });
  return out;
}

async function waitReady(url: string, wrangler: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (wrangler.exitCode !== null) throw new Error(`wrangler exited with code ${wrangler.exitCode} before the platform was ready`);
    try {
      const response = await fetch(`${url}/health/ready`);
      if (response.ok) return;
      lastError = `${response.status} ${await response.text()}`;
    } catch (error) {
      lastError = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the platform did not become ready within ${timeoutMs} ms (last: ${lastError})`);
}

/**
 * Starts the platform and resolves once `/health/ready` answers.
 * @throws Error when a port is taken, wrangler fails to start, or readiness times out.
 */
export async function startPlatform(options: StartPlatformOptions): Promise<Platform> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const stateDir = resolve(options.stateDir);
  const runDir = join(stateDir, 'run');
  await mkdir(runDir, { recursive: true, mode: 0o700 });

  const db: EmbeddedDb = await openEmbeddedDb({
    stateDir,
    port: options.dbPort,
    databaseUrl: options.databaseUrl,
    templateDir: options.templateDir,
    idleMs: options.dbIdleMs,
    maxOpen: options.dbMaxOpen,
    log: (line) => log(`[db] ${line}`),
  });
  let wrangler: ChildProcess | undefined;
  try {
    const fetchEndpoint = `${db.url}/sql`;
    useFetchEndpoint(fetchEndpoint);
    // The endpoint refuses any other user or password (embedded-db/credentials.ts).
    const connections = {
      admin: db.connectionString('postgres'),
      control: db.connectionString('butterbase_control'),
      appTemplate: db.connectionString('{db}'),
    };
    await ensureDatabase(connections.admin, 'butterbase_control');
    const migrated = await migrateControlPlane(connections.control, join(repoRoot, 'migrations'));
    if (migrated.applied.length > 0) log(`[db] applied control-plane migrations: ${migrated.applied.join(', ')}`);
    const masterKey = await readOrCreateSecret(join(stateDir, 'master.key'), () => randomBase64(32));
    const account = await bootstrapAccount(stateDir, connections.control);
    const s3Credentials = await localS3Credentials(stateDir);

    const port = options.port === 0 ? await freePort() : options.port;
    const inspectorPort = await freePort();
    const local: LocalSettings = {
      fetchEndpoint,
      controlDatabaseUrl: connections.control,
      adminDatabaseUrl: connections.admin,
      appDatabaseUrlTemplate: connections.appTemplate,
      masterKey,
      publicUrl: `http://127.0.0.1:${port}`,
      port,
      s3AccessKeyId: s3Credentials.access_key_id,
      s3SecretAccessKey: s3Credentials.secret_access_key,
    };
    const configFiles: string[] = [];
    for (const worker of workerRegistry) {
      const vars = { ...('localVars' in worker ? worker.localVars(local) : {}), ...options.vars?.[worker.name] };
      configFiles.push(await writeWorkerConfig(runDir, worker.name, vars, options.configs?.[worker.name]));
    }
    const args = [
      'dev',
      ...configFiles.flatMap((file) => ['-c', file]),
      '--ip', '127.0.0.1',
      '--port', String(port),
      '--inspector-port', String(inspectorPort),
      '--persist-to', join(stateDir, 'wrangler'),
      '--log-level', options.logLevel ?? 'warn',
      '--show-interactive-dev-session=false',
    ];
    wrangler = spawn(join(repoRoot, 'node_modules/.bin/wrangler'), args, {
      cwd: repoRoot,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        WRANGLER_REGISTRY_PATH: join(stateDir, 'registry'),
        WRANGLER_SEND_METRICS: 'false',
        WRANGLER_LOG_PATH: join(stateDir, 'logs'),
        NO_COLOR: '1',
      },
    });
    const forward = (prefix: string) => (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        // The tick is driven by this process, so wrangler's note that cron does not fire by itself is noise.
        const noise = /Unable to fetch the `Request\.cf`|getaddrinfo ENOTFOUND workers\.cloudflare\.com|GetAddrInfoReqWrap|Scheduled Workers are not automatically triggered|To manually trigger a scheduled event|cdn-cgi\/handler\/scheduled|cron-triggers\/#test-cron-triggers-locally/;
        if (line.trim() !== '' && !noise.test(line)) {
          log(`${prefix}${line}`);
        }
      }
    };
    wrangler.stdout!.on('data', forward('[workers] '));
    wrangler.stderr!.on('data', forward('[workers] '));
    const exited = new Promise<number | null>((r) => wrangler!.once('exit', (code) => r(code)));
    const url = `http://127.0.0.1:${port}`;
    await waitReady(url, wrangler, options.readyTimeoutMs ?? 180_000);
    yieldFileWatcher(wrangler.pid!);
    const tick = (scheduledTimeMs?: number) => runTick(url, scheduledTimeMs);
    // Apps created by an older build are upgraded before anything is served from them.
    await tick();
    const ticker = options.tickEveryMs ? setInterval(() => void tick().catch((error: unknown) => log(`[tick] ${String(error)}`)), options.tickEveryMs) : undefined;
    ticker?.unref();

    let stopping: Promise<void> | undefined;
    const child = wrangler;
    return {
      tick,
      url,
      serviceKey: account.key,
      s3: {
        endpoint: `${url}/s3`,
        bucket: String(((await readWorkerConfig('storage')).vars as Record<string, string>).S3_BUCKET),
        region: 'auto',
        accessKeyId: s3Credentials.access_key_id,
        secretAccessKey: s3Credentials.secret_access_key,
      },
      serviceKeyIsNew: account.isNew,
      accountId: account.accountId,
      dbUrl: db.url,
      connections,
      local,
      processGroup: child.pid!,
      exited,
      stop() {
        clearInterval(ticker);
        stopping ??= (async () => {
          await stopProcessGroup(child, exited);
          await db.close();
        })();
        return stopping;
      },
      crash() {
        clearInterval(ticker);
        stopping ??= (async () => {
          if (child.pid !== undefined) {
            try {
              process.kill(-child.pid, 'SIGKILL');
            } catch {
              /* already gone */
            }
          }
          await exited;
          await db.close();
        })();
        return stopping;
      },
    };
  } catch (error) {
    if (wrangler) await stopProcessGroup(wrangler, new Promise((r) => wrangler!.once('exit', r)));
    await db.close();
    throw error;
  }
}

/**
 * Fires the router's scheduled handler through wrangler dev's `/cdn-cgi/handler/scheduled` (it waits
 * for the handler to finish). @throws Error when the handler does not run.
 */
async function runTick(url: string, scheduledTimeMs?: number): Promise<void> {
  const query = new URLSearchParams({ cron: '* * * * *' });
  if (scheduledTimeMs !== undefined) query.set('time', String(scheduledTimeMs));
  const response = await fetch(`${url}/cdn-cgi/handler/scheduled?${query}`);
  if (!response.ok) throw new Error(`the scheduled handler answered ${response.status}: ${await response.text()}`);
}

/**
 * Lowers the priority of wrangler's bundler (esbuild) in process group `pgid` to the least (nice 19).
 * Its watch mode polls every file the ten bundles read — measured 126 ms of CPU per second on an
 * idle platform, 6 % of a 2-core machine — so the Workers, the database and the tests come first;
 * an edited source still rebuilds, only later when the machine is saturated.
 */
export function yieldFileWatcher(pgid: number): void {
  for (const { pid, command } of processGroupMembers(pgid)) {
    if (command !== 'esbuild') continue;
    try {
      setPriority(pid, 19);
    } catch {
      /* exited meanwhile */
    }
  }
}

/** The live processes of process group `pgid`: pid, command name and `/proc/<pid>/stat` text. */
export function processGroupMembers(pgid: number): { pid: number; command: string; stat: string }[] {
  const members: { pid: number; command: string; stat: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // After the command in parentheses: state(0) ppid(1) pgrp(2) …
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue;
      members.push({ pid: Number(entry), command: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), stat });
    } catch {
      /* exited meanwhile */
    }
  }
  return members;
}

/** SIGTERM to wrangler's process group (it spawns workerd), SIGKILL after 10 s. */
async function stopProcessGroup(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      /* already gone */
    }
  };
  kill('SIGTERM');
  const timer = setTimeout(() => kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
  // workerd may outlive wrangler briefly; make sure nothing of the group is left.
  kill('SIGKILL');
}

