/**
 * A local fake of Cloudflare's custom hostname API (Cloudflare for SaaS), the parts the hosting
 * Worker's custom-domain provider uses (API v4, `Authorization: Bearer`, `{ success, errors, messages,
 * result }` envelopes):
 *   POST   /zones/{zone}/custom_hostnames        { hostname, ssl: { method: http|txt, type: dv } }
 *   GET    /zones/{zone}/custom_hostnames/{id}
 *   PATCH  /zones/{zone}/custom_hostnames/{id}   { ssl } (re-validation: counted, status unchanged)
 *   DELETE /zones/{zone}/custom_hostnames/{id}
 * A new hostname is `pending` with `ssl.status: pending_validation`, an ownership TXT record and the
 * certificate's DCV record (TXT for `txt`, an HTTP token for `http`); `activate(hostname)` makes it
 * `active` as Cloudflare does once DNS is in place. A hostname already on the zone is refused with
 * Cloudflare's code 1406; a wrong token with 10000. Tests read the request log and queue failures.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Hostname {
  id: string;
  hostname: string;
  status: string;
  ssl: Record<string, unknown>;
  ownership_verification: { type: 'txt'; name: string; value: string };
  ownership_verification_http: { http_url: string; http_body: string };
  verification_errors?: string[];
  created_at: string;
}

/** The fake's handle. */
export interface FakeCloudflareSaas {
  url: string;
  /** Every request seen. */
  requests: { method: string; path: string; body: unknown }[];
  /** The hostnames on the zone now. */
  hostnames(): string[];
  /** Marks a hostname active (ownership and certificate validated). */
  activate(hostname: string): void;
  /** Makes the next request with this method answer `status` with a Cloudflare error. */
  failNext(method: string, status: number, message: string): void;
  close(): Promise<void>;
}

/** Starts the fake on a free loopback port for `zoneId`, accepting only `token`. */
export async function startFakeCloudflareSaas(options: { token: string; zoneId: string }): Promise<FakeCloudflareSaas> {
  const byId = new Map<string, Hostname>();
  const requests: FakeCloudflareSaas['requests'] = [];
  const failures: { method: string; status: number; message: string }[] = [];
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const ok = (res: ServerResponse, result: unknown, status = 200) => send(res, status, { success: true, errors: [], messages: [], result });
  const fail = (res: ServerResponse, status: number, code: number, message: string) => send(res, status, { success: false, errors: [{ code, message }], messages: [], result: null });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let body: any = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      return fail(res, 400, 6007, 'Malformed JSON in request body');
    }
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    requests.push({ method: req.method ?? 'GET', path, body });
    if (req.headers.authorization !== `Bearer ${options.token}`) return fail(res, 403, 10000, 'Authentication error');
    const failure = failures.findIndex((f) => f.method === req.method);
    if (failure >= 0) {
      const [f] = failures.splice(failure, 1);
      return fail(res, f!.status, 1000, f!.message);
    }
    const match = /^\/zones\/([^/]+)\/custom_hostnames(?:\/([^/]+))?$/.exec(path);
    if (!match || match[1] !== options.zoneId) return fail(res, 404, 7003, 'Could not route to this path');
    const id = match[2];
    if (!id && req.method === 'POST') {
      const hostname = String(body?.hostname ?? '');
      const method = body?.ssl?.method;
      if (!hostname || (method !== 'http' && method !== 'txt') || body?.ssl?.type !== 'dv') return fail(res, 400, 1409, 'Invalid custom hostname request');
      if ([...byId.values()].some((h) => h.hostname === hostname)) return fail(res, 409, 1406, 'Duplicate custom hostname found.');
      const newId = crypto.randomUUID();
      const token = crypto.randomUUID();
      const record: Hostname = {
        id: newId,
        hostname,
        status: 'pending',
        ssl: method === 'txt'
          ? { id: crypto.randomUUID(), type: 'dv', method, status: 'pending_validation', txt_name: `_acme-challenge.${hostname}`, txt_value: token }
          : { id: crypto.randomUUID(), type: 'dv', method, status: 'pending_validation', http_url: `http://${hostname}/.well-known/acme-challenge/${newId}`, http_body: token },
        ownership_verification: { type: 'txt', name: `_cf-custom-hostname.${hostname}`, value: crypto.randomUUID() },
        ownership_verification_http: { http_url: `http://${hostname}/.well-known/cf-custom-hostname-challenge/${newId}`, http_body: crypto.randomUUID() },
        verification_errors: ['custom hostname does not CNAME to this zone.'],
        created_at: new Date().toISOString(),
      };
      byId.set(newId, record);
      return ok(res, record, 201);
    }
    const record = id ? byId.get(id) : undefined;
    if (!record) return fail(res, 404, 1436, 'The custom hostname was not found.');
    if (req.method === 'GET') return ok(res, record);
    if (req.method === 'PATCH') return ok(res, record);
    if (req.method === 'DELETE') {
      byId.delete(record.id);
      return ok(res, { id: record.id });
    }
    return fail(res, 405, 10405, 'Method not allowed');
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => fail(res, 500, 1000, String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    hostnames: () => [...byId.values()].map((h) => h.hostname),
    activate(hostname) {
      const record = [...byId.values()].find((h) => h.hostname === hostname);
      if (!record) throw new Error(`no custom hostname ${hostname}`);
      record.status = 'active';
      record.ssl = { ...record.ssl, status: 'active' };
      delete record.verification_errors;
    },
    failNext(method, status, message) {
      failures.push({ method, status, message });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
