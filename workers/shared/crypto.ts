/**
 * Small Web Crypto helpers: hashing, random tokens, and AES-GCM for secrets at rest.
 */

const encoder = new TextEncoder();

/** Lowercase hex SHA-256 of a UTF-8 string. */
export async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text))));
}

/** `byteLength` random bytes as lowercase hex (2 chars per byte). */
export function randomHex(byteLength: number): string {
  return toHex(crypto.getRandomValues(new Uint8Array(byteLength)));
}

/** `byteLength` random bytes as standard base64. */
export function randomBase64(byteLength: number): string {
  return bytesToBase64(crypto.getRandomValues(new Uint8Array(byteLength)));
}

/** `length` random characters from `alphabet` (rejection-sampled, no modulo bias). */
export function randomString(length: number, alphabet: string): string {
  const out: string[] = [];
  const limit = 256 - (256 % alphabet.length);
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < limit && out.length < length) out.push(alphabet[byte % alphabet.length]!);
    }
  }
  return out.join('');
}

/** Lowercase hex of `bytes` (2 chars per byte). */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/** Standard (padded) base64 of `bytes`. */
export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Decodes standard base64. @throws DOMException InvalidCharacterError when `text` is not base64. */
export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Constant-time comparison of two strings of equal length. */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

async function importMasterKey(masterKeyBase64: string): Promise<CryptoKey> {
  const raw = base64ToBytes(masterKeyBase64);
  if (raw.length !== 32) throw new Error('PLATFORM_MASTER_KEY must be 32 bytes, base64-encoded');
  return crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

/**
 * Encrypts a secret with AES-256-GCM under the platform master key.
 * @returns `v1.<base64 iv>.<base64 ciphertext+tag>`
 */
export async function encryptSecret(plaintext: string, masterKeyBase64: string): Promise<string> {
  const key = await importMasterKey(masterKeyBase64);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, key, encoder.encode(plaintext)));
  return `v1.${bytesToBase64(iv)}.${bytesToBase64(sealed)}`;
}

/** Decrypts a value from {@link encryptSecret}. @throws Error when tampered with or the key is wrong. */
export async function decryptSecret(sealed: string, masterKeyBase64: string): Promise<string> {
  const [version, iv, data] = sealed.split('.');
  if (version !== 'v1' || !iv || !data) throw new Error('unknown secret format');
  const key = await importMasterKey(masterKeyBase64);
  const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: base64ToBytes(iv) }, key, base64ToBytes(data));
  return new TextDecoder().decode(plain);
}

const derivedKeys = new Map<string, Promise<CryptoKey>>();

/**
 * An HMAC-SHA256 signing key derived from the platform master key (base64 of 32 bytes) with HKDF-SHA256
 * (empty salt, `info` naming the purpose, e.g. "butterbase functions session v1"), so each use has its
 * own key and none needs a secret of its own. Cached per isolate. Source: RFC 5869, WebCrypto HKDF.
 */
export function derivedHmacKey(masterKeyBase64: string, info: string): Promise<CryptoKey> {
  const cacheKey = `${info}\n${masterKeyBase64}`;
  let key = derivedKeys.get(cacheKey);
  if (!key) {
    key = (async () => {
      const base = await crypto.subtle.importKey('raw', base64ToBytes(masterKeyBase64), 'HKDF', false, ['deriveKey']);
      return crypto.subtle.deriveKey(
        { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode(info) },
        base,
        { name: 'HMAC', hash: 'SHA-256', length: 256 },
        false,
        ['sign', 'verify'],
      );
    })();
    derivedKeys.set(cacheKey, key);
  }
  return key;
}
