/**
 * A local fake of the parts of the Cloudflare API v4 the functions and hosting Workers use for Workers for
 * Platforms (https://developers.cloudflare.com/api — "Upload Worker Module" / "Delete Worker" of a
 * dispatch namespace script):
 *   PUT    /accounts/{account_id}/workers/dispatch/namespaces/{namespace}/scripts/{script_name}
 *          multipart/form-data → 200 { success: true, errors: [], messages: [], result: { id, … } }
 *   DELETE /accounts/{account_id}/workers/dispatch/namespaces/{namespace}/scripts/{script_name}
 *          → 200 { success: true, … }, 404 when there is no such script, 400 when the script has
 *          Durable Object classes and `?force=true` is not given
 * The upload is validated as the real API would refuse it: a `metadata` part that is JSON with a
 * `main_module` naming an ES module part of the form, a compatibility_date, bindings as an array
 * with unique names; every module part a file with a module content type
 * (`application/javascript+module`, `application/javascript`, `text/plain`, `application/wasm`,
 * `application/octet-stream`); a script name of lowercase letters,
 * digits, `-` and `_` (at most 63); Durable Object `migrations` (MultipleStepMigrations: `old_tag`
 * equal to the script's current tag — absent for a new script —, a `new_tag`, steps of
 * `new_sqlite_classes` / `deleted_classes` / `renamed_classes` that create only absent classes and
 * delete or rename only present ones) and `durable_object_namespace` bindings, each naming a class
 * the script has a namespace for after its migrations (https://developers.cloudflare.com/durable-objects/reference/durable-objects-migrations/).
 * Errors use the v4 envelope `{ success: false, errors: [{ code, message }] }`.
 * Tests read the stored uploads, queue failures, and (the fake dispatcher) fetch a script's modules
 * and metadata at `GET /__fake/scripts/{script_name}`.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One stored script as uploaded. */
export interface StoredScript {
  name: string;
  metadata: {
    main_module: string;
    compatibility_date: string;
    compatibility_flags?: string[];
    bindings: { type: string; name: string; [key: string]: unknown }[];
    tags?: string[];
    migrations?: { old_tag?: string; new_tag: string; steps: Record<string, unknown>[] };
  };
  /** The Durable Object migration tag the script is at (after this upload), if any. */
  migrationTag?: string;
  /** The classes the script has Durable Object namespaces for (after this upload's migrations). */
  durableObjectClasses?: string[];
  /** Module file name → source (text modules), or base64 of the bytes (wasm and data modules). */
  modules: Record<string, string>;
  /** Module file name → the part's content type. */
  contentTypes: Record<string, string>;
}

export interface FakeCloudflareApiOptions {
  apiToken: string;
  accountId: string;
  namespace: string;
}

export interface FakeCloudflareApi {
  /** Base URL, the value of CLOUDFLARE_API_URL (like https://api.cloudflare.com/client/v4). */
  url: string;
  /** Scripts currently in the namespace, by name. */
  scripts: Map<string, StoredScript>;
  /** Every API request seen (not the /__fake ones): method, path, status answered. */
  requests: { method: string; path: string; status: number }[];
  /** Makes the next request with this method answer `status` with a v4 error `message`. */
  failNext(failure: { method: string; status: number; code: number; message: string }): void;
  close(): Promise<void>;
}

const scriptName = /^[a-z0-9_-]{1,63}$/;
const textModuleTypes = new Set(['application/javascript+module', 'application/javascript', 'text/plain']);
const binaryModuleTypes = new Set(['application/wasm', 'application/octet-stream']);

/** Starts the fake on 127.0.0.1 (a free port). */
export async function startFakeCloudflareApi(options: FakeCloudflareApiOptions): Promise<FakeCloudflareApi> {
  const scripts = new Map<string, StoredScript>();
  const requests: FakeCloudflareApi['requests'] = [];
  const failures: { method: string; status: number; code: number; message: string }[] = [];
  const base = `/accounts/${options.accountId}/workers/dispatch/namespaces/${options.namespace}/scripts/`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const method = req.method ?? 'GET';
    const send = (status: number, payload: unknown) => {
      if (!path.startsWith('/__fake/')) requests.push({ method, path, status });
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    const fail = (status: number, code: number, message: string) => send(status, { success: false, errors: [{ code, message }], messages: [], result: null });

    if (method === 'GET' && path.startsWith('/__fake/scripts/')) {
      const stored = scripts.get(decodeURIComponent(path.slice('/__fake/scripts/'.length)));
      return stored ? send(200, stored) : send(404, { error: 'no such script' });
    }
    if (req.headers.authorization !== `Bearer ${options.apiToken}`) return fail(403, 10000, 'Authentication error');
    const failureIndex = failures.findIndex((f) => f.method === method);
    if (failureIndex >= 0) {
      const [failure] = failures.splice(failureIndex, 1);
      return fail(failure!.status, failure!.code, failure!.message);
    }
    if (!path.startsWith(base)) return fail(404, 7003, `Could not route to ${path}, perhaps your object identifier is invalid?`);
    const name = decodeURIComponent(path.slice(base.length));
    if (!scriptName.test(name)) return fail(400, 10016, `invalid script name "${name}"`);

    if (method === 'DELETE') {
      const existing = scripts.get(name);
      if (!existing) return fail(404, 10007, 'This Worker does not exist on your account.');
      if ((existing.durableObjectClasses ?? []).length > 0 && new URL(req.url ?? '/', 'http://x').searchParams.get('force') !== 'true') {
        return fail(400, 10064, `Cannot delete ${name}: it implements Durable Object classes (${existing.durableObjectClasses!.join(', ')}); pass force=true to delete them and their storage`);
      }
      scripts.delete(name);
      return send(200, { success: true, errors: [], messages: [], result: null });
    }
    if (method !== 'PUT') return fail(405, 10000, `method ${method} not allowed`);

    const contentType = req.headers['content-type'] ?? '';
    if (!contentType.startsWith('multipart/form-data')) return fail(400, 10001, 'Expected a multipart/form-data body');
    let form: FormData;
    try {
      form = await new Response(body, { headers: { 'content-type': contentType } }).formData();
    } catch (error) {
      return fail(400, 10001, `malformed multipart body: ${(error as Error).message}`);
    }
    const metadataPart = form.get('metadata') as unknown as string | Blob | null;
    if (metadataPart === null) return fail(400, 10021, 'No metadata part');
    let metadata: StoredScript['metadata'];
    try {
      metadata = JSON.parse(typeof metadataPart === 'string' ? metadataPart : await metadataPart.text());
    } catch {
      return fail(400, 10021, 'metadata is not JSON');
    }
    if (typeof metadata.main_module !== 'string') return fail(400, 10021, 'metadata.main_module is required');
    if (typeof metadata.compatibility_date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(metadata.compatibility_date)) return fail(400, 10021, 'metadata.compatibility_date must be YYYY-MM-DD');
    if (!Array.isArray(metadata.bindings)) return fail(400, 10021, 'metadata.bindings must be an array');
    const names = metadata.bindings.map((b) => b.name);
    if (new Set(names).size !== names.length) return fail(400, 10021, 'metadata.bindings has duplicate names');
    const modules: Record<string, string> = {};
    const contentTypes: Record<string, string> = {};
    for (const [part, entry] of form.entries()) {
      const value = entry as unknown as string | Blob;
      if (part === 'metadata') continue;
      if (typeof value === 'string') return fail(400, 10021, `part "${part}" is not a file`);
      if (!textModuleTypes.has(value.type) && !binaryModuleTypes.has(value.type)) return fail(400, 10021, `part "${part}" has content type "${value.type}", not a module type`);
      modules[part] = textModuleTypes.has(value.type) ? await value.text() : Buffer.from(await value.arrayBuffer()).toString('base64');
      contentTypes[part] = value.type;
    }
    if (contentTypes[metadata.main_module] !== 'application/javascript+module') return fail(400, 10021, `main_module "${metadata.main_module}" is not an ES module part of the upload`);
    const previous = scripts.get(name);
    const namespaces = new Set(previous?.durableObjectClasses ?? []);
    let migrationTag = previous?.migrationTag;
    if (metadata.migrations !== undefined) {
      const migrations = metadata.migrations;
      if (typeof migrations !== 'object' || migrations === null || typeof migrations.new_tag !== 'string' || !Array.isArray(migrations.steps)) {
        return fail(400, 10021, 'metadata.migrations must be { old_tag?, new_tag, steps: [] }');
      }
      if (migrations.old_tag !== migrationTag) {
        return fail(400, 10079, `Cannot apply migrations: old_tag ${JSON.stringify(migrations.old_tag ?? null)} does not match the script's current migration tag ${JSON.stringify(migrationTag ?? null)}`);
      }
      for (const step of migrations.steps) {
        for (const [kind, value] of Object.entries(step)) {
          if (!Array.isArray(value)) return fail(400, 10021, `migrations step ${kind} must be an array`);
          for (const item of value as unknown[]) {
            if (kind === 'new_sqlite_classes' && typeof item === 'string') {
              if (namespaces.has(item)) return fail(400, 10074, `Cannot create Durable Object class ${item}: it already exists`);
              namespaces.add(item);
            } else if (kind === 'deleted_classes' && typeof item === 'string') {
              if (!namespaces.delete(item)) return fail(400, 10074, `Cannot delete Durable Object class ${item}: it does not exist`);
            } else if (kind === 'renamed_classes' && typeof item === 'object' && item !== null && typeof (item as { from?: unknown }).from === 'string' && typeof (item as { to?: unknown }).to === 'string') {
              const { from, to } = item as { from: string; to: string };
              if (!namespaces.delete(from) || namespaces.has(to)) return fail(400, 10074, `Cannot rename Durable Object class ${from} to ${to}`);
              namespaces.add(to);
            } else {
              return fail(400, 10021, `migrations step ${kind} has an unsupported entry ${JSON.stringify(item)}`);
            }
          }
        }
      }
      migrationTag = migrations.new_tag;
    }
    for (const binding of metadata.bindings) {
      if (binding.type !== 'durable_object_namespace' || binding.script_name !== undefined) continue;
      if (typeof binding.class_name !== 'string' || !namespaces.has(binding.class_name)) {
        return fail(400, 10061, `Durable Object binding ${binding.name}: class ${String(binding.class_name)} has no namespace in this script (add a migration with new_sqlite_classes)`);
      }
    }
    scripts.set(name, { name, metadata, migrationTag, durableObjectClasses: [...namespaces].sort(), modules, contentTypes });
    return send(200, { success: true, errors: [], messages: [], result: { id: name, etag: String(scripts.size), tags: metadata.tags ?? [] } });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ success: false, errors: [{ code: 10013, message: String(error) }] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    scripts,
    requests,
    failNext(failure) {
      failures.push(failure);
    },
    close() {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
