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
import { and, desc, eq, gt, isNull, notExists, or, sql } from 'drizzle-orm';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { appSigningKeys, apps, publicJwk } from '../../shared/control-schema.ts';
import { decryptSecret, encryptSecret } from '../../shared/crypto.ts';
import { ApiError } from '../../shared/errors.ts';
import { signingKeyClockSkewSeconds } from '../../shared/tokens.ts';
import { controlDb } from '../db.ts';
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
export const keyClockSkewSeconds = signingKeyClockSkewSeconds;

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
  const db = controlDb(env);
  const activeKeyOf = (app: string) => and(eq(appSigningKeys.app_id, app), isNull(appSigningKeys.retired_at));
  const [, retired, , active] = await db.batch([
    db.select({ id: apps.id }).from(apps).where(eq(apps.id, appId)).for('update'),
    rotate
      ? db.update(appSigningKeys).set({ retired_at: sql`now()` }).where(activeKeyOf(appId)).returning({ kid: appSigningKeys.kid })
      : db.select({ kid: appSigningKeys.kid }).from(appSigningKeys).where(sql`false`),
    // Only while the app exists and has no active key: concurrent first sign-ins (serialised by the
    // row lock above) agree on one key.
    db.insert(appSigningKeys).select(
      db.select({
        kid: sql<string>`${minted.kid}`.as('kid'),
        app_id: apps.id,
        alg: sql<string>`'RS256'`.as('alg'),
        public_jwk: sql`${JSON.stringify(minted.publicJwk)}::jsonb`.as('public_jwk'),
        private_jwk_sealed: sql<string>`${minted.sealed}`.as('private_jwk_sealed'),
        created_at: sql<Date>`now()`.as('created_at'),
        retired_at: sql<Date | null>`NULL::timestamptz`.as('retired_at'),
      })
        .from(apps)
        .where(and(eq(apps.id, appId), notExists(db.select({ one: sql`1` }).from(appSigningKeys).where(activeKeyOf(appId))))),
    ),
    db.select({ kid: appSigningKeys.kid, private_jwk_sealed: appSigningKeys.private_jwk_sealed })
      .from(appSigningKeys).where(activeKeyOf(appId)).orderBy(desc(appSigningKeys.created_at)).limit(1),
  ]);
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
  const rows = await controlDb(env)
    .select({ public_jwk: appSigningKeys.public_jwk })
    .from(appSigningKeys)
    .where(and(
      eq(appSigningKeys.app_id, appId),
      or(isNull(appSigningKeys.retired_at), gt(appSigningKeys.retired_at, sql`now() - make_interval(secs => ${accessTokenTtlSeconds + keyClockSkewSeconds})`)),
    ))
    .orderBy(desc(appSigningKeys.created_at));
  return { keys: rows.map((r) => publicJwk.parse(r.public_jwk)) };
}
