/**
 * The modules loaded around a deployed function (JavaScript: loaded code cannot be TypeScript):
 * `setup.js` (console capture and the `Deno.env` shim, evaluated before the user module), `runtime.js`
 * (builds the §8.3 ctx and calls the handler), `user.js` (the deployed, type-stripped source), and one
 * entry module per runner:
 * - `main.js` (Worker Loader): a WorkerEntrypoint whose `run(request)` reads everything from its props
 *   (RUNTIME-FACTS.md §1b): `host`, a stub of the functions Worker's FunctionHost entrypoint fixed by
 *   the host to the invocation's app, role and user, and plain JSON (env, user, caller, app, request).
 * - `dispatch.js` (Workers for Platforms): a fetch handler. Props cannot be passed per call to a
 *   dispatch-namespace script, so the runner sends the JSON context in {@link contextHeader} and a
 *   short-lived signed session token in {@link sessionHeaderName} (services/session.ts); ctx calls go
 *   to the script's one binding, `BUTTERBASE_HOST` (the functions Worker's FunctionSession entrypoint),
 *   with that token. Both headers are removed before the handler sees the request. The outcome comes
 *   back as the handler's own response plus {@link consoleHeader} (base64url JSON console lines), or,
 *   when the handler threw, a 500 marked with {@link outcomeHeader} whose JSON body is `{ error, logs }`.
 * No database URL, key or other lasting credential reaches user code.
 */

/** Request header (runner → dispatch script): base64url JSON of the GuestContext. */
export const contextHeader = 'x-butterbase-context';
/** Request header (runner → dispatch script): the invocation's session token (services/session.ts). */
export const sessionHeaderName = 'x-butterbase-session';
/** Response header (dispatch script → runner): `error` when the handler threw. */
export const outcomeHeader = 'x-butterbase-outcome';
/** Response header (dispatch script → runner): base64url JSON console lines, capped at {@link consoleHeaderMaxChars}. */
export const consoleHeader = 'x-butterbase-console';
/** Most JSON characters of console lines sent back in {@link consoleHeader} (response headers are size-limited). */
export const consoleHeaderMaxChars = 32_000;

/** Console capture and `Deno.env`, per invocation via AsyncLocalStorage (calls can overlap in one isolate). */
export const setupModule = `
import { AsyncLocalStorage } from 'node:async_hooks';
export const invocation = new AsyncLocalStorage();
const base = globalThis.console;
function format(value) {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.stack || String(value);
  try { return JSON.stringify(value); } catch { return String(value); }
}
const capture = (level) => (...args) => {
  const store = invocation.getStore();
  if (store && store.logs.length < 200) {
    store.logs.push({ level, message: args.map(format).join(' ').slice(0, 8000), timestamp: Date.now() });
  }
};
globalThis.console = Object.assign(Object.create(base), {
  log: capture('log'), info: capture('info'), warn: capture('warn'), error: capture('error'), debug: capture('debug'),
});
const envOf = () => invocation.getStore()?.env ?? {};
globalThis.Deno = Object.freeze({
  env: Object.freeze({
    get: (key) => envOf()[key],
    has: (key) => Object.prototype.hasOwnProperty.call(envOf(), key),
    toObject: () => ({ ...envOf() }),
  }),
});
`;

/** The shared runtime: `runInvocation(request, props, waitUntil)` builds ctx and calls the handler. */
export const runtimeModule = `
import { invocation } from './setup.js';
import * as user from './user.js';

const handler = typeof user.handler === 'function' ? user.handler : user.default;

function sqlError(error) {
  return Object.assign(new Error(error.message), { code: error.code, remediation: error.remediation, details: error.details });
}

function database(host, as) {
  const query = async (sql, params) => {
    const result = await host.query(String(sql), Array.isArray(params) ? params : [], as);
    if (!result.ok) throw sqlError(result.error);
    return result.value;
  };
  return {
    query,
    asUser: (userId, work) => work(database(host, { role: 'user', userId: String(userId) })),
    asAnon: (work) => work(database(host, { role: 'anon' })),
  };
}

export function runInvocation(request, props, waitUntil) {
  const store = { logs: [], env: props.env };
  return invocation.run(store, async () => {
    const host = props.host;
    const ctx = {
      db: database(host, null),
      env: props.env,
      user: props.user,
      caller: props.caller,
      app: props.app,
      request: props.request,
      waitUntil: (promise) => {
        const limit = new Promise((resolve) => setTimeout(resolve, 30000));
        waitUntil(Promise.race([Promise.resolve(promise), limit]).catch((error) => console.error('waitUntil:', error)));
      },
      idempotency: {
        claim: async (key, options) => {
          const result = await host.claim(String(key), options ?? {});
          if (!result.ok) throw sqlError(result.error);
          return result.value;
        },
      },
      invoke: async (name, body, options) => {
        const result = await host.invoke(String(name), body === undefined ? null : JSON.stringify(body), options ?? {});
        if (!result.ok) throw sqlError(result.error);
        return result.value;
      },
      invokeDO: async (name, instance, body, options) => {
        const opts = options ?? {};
        const result = await host.invokeDO(String(name), String(instance ?? ''), body === undefined ? null : JSON.stringify(body), {
          method: opts.method === undefined ? undefined : String(opts.method),
          path: opts.path === undefined ? undefined : String(opts.path),
          headers: opts.headers === undefined ? undefined : (opts.headers instanceof Headers ? Object.fromEntries(opts.headers) : opts.headers),
        });
        if (!result.ok) throw sqlError(result.error);
        return result.value;
      },
    };
    try {
      if (typeof handler !== 'function') throw new TypeError('the deployed module exports no handler function');
      const response = await handler(request, ctx);
      if (!(response instanceof Response)) throw new TypeError('the handler must return a Response (got ' + (response === null ? 'null' : typeof response) + ')');
      return { response, logs: store.logs, error: null };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const stack = error instanceof Error && error.stack ? error.stack : null;
      store.logs.push({ level: 'error', message: stack ?? message, timestamp: Date.now() });
      return { response: null, logs: store.logs, error: { message, stack } };
    }
  });
}
`;

/** The Worker Loader entry module: everything per call comes in the entrypoint's props. */
export const mainModule = `
import { WorkerEntrypoint } from 'cloudflare:workers';
import { runInvocation } from './runtime.js';

export default class FunctionGuest extends WorkerEntrypoint {
  run(request) {
    return runInvocation(request, this.ctx.props, (promise) => this.ctx.waitUntil(promise));
  }
}
`;

/** The Workers for Platforms entry module (see the header of this file for its wire protocol). */
export const dispatchModule = `
import { runInvocation } from './runtime.js';

const decoder = new TextDecoder();
const encoder = new TextEncoder();
function fromBase64Url(text) {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4));
  return decoder.decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}
function toBase64Url(text) {
  let binary = '';
  for (const b of encoder.encode(text)) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
}
function consoleValue(logs) {
  const kept = [];
  let size = 2;
  for (const line of logs) {
    const length = JSON.stringify(line).length + 1;
    if (size + length > ${consoleHeaderMaxChars} - 200) {
      kept.push({ level: 'warn', message: 'console output truncated: ' + (logs.length - kept.length) + ' more lines', timestamp: Date.now() });
      break;
    }
    kept.push(line);
    size += length;
  }
  return toBase64Url(JSON.stringify(kept));
}

export default {
  async fetch(request, env, ctx) {
    const token = request.headers.get('${sessionHeaderName}');
    const context = request.headers.get('${contextHeader}');
    if (!token || !context) return new Response('not a Butterbase invocation', { status: 400 });
    const headers = new Headers(request.headers);
    headers.delete('${sessionHeaderName}');
    headers.delete('${contextHeader}');
    const binding = env.BUTTERBASE_HOST;
    const host = {
      query: (sql, params, as) => binding.query(token, sql, params, as),
      claim: (key, options) => binding.claim(token, key, options),
      invoke: (name, body, options) => binding.invoke(token, name, body, options),
      invokeDO: (name, instance, body, options) => binding.invokeDO(token, name, instance, body, options),
    };
    const props = { ...JSON.parse(fromBase64Url(context)), host };
    const outcome = await runInvocation(new Request(request, { headers }), props, (promise) => ctx.waitUntil(promise));
    if (!outcome.response) {
      return Response.json({ error: outcome.error, logs: outcome.logs }, { status: 500, headers: { '${outcomeHeader}': 'error' } });
    }
    const response = outcome.response;
    if (response.webSocket) return response;
    const out = new Response(response.body, response);
    out.headers.delete('${outcomeHeader}');
    out.headers.set('${consoleHeader}', consoleValue(outcome.logs));
    return out;
  },
};
`;
