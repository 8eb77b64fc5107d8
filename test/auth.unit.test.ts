/**
 * Pure parts of the auth Worker: password policy and scrypt hashes (PHC strings), access-token TTL
 * parsing, one-time code shape, and whose budget a client IP counts against.
 */
import { describe, expect, it } from 'vitest';
import { hashCode, newCode } from '../workers/auth/services/codes.ts';
import { hashPassword, needsRehash, passwordPolicyErrors, verifyPassword } from '../workers/auth/services/passwords.ts';
import { rateLimitSubject } from '../workers/auth/services/rate-limit.ts';
import { parseTtlSeconds } from '../workers/auth/services/settings.ts';

describe('password policy (API.md §6)', () => {
  const cases: { password: string; broken: string[] }[] = [
    { password: 'Passw0rd!', broken: [] },
    { password: 'Pa0!', broken: ['Password must be at least 8 characters'] },
    { password: 'passw0rd!', broken: ['Password must contain at least one uppercase letter'] },
    { password: 'PASSW0RD!', broken: ['Password must contain at least one lowercase letter'] },
    { password: 'Password!', broken: ['Password must contain at least one number'] },
    { password: 'Passw0rd1', broken: ['Password must contain at least one special character'] },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.password)} breaks ${c.broken.length} rule(s)`, () => {
      expect(passwordPolicyErrors(c.password)).toEqual(c.broken);
    });
  }
});

// Each scrypt hash is deliberately slow (N = 2^15, ~0.3 s on an idle core); allow for a busy machine.
describe('password hashes', { timeout: 60_000 }, () => {
  it('stores scrypt with its parameters and a random salt, and verifies only the right password', async () => {
    const first = await hashPassword('Passw0rd!');
    const second = await hashPassword('Passw0rd!');
    expect(first).toMatch(/^\$scrypt\$ln=15,r=8,p=3\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(second).not.toBe(first);
    expect(await verifyPassword('Passw0rd!', first)).toBe(true);
    expect(await verifyPassword('Passw0rd?', first)).toBe(false);
    expect(await verifyPassword('Passw0rd!', null)).toBe(false);
    expect(await verifyPassword('Passw0rd!', 'bcrypt$2b$garbage')).toBe(false);
  });

  it('verifies hashes made with older parameters and asks for a re-hash', async () => {
    const current = await hashPassword('Passw0rd!');
    const older = current.replace('ln=15,r=8,p=3', 'ln=14,r=8,p=1');
    expect(needsRehash(current)).toBe(false);
    expect(needsRehash(older)).toBe(true);
    // Same salt and key length, different cost: the stored key no longer matches.
    expect(await verifyPassword('Passw0rd!', older)).toBe(false);
  });
});

describe('access token lifetime', () => {
  const cases: [unknown, number][] = [['15m', 900], ['1h', 3600], ['2d', 172_800], ['30s', 30], ['0m', 900], ['1w', 900], [undefined, 900], [42, 900]];
  for (const [ttl, seconds] of cases) {
    it(`${JSON.stringify(ttl)} → ${seconds} s`, () => expect(parseTtlSeconds(ttl)).toBe(seconds));
  }
});

describe('one-time codes', () => {
  it('are 6 digits, and their stored hash depends on the purpose', async () => {
    const codes = new Set(Array.from({ length: 200 }, () => newCode()));
    for (const code of codes) expect(code).toMatch(/^\d{6}$/);
    expect(codes.size).toBeGreaterThan(190);
    expect(await hashCode('magic_link', '123456')).not.toBe(await hashCode('password_reset', '123456'));
  });
});

describe('per-IP limit subject', () => {
  const cases: [ip: string | null, subject: string][] = [
    ['203.0.113.7', '203.0.113.7'],
    [null, 'unknown'],
    ['unknown', 'unknown'],
    // Every address of one /56 shares a budget; the next /56 has its own.
    ['2001:db8:abcd:12ff:1:2:3:4', '2001:db8:abcd:1200::/56'],
    ['2001:db8:abcd:1200::', '2001:db8:abcd:1200::/56'],
    ['2001:DB8:ABCD:12ab::9', '2001:db8:abcd:1200::/56'],
    ['2001:db8:abcd:1300::1', '2001:db8:abcd:1300::/56'],
    ['2001:db8::1', '2001:db8:0:0::/56'],
    ['::1', '0:0:0:0::/56'],
    ['fe80::1%eth0', 'fe80:0:0:0::/56'],
    ['::ffff:198.51.100.9', '198.51.100.9'],
    ['not:an:ip::x', 'not:an:ip::x'],
    ['1::2::3', '1::2::3'],
  ];
  for (const [ip, subject] of cases) {
    it(`${ip} → ${subject}`, () => expect(rateLimitSubject(ip)).toBe(subject));
  }
});
