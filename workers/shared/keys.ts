/**
 * Service keys (API.md §1.2): `bb_sk_` + 40 lowercase hex. Only the SHA-256 hash is stored;
 * the display prefix is the first 12 characters.
 */
import { randomHex, sha256Hex } from './crypto.ts';

export const serviceKeyPattern = /^bb_sk_[0-9a-f]{40}$/;

/** A freshly minted key: `plaintext` is shown once, `hash` and `prefix` are stored. */
export interface MintedServiceKey {
  plaintext: string;
  hash: string;
  prefix: string;
}

/** Mints a new service key. */
export async function mintServiceKey(): Promise<MintedServiceKey> {
  const plaintext = `bb_sk_${randomHex(20)}`;
  return { plaintext, hash: await sha256Hex(plaintext), prefix: plaintext.slice(0, 12) };
}
