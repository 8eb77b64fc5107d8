/**
 * A local fake of the parts of Neon's API v2 the Neon provisioner uses, backed by a real database
 * server: databases it "creates" are created on the embedded endpoint (so the platform really works
 * on them). Endpoints (https://api-docs.neon.tech):
 *   POST   /projects/{project_id}/branches/{branch_id}/databases        → 201 {database, operations}
 *   DELETE /projects/{project_id}/branches/{branch_id}/databases/{name} → 200 {database, operations}
 *   GET    /projects/{project_id}/operations/{operation_id}            → 200 {operation}
 * Operations report `running` on creation and `finished` on the first poll. Errors use Neon's
 * `{ code, message }` body. Tests can queue failures, hold requests, and read the request log.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { neon, neonConfig } from '@neondatabase/serverless';

/** A canned failure for the next matching request. */
export interface InjectedFailure {
  method: string;
  status: number;
  message: string;
}

export interface FakeNeonApiOptions {
  apiKey: string;
  projectId: string;
  branchId: string;
  ownerRole: string;
  /** Neon-protocol endpoint + admin connection string the fake creates databases with. */
  sqlEndpoint: string;
  adminConnection: string;
}

export interface FakeNeonApi {
  url: string;
  /** Every request seen: method, path, body. */
  requests: { method: string; path: string; body: unknown }[];
  /** Makes the next request with this method fail with `status`. */
  failNext(failure: InjectedFailure): void;
  /** Holds create requests until `release()`; returns a promise that resolves once one is being held. */
  holdCreates(): Promise<void>;
  /** Lets held create requests proceed. */
  release(): void;
  close(): Promise<void>;
}

/** Starts the fake Neon API on 127.0.0.1 (a free port); databases are created on the embedded endpoint. */
export async function startFakeNeonApi(options: FakeNeonApiOptions): Promise<FakeNeonApi> {
  const requests: FakeNeonApi['requests'] = [];
  const failures: InjectedFailure[] = [];
  const operations = new Map<string, number>();
  let held: { promise: Promise<void>; release: () => void; seen: () => void; seenPromise: Promise<void> } | undefined;

  neonConfig.fetchEndpoint = options.sqlEndpoint;
  const admin = neon(options.adminConnection);

  const operation = () => {
    const id = crypto.randomUUID();
    operations.set(id, 0);
    return { id, project_id: options.projectId, branch_id: options.branchId, action: 'apply_config', status: 'running', failures_count: 0 };
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = text ? JSON.parse(text) : undefined;
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const method = req.method ?? 'GET';
    requests.push({ method, path, body });
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (req.headers.authorization !== `Bearer ${options.apiKey}`) return send(401, { code: '', message: 'authorization failed' });
    const failureIndex = failures.findIndex((f) => f.method === method);
    if (failureIndex >= 0) {
      const [failure] = failures.splice(failureIndex, 1);
      return send(failure!.status, { code: '', message: failure!.message });
    }
    const base = `/projects/${options.projectId}`;
    const databases = `${base}/branches/${options.branchId}/databases`;
    if (method === 'POST' && path === databases) {
      if (held) {
        held.seen();
        await held.promise;
      }
      const { name, owner_name: owner } = (body as { database: { name: string; owner_name: string } }).database;
      if (owner !== options.ownerRole) return send(404, { code: '', message: `role "${owner}" not found` });
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } catch (error) {
        if ((error as { code?: string }).code === '42P04') return send(409, { code: '', message: `database "${name}" already exists` });
        throw error;
      }
      return send(201, { database: { id: 1, branch_id: options.branchId, name, owner_name: owner }, operations: [operation()] });
    }
    if (method === 'DELETE' && path.startsWith(`${databases}/`)) {
      const name = decodeURIComponent(path.slice(databases.length + 1));
      try {
        await admin.query(`DROP DATABASE ${name}`);
      } catch (error) {
        if ((error as { code?: string }).code === '3D000') return send(404, { code: '', message: `database "${name}" not found` });
        throw error;
      }
      return send(200, { database: { name }, operations: [operation()] });
    }
    const op = new RegExp(`^${base}/operations/([^/]+)$`).exec(path);
    if (method === 'GET' && op) {
      const polls = operations.get(op[1]!);
      if (polls === undefined) return send(404, { code: '', message: 'operation not found' });
      operations.set(op[1]!, polls + 1);
      return send(200, { operation: { id: op[1], status: polls >= 0 ? 'finished' : 'running' } });
    }
    return send(404, { code: '', message: `no route ${method} ${path}` });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: '', message: String(error) }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(failure) {
      failures.push(failure);
    },
    holdCreates() {
      let release!: () => void;
      let seen!: () => void;
      const promise = new Promise<void>((r) => (release = r));
      const seenPromise = new Promise<void>((r) => (seen = r));
      held = { promise, release, seen, seenPromise };
      return seenPromise;
    },
    release() {
      held?.release();
      held = undefined;
    },
    close() {
      held?.release();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
