/**
 * The platform's module text around a user Durable Object class (API.md §10.1), one generator for
 * both runners (DESIGN.md "User code"): the Worker Loader facet of UserObjectHost
 * ({@link hostedModule}: `hosted.js` beside the user's `class.js`) and the app's Workers for Platforms
 * script (workers/hosting/services/do-script.ts: one {@link hostedClassSource} per class, the
 * {@link butterbaseGlobalSource} once in the entry module). Each wrapper extends the user's class so
 * the host can probe construction and a class without fetch answers 501; the global `butterbase`
 * gives `ctx(req, env, state)`.
 */
import { callerHeader, loopDepthHeader, sessionHeader, userIdHeader } from '../workers/hosting/routes/durable-objects-edge.ts';

/** Headers only the platform sets (clients' x-bb-* headers never get this far): probe, purge. */
export const controlHeaders = { probe: 'x-bb-do-probe', purge: 'x-bb-do-purge' } as const;

/** The env binding through which `butterbase.ctx` reaches invoke / invokeDO (left out of `ctx.env`). */
export const contextBinding = 'BUTTERBASE_CTX';

/** The local name the user's class is imported as (user class names are PascalCase, so it cannot collide). */
const userClassAlias = '__ButterbaseUserClass';

/**
 * The global `butterbase` with `ctx(req, env, state)` (API.md §10.1), as module top-level code (no
 * imports), for app `appId`. `ctx` gives:
 * - `invoke(name, body?, { method? })` → the function's Response, and `invokeDO(name, instance, body?,
 *   { method?, path?, headers? })` → the class's Response: both through the functions Worker's
 *   FunctionSession ({@link contextBinding}) with the request's session token (same app; depth
 *   shared, > 4 refused); a refusal throws an Error with `code`, `remediation` and `details`;
 * - `env`: the class's env vars and `BUTTERBASE_APP_ID`, without the capability binding;
 * - `user` (`{ id }` of the verified end user, else null) and `request` (`caller`: `fn:<name>`,
 *   `do:<name>:<instance>` or null on the public edge; `loopDepth`).
 */
export function butterbaseGlobalSource(appId: string): string {
  return `function platformError(error) {
  return Object.assign(new Error(error.message), { code: error.code, remediation: error.remediation, details: error.details });
}

globalThis.butterbase = Object.freeze({
  ctx(req, env, state) {
    const headers = req && req.headers instanceof Headers ? req.headers : new Headers();
    const session = headers.get('${sessionHeader}');
    const host = env && env.${contextBinding};
    const call = async (promise) => {
      const result = await promise;
      if (!result.ok) throw platformError(result.error);
      return result.value;
    };
    const needSession = () => {
      if (!session || !host) throw Object.assign(new Error('butterbase.ctx(req, env, state) needs the request your fetch received and this.env.'), { code: 'STATE_PREREQUISITE_MISSING' });
    };
    const publicEnv = {};
    for (const [key, value] of Object.entries(env ?? {})) if (key !== '${contextBinding}') publicEnv[key] = value;
    publicEnv.BUTTERBASE_APP_ID = ${JSON.stringify(appId)};
    const userId = headers.get('${userIdHeader}');
    const depth = Number(headers.get('${loopDepthHeader}') ?? 0);
    return {
      env: Object.freeze(publicEnv),
      user: userId ? { id: userId } : null,
      request: { caller: headers.get('${callerHeader}'), loopDepth: Number.isInteger(depth) ? depth : 0 },
      invoke: async (name, body, options) => {
        needSession();
        return call(host.invoke(session, String(name), body === undefined ? null : JSON.stringify(body), options ?? {}));
      },
      invokeDO: async (name, instance, body, options) => {
        needSession();
        const opts = options ?? {};
        return call(host.invokeDO(session, String(name), String(instance ?? ''), body === undefined ? null : JSON.stringify(body), {
          method: opts.method === undefined ? undefined : String(opts.method),
          path: opts.path === undefined ? undefined : String(opts.path),
          headers: opts.headers === undefined ? undefined : (opts.headers instanceof Headers ? Object.fromEntries(opts.headers) : opts.headers),
        }));
      },
    };
  },
});
`;
}

/**
 * A module exporting `exportAs`: the user's class `className`, imported from `classModule` (a
 * relative specifier such as `./class.js`), extended so a fetch with the probe header
 * ({@link controlHeaders}) answers 204 right after construction and a class without `fetch` answers 501.
 */
export function hostedClassSource(className: string, classModule: string, exportAs: string): string {
  return `import { ${className} as ${userClassAlias} } from ${JSON.stringify(classModule)};

export class ${exportAs} extends ${userClassAlias} {
  async fetch(request) {
    if (request.headers.get('${controlHeaders.probe}') === '1') return new Response(null, { status: 204 });
    if (typeof super.fetch !== 'function') return new Response('This Durable Object has no fetch handler.', { status: 501 });
    return super.fetch(request);
  }
}
`;
}

/**
 * The module a UserObjectHost facet runs (`hosted.js`, main module; the user's module is `class.js`):
 * the class wrapper exported as `Hosted` and the global `butterbase` for app `appId`.
 */
export function hostedModule(className: string, appId: string): string {
  return `${hostedClassSource(className, './class.js', 'Hosted')}
${butterbaseGlobalSource(appId)}`;
}
