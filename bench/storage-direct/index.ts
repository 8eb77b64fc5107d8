/**
 * The storage benchmark's baseline Worker: `PUT /{key}` stores the body with `FILES.put`, `GET /{key}`
 * streams it back from `FILES.get`; `GET /{key}?read` reads it whole inside the Worker and answers
 * only how long that took. Every answer carries `x-binding-ms`: the time spent in the R2 binding call
 * (put: including receiving the body). `/` answers "ready".
 */
interface Env {
  FILES: R2Bucket;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const key = url.pathname.slice(1);
    if (key === '') return new Response('ready');
    const started = Date.now();
    if (request.method === 'PUT') {
      const object = await env.FILES.put(key, request.body);
      return new Response(null, { status: 200, headers: { etag: object?.httpEtag ?? '', 'x-binding-ms': String(Date.now() - started) } });
    }
    const object = await env.FILES.get(key);
    if (!object) return new Response('not found', { status: 404 });
    if (url.searchParams.has('read')) {
      const size = (await object.arrayBuffer()).byteLength;
      return new Response(String(size), { headers: { 'x-binding-ms': String(Date.now() - started) } });
    }
    return new Response(object.body, { headers: { 'x-binding-ms': String(Date.now() - started) } });
  },
} satisfies ExportedHandler<Env>;
