/**
 * The router's memory of recent gate answers: the caller and the app of `(app id, bearer)` as the
 * control Worker last resolved them, reused for as long as that answer says (`GateResult.reusableForMs`:
 * what is left of the control cache entries it came from, never past an access token's `exp`, 0 for
 * an app that is not `ready`). So a burst of requests from one caller costs one `resolveGate` RPC per
 * TTL instead of one per request, and a change still reaches every router isolate within the control
 * cache's TTL (≤ 1 s, the bound API.md and gate-cache.ts document).
 *
 * Changes made through this isolate take effect at once: the router forgets everything after any
 * request that may change a gate answer ({@link mayChangeGates}: a write to the control, auth or MCP
 * Workers — pausing an app, revoking a key, changing CORS or access mode).
 *
 * Keys hold the bearer itself (in memory only, never logged or stored), so nothing is hashed on the
 * hot path; entries are bounded and the oldest is dropped first.
 */
import type { GateResult } from '../shared/contracts.ts';
import type { RouterTarget } from '../registry.ts';

/** At most this many answers per isolate. */
const maxEntries = 10_000;

/** Workers whose writes can change what the gate answers. */
const gateChangingTargets: ReadonlySet<RouterTarget> = new Set<RouterTarget>(['CONTROL', 'AUTH', 'MCP']);
/** Methods that change nothing (the router's write gates let them through). */
export const readMethods: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

interface Entry {
  gate: GateResult;
  reusableUntilMs: number;
}

/** Gate answers by `(app id, bearer)`, each until its own reuse deadline. */
export class GateReuse {
  readonly #entries = new Map<string, Entry>();

  /** The remembered answer for `appId` and `bearer`, or undefined when there is none or it has lapsed. */
  get(appId: string | null, bearer: string | null, nowMs = Date.now()): GateResult | undefined {
    const key = keyOf(appId, bearer);
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.reusableUntilMs <= nowMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.gate;
  }

  /** Remembers `gate` for `gate.reusableForMs` (nothing when 0). */
  put(appId: string | null, bearer: string | null, gate: GateResult, nowMs = Date.now()): void {
    if (!(gate.reusableForMs > 0)) return;
    if (this.#entries.size >= maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(keyOf(appId, bearer), { gate, reusableUntilMs: nowMs + gate.reusableForMs });
  }

  /** Forgets every answer (after a request that may have changed one). */
  clear(): void {
    this.#entries.clear();
  }

  /** How many answers are remembered (for tests). */
  get size(): number {
    return this.#entries.size;
  }
}

/**
 * Whether a request to `target` with `method` may change a gate answer, so the router must forget
 * what it remembers once it has been answered: any write to control (apps, keys, config), auth
 * (signing keys) or MCP (tools that do the same). Data-plane writes never do.
 */
export function mayChangeGates(target: RouterTarget, method: string): boolean {
  return gateChangingTargets.has(target) && !readMethods.has(method);
}

function keyOf(appId: string | null, bearer: string | null): string {
  return `${appId ?? ''}\n${bearer ?? ''}`;
}
