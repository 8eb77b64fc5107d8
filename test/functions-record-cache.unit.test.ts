/**
 * The invocation path's record cache (workers/functions/services/record-cache.ts): hits within the
 * TTL, a forget reaching the next lookup at once, a lookup in flight across a write not caching what
 * it read, and writes that wait out the TTL unless the Worker is one isolate.
 */
import { describe, expect, it } from 'vitest';
import { FunctionRecordCache, functionCacheTtlMs, functionRecordCache, settleFunctionWrite, type FunctionWithApp } from '../workers/functions/services/record-cache.ts';

const version = (id: string) => ({ fn: { current_version_id: id }, app: { id: 'app_x' } }) as unknown as FunctionWithApp;

function counter(values: FunctionWithApp[]) {
  let calls = 0;
  return { load: async () => values[Math.min(calls++, values.length - 1)]!, calls: () => calls };
}

describe('FunctionRecordCache', () => {
  it('answers from the cache within the TTL and reads again after it', async () => {
    const cache = new FunctionRecordCache();
    const db = counter([version('v1'), version('v2')]);
    let now = 10_000;
    const clock = () => now;
    expect(await cache.get('app_x', 'f', 1_000, db.load, clock)).toEqual(version('v1'));
    now += 999;
    expect(await cache.get('app_x', 'f', 1_000, db.load, clock)).toEqual(version('v1'));
    expect(db.calls()).toBe(1);
    now += 1;
    expect(await cache.get('app_x', 'f', 1_000, db.load, clock)).toEqual(version('v2'));
    expect(db.calls()).toBe(2);
  });

  it('remembers "no such function" too, and keys by app and name', async () => {
    const cache = new FunctionRecordCache();
    const db = counter([null]);
    await cache.get('app_x', 'missing', 1_000, db.load);
    expect(await cache.get('app_x', 'missing', 1_000, db.load)).toBeNull();
    expect(db.calls()).toBe(1);
    await cache.get('app_y', 'missing', 1_000, db.load);
    expect(db.calls()).toBe(2);
  });

  it('reads again right after a forget', async () => {
    const cache = new FunctionRecordCache();
    const db = counter([version('v1'), version('v2')]);
    await cache.get('app_x', 'f', 60_000, db.load);
    cache.forget('app_x', 'f');
    expect(await cache.get('app_x', 'f', 60_000, db.load)).toEqual(version('v2'));
  });

  it('does not cache a lookup that was in flight when a write forgot the record', async () => {
    const cache = new FunctionRecordCache();
    let release!: () => void;
    const slow = () => new Promise<FunctionWithApp>((resolve) => { release = () => resolve(version('old')); });
    const inFlight = cache.get('app_x', 'f', 60_000, slow);
    cache.forget('app_x', 'f'); // the deploy committed and forgot while the old row was on its way
    release();
    expect(await inFlight).toEqual(version('old'));
    const db = counter([version('new')]);
    expect(await cache.get('app_x', 'f', 60_000, db.load)).toEqual(version('new'));
  });

  it('caches nothing with a TTL of 0', async () => {
    const cache = new FunctionRecordCache();
    const db = counter([version('v1')]);
    await cache.get('app_x', 'f', 0, db.load);
    await cache.get('app_x', 'f', 0, db.load);
    expect(db.calls()).toBe(2);
  });
});

describe('settleFunctionWrite', () => {
  it('waits one TTL before a write answers when other isolates may hold the record', async () => {
    const waits: number[] = [];
    const waited = await settleFunctionWrite({ FUNCTION_CACHE_TTL_MS: '750' }, 'app_x', 'f', async (ms) => { waits.push(ms); });
    expect(waited).toBe(750);
    expect(waits).toEqual([750]);
  });

  it('only forgets, without waiting, in a single-isolate Worker or with the cache off', async () => {
    const db = counter([version('v1'), version('v2')]);
    await functionRecordCache.get('app_s', 'f', 60_000, db.load);
    const never = async () => { throw new Error('must not wait'); };
    expect(await settleFunctionWrite({ FUNCTION_CACHE_ONE_ISOLATE: 'true' }, 'app_s', 'f', never)).toBe(0);
    expect(await functionRecordCache.get('app_s', 'f', 60_000, db.load)).toEqual(version('v2'));
    expect(await settleFunctionWrite({ FUNCTION_CACHE_TTL_MS: '0' }, 'app_s', 'f', never)).toBe(0);
  });

  it('reads the TTL setting with a default of 1 s', () => {
    expect(functionCacheTtlMs({})).toBe(1_000);
    expect(functionCacheTtlMs({ FUNCTION_CACHE_TTL_MS: '250' })).toBe(250);
    expect(functionCacheTtlMs({ FUNCTION_CACHE_TTL_MS: 'soon' })).toBe(1_000);
    expect(functionCacheTtlMs({ FUNCTION_CACHE_TTL_MS: '0' })).toBe(0);
  });
});
