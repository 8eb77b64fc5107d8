/**
 * The router's request budget (workers/router/budget.ts): per-principal windows inside an app, the
 * app-wide ceiling, and background reconciliation between isolates through a shared store.
 */
import { describe, expect, it } from 'vitest';
import { budgetKeys, RequestBudget, type BudgetStore } from '../workers/router/budget.ts';
import type { Principal } from '../workers/shared/principal.ts';

const anon: Principal = { kind: 'anonymous' };
const owner: Principal = { kind: 'service_key', keyId: 'key_1', accountId: 'acc', scopes: ['*'] };
const ana: Principal = { kind: 'end_user', appId: 'app_a', userId: 'u_ana', email: null, emailVerified: true };

/** A store shared by "isolates", like the RateLimiter objects; `fail` makes adds reject. */
function sharedStore(): BudgetStore & { totals: Map<string, number>; calls: number; fail: boolean } {
  const totals = new Map<string, number>();
  const store = {
    totals,
    calls: 0,
    fail: false,
    async add(key: string, delta: number) {
      store.calls += 1;
      if (store.fail) throw new Error('store down');
      totals.set(key, (totals.get(key) ?? 0) + delta);
      return totals.get(key)!;
    },
  };
  return store;
}

/** Runs `n` requests, collecting the background work; out: how many were allowed. */
async function run(budget: RequestBudget, principal: Principal, ip: string | null, n: number, store: BudgetStore, nowMs: number, perMinute = 5, factor = 10) {
  const pending: Promise<unknown>[] = [];
  let allowed = 0;
  for (let i = 0; i < n; i++) if (budget.take(budgetKeys('app_a', principal, ip, perMinute, factor), nowMs, store, (p) => pending.push(p)).allowed) allowed++;
  await Promise.all(pending);
  return allowed;
}

describe('the request budget', () => {
  it('counts exactly in one isolate and refuses without counting the refusals', async () => {
    const budget = new RequestBudget();
    const store = sharedStore();
    const t = 1_000_000;
    const first = budget.take(budgetKeys('app_a', owner, null, 3, 10), t, store, () => {});
    expect(first).toEqual({ allowed: true, scope: 'principal', limit: 3, remaining: 2, resetSeconds: 60 });
    expect(await run(budget, owner, null, 5, store, t, 3)).toBe(2);
    const refused = budget.take(budgetKeys('app_a', owner, null, 3, 10), t + 20_500, store, () => {});
    expect(refused).toEqual({ allowed: false, scope: 'principal', limit: 3, remaining: 0, resetSeconds: 40 });
    // The window closes a minute after it opened.
    expect(await run(budget, owner, null, 1, store, t + 60_000, 3)).toBe(1);
  });

  it('keeps principals apart: a flood from one IP leaves the owner, a user and other IPs their budgets', async () => {
    const budget = new RequestBudget();
    const store = sharedStore();
    const t = 2_000_000;
    expect(await run(budget, anon, '203.0.113.7', 1000, store, t)).toBe(5);
    expect(await run(budget, owner, '203.0.113.7', 5, store, t)).toBe(5);
    expect(await run(budget, ana, '203.0.113.7', 5, store, t)).toBe(5);
    expect(await run(budget, anon, '198.51.100.1', 5, store, t)).toBe(5);
    // One IPv6 /56 is one anonymous caller.
    expect(await run(budget, anon, '2001:db8:0:100::1', 3, store, t)).toBe(3);
    expect(await run(budget, anon, '2001:db8:0:1ff::2', 5, store, t)).toBe(2);
  });

  it('stops all callers together at the app ceiling', async () => {
    const budget = new RequestBudget();
    const store = sharedStore();
    const t = 3_000_000;
    let allowed = 0;
    for (let ip = 0; ip < 10; ip++) allowed += await run(budget, anon, `192.0.2.${ip}`, 5, store, t, 5, 3);
    expect(allowed).toBe(15);
    const decision = budget.take(budgetKeys('app_a', owner, null, 5, 3), t, store, () => {});
    expect(decision).toMatchObject({ allowed: false, scope: 'app', limit: 15 });
  });

  it('reconciles isolates in the background at most once a second per key, and learns the others\' counts', async () => {
    const store = sharedStore();
    const a = new RequestBudget();
    const b = new RequestBudget();
    const t = 4_000_000;
    expect(await run(a, owner, null, 3, store, t)).toBe(3);
    // The first request of a key flushes at once (2 keys: principal and app); the next two wait.
    expect(store.calls).toBe(2);
    expect(await run(a, owner, null, 1, store, t + 1000)).toBe(1);
    expect(store.calls).toBe(4);
    expect(store.totals.get('app:app_a:key:key_1')).toBe(4);
    // Isolate b learns a's 4 with its first flush, so it allows one more, not five.
    expect(await run(b, owner, null, 1, store, t + 1500)).toBe(1);
    expect(await run(b, owner, null, 5, store, t + 1600)).toBe(0);
  });

  it('keeps counting through a store outage and sends the count with the next flush', async () => {
    const store = sharedStore();
    const budget = new RequestBudget();
    const t = 5_000_000;
    store.fail = true;
    expect(await run(budget, owner, null, 2, store, t)).toBe(2);
    store.fail = false;
    expect(await run(budget, owner, null, 1, store, t + 1000)).toBe(1);
    expect(store.totals.get('app:app_a:key:key_1')).toBe(3);
  });
});
