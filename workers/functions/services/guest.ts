/**
 * The modules loaded around a deployed function (JavaScript: loaded code cannot be TypeScript). The
 * runner loads `main.js` (a WorkerEntrypoint whose `run(request)` builds the §8.3 ctx and calls the
 * handler), `setup.js` (console capture and the `Deno.env` shim, evaluated before the user module)
 * and `user.js` (the deployed, type-stripped source).
 *
 * What reaches user code (all per call, through the entrypoint's props — RUNTIME-FACTS.md §1b):
 * `host`, a stub of the functions Worker's FunctionHost entrypoint (ctx.db, ctx.idempotency,
 * ctx.invoke), fixed by the host to the invocation's app, role and user; and plain JSON (env, user,
 * caller, app, request). No database URL, key or other credential.
 */

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

/** The entry module: calls user.js's `handler` export, else its default export. */
export const mainModule = `
import { WorkerEntrypoint } from 'cloudflare:workers';
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

export default class FunctionGuest extends WorkerEntrypoint {
  async run(request) {
    const props = this.ctx.props;
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
          this.ctx.waitUntil(Promise.race([Promise.resolve(promise), limit]).catch((error) => console.error('waitUntil:', error)));
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
}
`;
