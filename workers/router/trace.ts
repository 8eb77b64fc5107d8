/**
 * Subrequest tracing for benchmarks (issue 12 item 1): with the router var `TRACE_SUBREQUESTS=true`
 * (never set in production configs), a request that carries the `x-bb-trace` header (any value) has
 * the router count every call it makes on a binding while it handles it — service-binding `fetch`es, RPC methods, Durable Object calls — and answers them
 * in the `x-bb-trace` header as JSON, e.g. `{"CONTROL.resolveGate":1,"DATA.fetch":1}`. Calls whose
 * promise the router hands to `waitUntil` instead of awaiting (the budget's reconciliation with the
 * RateLimiter Durable Object) are counted under `background`, so a bench can show that no Durable
 * Object call sits on the request path. What the Workers behind the router do in turn is not seen
 * here; SQL round trips are counted at the database endpoint (bench/lib.ts).
 */

/** The request header asking for a trace, and the response header the counts arrive in. */
export const traceHeader = 'x-bb-trace';

/** The counts of one traced request. */
export class SubrequestTrace {
  readonly awaited = new Map<string, number>();
  readonly background = new Map<string, number>();

  /** Counts one call; `background` when its promise goes to `waitUntil` rather than being awaited. */
  count(name: string, background = false): void {
    const counts = background ? this.background : this.awaited;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }

  /**
   * `env` with each binding (an object-valued entry) wrapped so that calling any of its methods is
   * counted as `{BINDING}.{method}`. The Durable Object namespaces named in `namespaces` are left
   * alone: their stubs are counted where they are used (see the router's budget store). (They are
   * named because an RPC stub answers every property, so no shape test can tell them apart.)
   */
  wrap<E extends object>(env: E, namespaces: readonly string[]): E {
    const bindings = new Map<PropertyKey, unknown>();
    return new Proxy(env, {
      get: (target, key, receiver) => {
        const value = Reflect.get(target, key, receiver);
        if (typeof key !== 'string' || value === null || (typeof value !== 'object' && typeof value !== 'function') || namespaces.includes(key)) return value;
        let wrapped = bindings.get(key);
        if (!wrapped) {
          wrapped = new Proxy(value, {
            get: (binding, method) => {
              const member = Reflect.get(binding, method);
              if (typeof member !== 'function' || typeof method !== 'string') return member;
              return (...args: unknown[]) => {
                this.count(`${key}.${method}`);
                return Reflect.apply(member as (...a: unknown[]) => unknown, binding, args);
              };
            },
          });
          bindings.set(key, wrapped);
        }
        return wrapped;
      },
    });
  }

  /** The response with the counts in {@link traceHeader}. */
  annotate(response: Response): Response {
    const body = JSON.stringify({ ...Object.fromEntries(this.awaited), background: Object.fromEntries(this.background) });
    // WebSocket upgrades (status 101) carry their socket; their headers cannot be rewritten.
    if (response.status === 101) return response;
    const annotated = new Response(response.body, response);
    annotated.headers.set(traceHeader, body);
    return annotated;
  }
}

/** The trace of a traced env (see {@link SubrequestTrace.wrap}), if any. */
const traces = new WeakMap<object, SubrequestTrace>();

/** Wraps `env` for `trace` (see {@link SubrequestTrace.wrap}) and remembers the pairing for {@link traceOf}. */
export function tracedEnv<E extends object>(env: E, trace: SubrequestTrace, namespaces: readonly string[]): E {
  const wrapped = trace.wrap(env, namespaces);
  traces.set(wrapped, trace);
  return wrapped;
}

/** The trace `env` was wrapped for, or undefined when tracing is off. */
export function traceOf(env: object): SubrequestTrace | undefined {
  return traces.get(env);
}
