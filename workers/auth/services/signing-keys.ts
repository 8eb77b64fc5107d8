/**
 * Per-app RS256 signing keys (API.md §6 "Tokens"), in the control-plane table `app_signing_keys`:
 * `kid` = the RFC 7638 thumbprint of the public key, `public_jwk` as published in the JWKS, the
 * private JWK sealed with AES-GCM under PLATFORM_MASTER_KEY.
 *
 * One key per app signs (`retired_at IS NULL`). Rotation retires it and creates a successor in one
 * transaction; a retired key keeps verifying the tokens it signed until they expire (the router's
 * verifier accepts a retired key only for tokens issued before `retired_at`), and the JWKS lists it
 * for as long as such tokens can live.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { decryptSecret, encryptSecret } from '../../shared/crypto.ts';
import { ApiError } from '../../shared/errors.ts';
import { controlSql } from '../db.ts';
import type { Env } from '../env.ts';

/** A key ready to sign. */
export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
}

/** An active key as stored. */
export interface StoredKey {
  kid: string;
  privateJwkSealed: string;
}

/** Clock skew allowed between this Worker and the database when judging a retired key (seconds). */
export const keyClockSkewSeconds = 60;

/** Imported private keys by kid; a kid's key never changes, so this cache never goes stale. */
const privateKeys = new Map<string, CryptoKey>();

async function open(env: Pick<Env, 'PLATFORM_MASTER_KEY'>, key: StoredKey): Promise<SigningKey> {
  let privateKey = privateKeys.get(key.kid);
  if (!privateKey) {
    const jwk = JSON.parse(await decryptSecret(key.privateJwkSealed, env.PLATFORM_MASTER_KEY)) as JWK;
    privateKey = (await importJWK(jwk, 'RS256')) as CryptoKey;
    privateKeys.set(key.kid, privateKey);
  }
  return { kid: key.kid, privateKey };
}

async function mintKeyPair(env: Pick<Env, 'PLATFORM_MASTER_KEY'>): Promise<{ kid: string; publicJwk: JWK; sealed: string }> {
  const pair = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const publicJwk = await exportJWK(pair.publicKey);
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  const privateJwk = { ...(await exportJWK(pair.privateKey)), kid, alg: 'RS256' };
  return {
    kid,
    publicJwk: { ...publicJwk, kid, alg: 'RS256', use: 'sig' },
    sealed: await encryptSecret(JSON.stringify(privateJwk), env.PLATFORM_MASTER_KEY),
  };
}

/**
 * Creates a key in one transaction that locks the app row, so concurrent first sign-ins agree on one
 * key. `rotate` retires the current key first; otherwise a key is created only if none is active.
 * @returns the active key after the change and the kids it retired
 * @throws ApiError APP_NOT_FOUND when the app row is gone
 */
async function createKey(env: Env, appId: string, rotate: boolean): Promise<{ active: StoredKey; retired: string[] }> {
  const minted = await mintKeyPair(env);
  const sql = controlSql(env);
  const [, retired, , active] = (await sql.transaction([
    sql.query('SELECT id FROM apps WHERE id = $1 FOR UPDATE', [appId]),
    rotate
      ? sql.query('UPDATE app_signing_keys SET retired_at = now() WHERE app_id = $1 AND retired_at IS NULL RETURNING kid', [appId])
      : sql.query('SELECT NULL AS kid WHERE false'),
    sql.query(
      `INSERT INTO app_signing_keys (kid, app_id, alg, public_jwk, private_jwk_sealed)
       SELECT $2, $1, 'RS256', $3::jsonb, $4
        WHERE EXISTS (SELECT 1 FROM apps WHERE id = $1)
          AND NOT EXISTS (SELECT 1 FROM app_signing_keys WHERE app_id = $1 AND retired_at IS NULL)`,
      [appId, minted.kid, JSON.stringify(minted.publicJwk), minted.sealed],
    ),
    sql.query(
      'SELECT kid, private_jwk_sealed FROM app_signing_keys WHERE app_id = $1 AND retired_at IS NULL ORDER BY created_at DESC LIMIT 1',
      [appId],
    ),
  ])) as unknown as [unknown, { kid: string }[], unknown, { kid: string; private_jwk_sealed: string }[]];
  const row = active[0];
  if (!row) throw new ApiError('APP_NOT_FOUND', 'App not found');
  return { active: { kid: row.kid, privateJwkSealed: row.private_jwk_sealed }, retired: retired.map((r) => r.kid) };
}

/**
 * The key that signs new tokens for `appId`: `active` when the app has one (from
 * loadAuthSettings), otherwise the app's first key, created now.
 * @throws ApiError APP_NOT_FOUND
 */
export async function signingKeyFor(env: Env, appId: string, active: StoredKey | null): Promise<SigningKey> {
  return open(env, active ?? (await createKey(env, appId, false)).active);
}

/**
 * Retires the signing key and creates its successor (one transaction). Tokens signed by the
 * retired key stay valid until they expire.
 * @returns `{ kid, retired_kids }`
 * @throws ApiError APP_NOT_FOUND
 */
export async function rotateSigningKey(env: Env, appId: string): Promise<{ kid: string; retired_kids: string[] }> {
  const { active, retired } = await createKey(env, appId, true);
  return { kid: active.kid, retired_kids: retired };
}

/**
 * The JWKS (RFC 7517) of `appId`: the active key (created if the app has none yet, so a client
 * never caches an empty set) and every retired key that may still have live tokens, i.e. retired
 * less than `accessTokenTtlSeconds` (+ skew) ago.
 */
export async function jwks(env: Env, appId: string, active: StoredKey | null, accessTokenTtlSeconds: number): Promise<{ keys: JWK[] }> {
  if (!active) await createKey(env, appId, false);
  const rows = (await controlSql(env).query(
    `SELECT public_jwk FROM app_signing_keys
      WHERE app_id = $1 AND (retired_at IS NULL OR retired_at > now() - make_interval(secs => $2))
      ORDER BY created_at DESC`,
    [appId, accessTokenTtlSeconds + keyClockSkewSeconds],
  )) as { public_jwk: JWK }[];
  return { keys: rows.map((r) => r.public_jwk) };
}
