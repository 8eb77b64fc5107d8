/** The router's reuse of gate answers: each until its own deadline, forgotten at once after a gate-changing write. */
import { describe, expect, it } from 'vitest';
import type { GateResult } from '../workers/shared/contracts.ts';
import { GateReuse, mayChangeGates } from '../workers/router/gate-reuse.ts';

const answer = (reusableForMs: number): GateResult => ({ principal: { kind: 'anonymous' }, app: null, reusableForMs });

describe('GateReuse', () => {
  it('serves an answer until its reuse window ends, per (app, bearer)', () => {
    const reuse = new GateReuse();
    const now = 1_000_000;
    reuse.put('app_abcdefghijkl', 'token-a', answer(800), now);
    expect(reuse.get('app_abcdefghijkl', 'token-a', now + 799)).toEqual(answer(800));
    expect(reuse.get('app_abcdefghijkl', 'token-b', now + 1)).toBeUndefined();
    expect(reuse.get('app_zzzzzzzzzzzz', 'token-a', now + 1)).toBeUndefined();
    expect(reuse.get(null, 'token-a', now + 1)).toBeUndefined();
    expect(reuse.get('app_abcdefghijkl', 'token-a', now + 800)).toBeUndefined();
    expect(reuse.size).toBe(0);
  });

  it('keeps nothing the control Worker says may not be reused', () => {
    const reuse = new GateReuse();
    reuse.put('app_abcdefghijkl', null, answer(0));
    expect(reuse.get('app_abcdefghijkl', null)).toBeUndefined();
    expect(reuse.size).toBe(0);
  });

  it('forgets everything on clear', () => {
    const reuse = new GateReuse();
    reuse.put('app_abcdefghijkl', null, answer(1_000));
    reuse.put(null, 'bb_sk_x', answer(1_000));
    reuse.clear();
    expect(reuse.get('app_abcdefghijkl', null)).toBeUndefined();
    expect(reuse.get(null, 'bb_sk_x')).toBeUndefined();
  });

  it('stays bounded, dropping the oldest answer first', () => {
    const reuse = new GateReuse();
    for (let i = 0; i < 10_001; i += 1) reuse.put(null, `t${i}`, answer(60_000));
    expect(reuse.size).toBe(10_000);
    expect(reuse.get(null, 't0')).toBeUndefined();
    expect(reuse.get(null, 't10000')).toBeDefined();
  });
});

describe('mayChangeGates', () => {
  it.each([
    ['CONTROL', 'PATCH', true], ['CONTROL', 'DELETE', true], ['MCP', 'POST', true], ['AUTH', 'POST', true],
    ['CONTROL', 'GET', false], ['MCP', 'GET', false], ['DATA', 'POST', false], ['FUNCTIONS', 'POST', false], ['STORAGE', 'PUT', false],
  ] as const)('%s %s → %s', (target, method, expected) => {
    expect(mayChangeGates(target, method)).toBe(expected);
  });
});
