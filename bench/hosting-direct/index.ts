/**
 * The hosting benchmark's baseline Worker: `PUT /r2/{key}` stores the body, `GET /r2/{key}` streams it
 * from the R2 binding; `GET /do/{id}` asks a bare Durable Object (which counts in its storage, like
 * the benchmark's user class) and returns its JSON. `/` answers "ready".
 */
import { DurableObject } from 'cloudflare:workers';

interface Env {
  FILES: R2Bucket;
  BARE: DurableObjectNamespace<Bare>;
}

/** Counts requests in storage and answers `{ n }`. */
export class Bare extends DurableObject<Env> {
  override async fetch(): Promise<Response> {
    const n = ((await this.ctx.storage.get<number>('n')) ?? 0) + 1;
    await this.ctx.storage.put('n', n);
    return Response.json({ n });
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const [, kind, key] = url.pathname.split('/');
    if (!kind) return new Response('ready');
    if (kind === 'r2' && key) {
      if (request.method === 'PUT') {
        await env.FILES.put(key, request.body);
        return new Response(null, { status: 204 });
      }
      const object = await env.FILES.get(key);
      if (!object) return new Response('not found', { status: 404 });
      return new Response(object.body, { headers: { 'content-type': 'text/javascript; charset=utf-8', etag: object.httpEtag } });
    }
    if (kind === 'do' && key) return env.BARE.get(env.BARE.idFromName(key)).fetch(request);
    return new Response('not found', { status: 404 });
  },
} satisfies ExportedHandler<Env>;
