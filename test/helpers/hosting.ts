/**
 * Helpers for the hosting tests: zips built with fflate, app-host requests with a real Host header
 * (node:http — fetch cannot set Host), and the deploy flow (create → PUT zip → start → poll).
 */
import { request as httpRequest } from 'node:http';
import { zipSync, type Zippable } from 'fflate';
import { inject } from 'vitest';
import { api } from './api.ts';

/** What a site request returned. */
export interface SiteResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

/**
 * A request to `{subdomain}.localhost:{port}` through the router, over TCP to 127.0.0.1.
 * `platformUrl`: another platform than the shared test platform.
 */
export function siteRequest(subdomain: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string; platformUrl?: string } = {}): Promise<SiteResponse> {
  const base = new URL(options.platformUrl ?? inject('platformUrl'));
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: base.hostname,
      port: base.port,
      path,
      method: options.method ?? 'GET',
      headers: { host: `${subdomain}.localhost:${base.port}`, ...options.headers },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.body) req.write(options.body);
    req.end();
  });
}

/** A zip of `files` (path → text or bytes). */
export function zipOf(files: Record<string, string | Uint8Array>, options: Parameters<typeof zipSync>[1] = {}): Uint8Array {
  const entries: Zippable = {};
  for (const [path, content] of Object.entries(files)) entries[path] = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  return zipSync(entries, options);
}

/** The deployment routes' base: `frontend` (static, API.md §10.2) or `edge-ssr` (§10.3). */
export type DeploymentBase = 'frontend' | 'edge-ssr';

/** Creates a deployment and uploads `zip` to its upload URL. Out: the deployment id and the PUT status. */
export async function createAndUpload(appId: string, zip: Uint8Array, framework = 'react-vite', base: DeploymentBase = 'frontend'): Promise<{ id: string; uploadStatus: number; uploadBody: string }> {
  const created = await api(`/v1/${appId}/${base}/deployments`, { body: { framework } });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${created.text}`);
  const put = await fetch(created.body.uploadUrl, { method: 'PUT', headers: { 'content-type': 'application/zip' }, body: zip });
  return { id: created.body.id, uploadStatus: put.status, uploadBody: await put.text() };
}

/** Polls GET …/deployments/{id} until it leaves WAITING/UPLOADING/BUILDING. */
export async function waitForDeployment(appId: string, id: string, timeoutMs = 60_000, base: DeploymentBase = 'frontend'): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await api(`/v1/${appId}/${base}/deployments/${id}`);
    if (res.status !== 200) throw new Error(`get: ${res.status} ${res.text}`);
    if (!['WAITING', 'UPLOADING', 'BUILDING'].includes(res.body.status)) return res.body;
    if (Date.now() > deadline) throw new Error(`deployment ${id} still ${res.body.status}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Deploys `zip` and waits for the outcome. */
export async function deploy(appId: string, zip: Uint8Array, framework = 'react-vite', base: DeploymentBase = 'frontend'): Promise<any> {
  const { id, uploadStatus, uploadBody } = await createAndUpload(appId, zip, framework, base);
  if (uploadStatus !== 200) throw new Error(`upload: ${uploadStatus} ${uploadBody}`);
  const started = await api(`/v1/${appId}/${base}/deployments/${id}/start`, { method: 'POST' });
  if (started.status !== 200) throw new Error(`start: ${started.status} ${started.text}`);
  return waitForDeployment(appId, id, 60_000, base);
}

/** The app's subdomain (from the control database). */
export async function subdomainOf(appId: string): Promise<string> {
  const { controlDb } = await import('./control-db.ts');
  const rows = await controlDb().query('SELECT subdomain FROM apps WHERE id = $1', [appId]);
  return rows[0]!.subdomain as string;
}

/**
 * A PUT of `declaredLength` zero bytes (written in 1 MiB chunks while the server may already have
 * answered), resolving on the server's answer; a reset after the answer is not an error.
 */
export function putDeclaringLength(url: string, declaredLength: number, contentType = 'application/zip'): Promise<{ status: number; body: any }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method: 'PUT',
      headers: { 'content-type': contentType, 'content-length': String(declaredLength) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        req.destroy();
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode!, body: parsed });
      });
    });
    req.on('error', (error) => (['ECONNRESET', 'EPIPE'].includes((error as NodeJS.ErrnoException).code ?? '') ? undefined : reject(error)));
    const chunk = Buffer.alloc(1024 * 1024);
    let left = declaredLength;
    const pump = () => {
      while (left > 0 && !req.destroyed) {
        const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
        left -= piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      if (!req.destroyed) req.end();
    };
    pump();
  });
}

/**
 * One tools/call through the real MCP Inspector CLI (`--cli <url>/mcp --transport http`) with the
 * bootstrap service key. Out: the result flag and the text parsed as JSON (or the raw text).
 */
export async function inspectorCall(name: string, args: Record<string, unknown>): Promise<{ isError: boolean; json: any; text: string }> {
  const { execFile } = await import('node:child_process');
  const { join } = await import('node:path');
  const { repoRoot } = await import('../../scripts/lib/platform.ts');
  const cli = join(repoRoot, 'node_modules/@modelcontextprotocol/inspector/cli/build/cli.js');
  const toolArgs = Object.entries(args).flatMap(([k, v]) => ['--tool-arg', `${k}=${JSON.stringify(v)}`]);
  const { devProxyLostMessage } = await import('../../scripts/lib/dev-proxy.ts');
  const run = () => new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [cli, '--cli', `${inject('platformUrl')}/mcp`, '--transport', 'http', '--header', `Authorization: Bearer ${inject('serviceKey')}`,
      '--method', 'tools/call', '--tool-name', name, ...toolArgs], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, out, err) => (error ? reject(new Error(`${error.message}: ${err}`)) : resolve(out)));
  });
  let stdout: string;
  for (let attempt = 1; ; attempt++) {
    try {
      stdout = await run();
      break;
    } catch (error) {
      // The dev proxy's lost request (scripts/lib/dev-proxy.ts) never reached the platform: send it again.
      if (attempt >= 3 || !String((error as Error).message).includes(devProxyLostMessage)) throw error;
    }
  }
  const result = JSON.parse(stdout) as { content: { text: string }[]; isError?: boolean };
  const text = result.content.map((c) => c.text).join('');
  let json: unknown = text;
  try { json = JSON.parse(text); } catch { /* text */ }
  return { isError: result.isError === true, json, text };
}

/** The seeds' chat room (durable-objects skill, "Chat room (broadcast)"), verbatim. */
export const chatRoom = `export class ChatRoom {
  constructor(public state: DurableObjectState, public env: any) {}
  async fetch(req: Request): Promise<Response> {
    if (req.headers.get("Upgrade") === "websocket") {
      const pair = new WebSocketPair();
      this.state.acceptWebSocket(pair[1]);
      const history = (await this.state.storage.get("messages")) ?? [];
      pair[1].send(JSON.stringify({ type: "init", messages: history }));
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    return Response.json(await this.state.storage.get("messages") ?? []);
  }
  async webSocketMessage(ws: WebSocket, msg: string | ArrayBuffer) {
    if (typeof msg !== "string") return;
    const history: any[] = (await this.state.storage.get("messages")) ?? [];
    const parsed = JSON.parse(msg);
    history.push(parsed);
    await this.state.storage.put("messages", history.slice(-200));
    for (const peer of this.state.getWebSockets()) {
      try { peer.send(msg); } catch {}
    }
  }
}`;
