/**
 * Password policy and hashing (API.md §6).
 *
 * Hashing: scrypt (memory-hard) from `node:crypto` under nodejs_compat, which workerd implements
 * natively (BoringSSL); WebCrypto PBKDF2 is capped at 100 000 iterations in workerd, too few.
 * Parameters follow OWASP's Password Storage Cheat Sheet (scrypt N=2^15, r=8, p=3: 32 MiB); measured
 * inside workerd (wrangler dev) at about 250 ms per hash on a 2-core machine.
 * Each hash is stored as a PHC string `$scrypt$ln=15,r=8,p=3$<salt>$<hash>` (base64, no padding), so
 * the parameters can be raised later: {@link needsRehash} tells login to re-hash on the next success.
 */
import { Buffer } from 'node:buffer';
import { scrypt, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../../shared/errors.ts';

/** Current scrypt parameters: N = 2^logN, block size r, parallelism p; 32-byte key, 16-byte salt. */
const current = { logN: 15, r: 8, p: 3 } as const;
const keyBytes = 32;
const saltBytes = 16;
const phcPattern = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** The policy text sent with a 400 (the reference server's wording). */
export const passwordPolicyMessage =
  'Password does not meet requirements. Must be at least 8 characters and include: uppercase letter, lowercase letter, number, and special character.';

/** The rules a password breaks (empty when it is acceptable): ≥ 8 chars, upper, lower, digit, special. */
export function passwordPolicyErrors(password: string): string[] {
  const errors: string[] = [];
  if (password.length < 8) errors.push('Password must be at least 8 characters');
  if (!/[A-Z]/.test(password)) errors.push('Password must contain at least one uppercase letter');
  if (!/[a-z]/.test(password)) errors.push('Password must contain at least one lowercase letter');
  if (!/[0-9]/.test(password)) errors.push('Password must contain at least one number');
  if (!/[^A-Za-z0-9]/.test(password)) errors.push('Password must contain at least one special character');
  return errors;
}

/**
 * Checks the policy.
 * @throws ApiError VALIDATION_INVALID_SCHEMA with `details` = the rules broken (API.md §6 `{error, details}`)
 */
export function assertPasswordPolicy(password: string): void {
  const errors = passwordPolicyErrors(password);
  if (errors.length > 0) throw new ApiError('VALIDATION_INVALID_SCHEMA', passwordPolicyMessage, { details: errors });
}

function derive(password: string, salt: Uint8Array, logN: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, keyBytes, { N, r, p, maxmem: 256 * N * r }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

const unpadded = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64').replace(/=+$/, '');

/** Hashes a password with the current parameters. @returns a PHC string */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(saltBytes));
  const key = await derive(password, salt, current.logN, current.r, current.p);
  return `$scrypt$ln=${current.logN},r=${current.r},p=${current.p}$${unpadded(salt)}$${unpadded(key)}`;
}

/**
 * Checks a password against a stored PHC string in constant time. A missing or unreadable hash
 * still costs one full hash, so the answer time does not tell whether the user exists.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parsed = stored ? phcPattern.exec(stored) : null;
  if (!parsed) {
    await hashPassword(password);
    return false;
  }
  const [, logN, r, p, salt, hash] = parsed;
  const expected = Buffer.from(hash!, 'base64');
  const actual = await derive(password, Buffer.from(salt!, 'base64'), Number(logN), Number(r), Number(p));
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** True when a stored hash uses weaker parameters than the current ones. */
export function needsRehash(stored: string): boolean {
  return stored !== '' && !stored.startsWith(`$scrypt$ln=${current.logN},r=${current.r},p=${current.p}$`);
}
