/**
 * Resolves who is calling and which app they address, in one control-plane query (API.md §1.2):
 * `bb_sk_…` → service key (hash lookup; unknown or revoked → AUTH_INVALID_API_KEY);
 * JWT with `iss` = `butterbase:app:{id}` → end user (RS256-verified against the app's keys);
 * the app's anon key → anonymous; nothing → anonymous; anything else → AUTH_INVALID_TOKEN.
 */
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, importJWK, jwtVerify, type JWK } from 'jose';
import { z } from 'zod';
import type { AppGate, GateRequest, GateResult } from '../../shared/contracts.ts';
import { publicJwk } from '../../shared/control-schema.ts';
import { sha256Hex, timingSafeEqual } from '../../shared/crypto.ts';
import { serviceKeyPattern } from '../../shared/keys.ts';
import type { Principal } from '../../shared/principal.ts';
import { accessModes, provisioningStatuses } from '../../shared/schemas/enums.ts';
import { accessTokenIssuer, appIdOfIssuer, signingKeyClockSkewSeconds } from '../../shared/tokens.ts';
import { controlSql } from '../db.ts';
import type { Env } from '../env.ts';
import { gateCache } from './gate-cache.ts';
import { claimUpgrade, needsUpgrade, runUpgrade } from './upgrades.ts';

/** Write `last_used_at` at most this often per key per isolate. */
const lastUsedWriteIntervalMs = 60_000;
const lastUsedWrites = new Map<string, number>();
/** Imported public keys by kid; a kid's key never changes, so this cache never goes stale. */
const publicKeys = new Map<string, CryptoKey | Uint8Array>();
/** At most this many imported keys per isolate (the oldest is dropped; re-importing is cheap). */
const maxPublicKeys = 1_000;

const accessClaims = z.object({
  sub: z.string().min(1),
  email: z.string().nullable().optional(),
  email_verified: z.boolean().optional(),
});

/** The app columns the gate reads (row_to_json of them), checked when read back. */
export const gateAppRow = z.object({
  id: z.string(),
  account_id: z.string(),
  name: z.string(),
  subdomain: z.string(),
  provisioning_status: z.enum(provisioningStatuses),
  paused: z.boolean(),
  paused_reason: z.string().nullable(),
  allowed_origins: z.array(z.string()),
  access_mode: z.enum(accessModes),
  rate_limit_per_minute: z.number().int().nullable(),
  anon_key: z.string(),
  bootstrap_version: z.number().int(),
  cors_allowed_methods: z.array(z.string()),
  cors_allowed_headers: z.array(z.string()),
  cors_allow_credentials: z.boolean(),
});
export type GateAppRow = z.infer<typeof gateAppRow>;

/** The gate query's one row: the key, the app and the token's signing key (each null when absent). */
const gateRow = z.object({
  key: z.object({ id: z.string(), account_id: z.string(), scopes: z.array(z.string()) }).nullable(),
  app: gateAppRow.nullable(),
  jwk: publicJwk.nullable(),
  /** When the token's key stopped signing (null while it is the app's active key). */
  jwk_retired_at: z.union([z.string(), z.date()]).nullable(),
});
type GateRow = z.infer<typeof gateRow>;

type Bearer =
  | { kind: 'none' }
  | { kind: 'service_key'; hash: string }
  | { kind: 'malformed_key' }
  | { kind: 'app_jwt'; token: string; appId: string; kid: string }
  | { kind: 'other_jwt' }
  | { kind: 'opaque'; token: string };

async function classifyBearer(token: string | null): Promise<Bearer> {
  if (!token) return { kind: 'none' };
  if (token.startsWith('bb_sk_')) {
    return serviceKeyPattern.test(token) ? { kind: 'service_key', hash: await sha256Hex(token) } : { kind: 'malformed_key' };
  }
  if (token.split('.').length === 3) {
    try {
      const appId = appIdOfIssuer(decodeJwt(token).iss);
      const { kid } = decodeProtectedHeader(token);
      if (appId && typeof kid === 'string') return { kind: 'app_jwt', token, appId, kid };
    } catch {
      return { kind: 'other_jwt' };
    }
    return { kind: 'other_jwt' };
  }
  return { kind: 'opaque', token };
}

/** Which app a request names: by id (path, or an access token's issuer) or by its app host's subdomain. */
type AppLookup = { by: 'id'; id: string } | { by: 'subdomain'; subdomain: string } | null;

/** Per isolate: when this isolate last tried to claim an app's upgrade (claims are throttled). */
const upgradeTries = new Map<string, number>();
const upgradeRetryMs = 5_000;

/**
 * One round trip at most: the key row, the app row (by id or subdomain) and the token's public key.
 * Without a service key the app row and signing key may come from the isolate's GateCache (see
 * gate-cache.ts for the TTL). An app whose database is behind the bundled bootstrap version is
 * upgraded in the background (services/upgrades.ts); this request then sees it `migrating`.
 * @throws ApiError EXTERNAL_DB_ERROR when the control database is unreachable.
 */
export async function resolveGate(env: Env, ctx: ExecutionContext, input: GateRequest): Promise<GateResult> {
  const bearer = await classifyBearer(input.bearer);
  const lookup: AppLookup = input.appId
    ? { by: 'id', id: input.appId }
    : input.subdomain
      ? { by: 'subdomain', subdomain: input.subdomain }
      : bearer.kind === 'app_jwt' ? { by: 'id', id: bearer.appId } : null;
  const kid = bearer.kind === 'app_jwt' ? bearer.kid : null;
  const ttlMs = Number(env.GATE_CACHE_TTL_MS ?? 1_000);
  const cached = bearer.kind === 'malformed_key' ? undefined : fromCache(lookup, kid, bearer.kind === 'service_key' ? bearer.hash : null);
  let row = cached?.row;
  // Until when this answer may be reused: as long as every cache entry it came from stays fresh.
  let reusableUntilMs = cached?.expiresAtMs ?? Date.now() + ttlMs;
  if (!row) {
    const rows = await controlSql(env).query(
      `WITH app AS (
         SELECT id, account_id, name, subdomain, provisioning_status, paused, paused_reason, allowed_origins, access_mode,
                rate_limit_per_minute, anon_key, bootstrap_version, cors_allowed_methods, cors_allowed_headers, cors_allow_credentials
           FROM apps WHERE ($2::text IS NOT NULL AND id = $2) OR ($2::text IS NULL AND subdomain = $4))
       SELECT
         (SELECT row_to_json(k) FROM (SELECT id, account_id, scopes FROM api_keys
            WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())) k) AS key,
         (SELECT row_to_json(app) FROM app) AS app,
         (SELECT public_jwk FROM app_signing_keys WHERE kid = $3 AND app_id = (SELECT id FROM app)) AS jwk,
         (SELECT retired_at FROM app_signing_keys WHERE kid = $3 AND app_id = (SELECT id FROM app)) AS jwk_retired_at`,
      [
        bearer.kind === 'service_key' ? bearer.hash : null,
        lookup?.by === 'id' ? lookup.id : null,
        kid,
        lookup?.by === 'subdomain' ? lookup.subdomain : null,
      ],
    );
    row = rows[0] ? gateRow.parse(rows[0]) : { key: null, app: null, jwk: null, jwk_retired_at: null };
    if (lookup?.by === 'id') gateCache.putApp(lookup.id, row.app, ttlMs);
    if (lookup?.by === 'subdomain') gateCache.putAppBySubdomain(lookup.subdomain, row.app, ttlMs);
    if (kid && row.app) gateCache.putSigningKey(row.app.id, kid, { jwk: row.jwk, retiredAt: row.jwk_retired_at }, ttlMs);
    if (bearer.kind === 'service_key') gateCache.putServiceKey(bearer.hash, row.key, ttlMs);
  }
  const appRow = row.app;
  // An app named by the path or the Host is the request's app; one found only through a token's issuer is not.
  const named = appRow !== null && (input.appId !== null || Boolean(input.subdomain));
  let app: AppGate | null = named
    ? {
        id: appRow.id,
        accountId: appRow.account_id,
        name: appRow.name,
        subdomain: appRow.subdomain,
        provisioningStatus: appRow.provisioning_status,
        paused: appRow.paused,
        pausedReason: appRow.paused_reason,
        allowedOrigins: appRow.allowed_origins,
        accessMode: appRow.access_mode,
        rateLimitPerMinute: appRow.rate_limit_per_minute ?? Number(env.RATE_LIMIT_PER_MINUTE || 100),
        cors: { allowedMethods: appRow.cors_allowed_methods, allowedHeaders: appRow.cors_allowed_headers, allowCredentials: appRow.cors_allow_credentials },
      }
    : null;
  const behind = app !== null && needsUpgrade(appRow!);
  if (app && behind) app = { ...app, provisioningStatus: await startUpgrade(env, ctx, app) };
  const { principal, expiresAtMs } = await principalFor(bearer, row, app?.id ?? input.appId);
  if (principal.kind === 'service_key') touchKey(env, ctx, principal.keyId);
  // An app on its way to ready (or to an upgrade) is asked about again on every request, so the
  // moment it becomes writable (or must stop taking writes) is seen at once.
  if (behind || (app && app.provisioningStatus !== 'ready') || ttlMs <= 0) reusableUntilMs = 0;
  if (expiresAtMs !== undefined) reusableUntilMs = Math.min(reusableUntilMs, expiresAtMs);
  return { principal, app, reusableForMs: Math.max(0, reusableUntilMs - Date.now()) };
}

/**
 * Starts the upgrade of a behind app in the background when this isolate may claim it (at most one
 * try per app every few seconds). @returns the status this request should see.
 */
async function startUpgrade(env: Env, ctx: ExecutionContext, app: AppGate): Promise<AppGate['provisioningStatus']> {
  const now = Date.now();
  if (now - (upgradeTries.get(app.id) ?? 0) < upgradeRetryMs) return app.provisioningStatus;
  upgradeTries.set(app.id, now);
  if (upgradeTries.size > 10_000) upgradeTries.delete(upgradeTries.keys().next().value!);
  const attempt = await claimUpgrade(env, app.id);
  if (attempt === null) return app.provisioningStatus;
  ctx.waitUntil(runUpgrade(env, app.id, attempt));
  return 'migrating';
}

/**
 * The gate row from the cache when everything it needs is there and fresh (the app, the token's
 * signing key, the service key of `keyHash`), with when its first entry goes stale; otherwise undefined.
 */
function fromCache(lookup: AppLookup, kid: string | null, keyHash: string | null): { row: GateRow; expiresAtMs: number } | undefined {
  const app = lookup === null ? { value: null, expiresAtMs: Infinity } : lookup.by === 'id' ? gateCache.app(lookup.id) : gateCache.appBySubdomain(lookup.subdomain);
  if (!app) return undefined;
  const key = app.value && kid ? gateCache.signingKey(app.value.id, kid) : { value: { jwk: null, retiredAt: null }, expiresAtMs: Infinity };
  if (!key) return undefined;
  const serviceKey = keyHash === null ? { value: null, expiresAtMs: Infinity } : gateCache.serviceKey(keyHash);
  if (!serviceKey) return undefined;
  return {
    row: { key: serviceKey.value, app: app.value, jwk: key.value.jwk, jwk_retired_at: key.value.retiredAt },
    expiresAtMs: Math.min(app.expiresAtMs, key.expiresAtMs, serviceKey.expiresAtMs),
  };
}

/** The caller, and for a verified access token when it expires (epoch ms): the answer is not reused past it. */
interface Resolved {
  principal: Principal;
  expiresAtMs?: number;
}

async function principalFor(bearer: Bearer, row: GateRow, pathAppId: string | null): Promise<Resolved> {
  switch (bearer.kind) {
    case 'none':
      return { principal: { kind: 'anonymous' } };
    case 'malformed_key':
      return { principal: { kind: 'invalid', code: 'AUTH_INVALID_API_KEY', message: 'The service key is malformed (expected bb_sk_ followed by 40 hex characters).' } };
    case 'service_key':
      return {
        principal: row.key
          ? { kind: 'service_key', keyId: row.key.id, accountId: row.key.account_id, scopes: row.key.scopes }
          : { kind: 'invalid', code: 'AUTH_INVALID_API_KEY', message: 'The service key is unknown or has been revoked.' },
      };
    case 'app_jwt':
      if (pathAppId && pathAppId !== bearer.appId) {
        return { principal: { kind: 'invalid', code: 'AUTH_INVALID_END_USER_JWT', message: 'The access token was issued for a different app.' } };
      }
      return verifyAccessToken(bearer, row);
    case 'other_jwt':
      return { principal: { kind: 'invalid', code: 'AUTH_INVALID_TOKEN', message: 'The bearer token is not a Butterbase token.' } };
    case 'opaque':
      if (row.app && timingSafeEqual(bearer.token, row.app.anon_key)) return { principal: { kind: 'anonymous' } };
      return { principal: { kind: 'invalid', code: 'AUTH_INVALID_TOKEN', message: 'The bearer token is not recognised.' } };
  }
}

async function verifyAccessToken(bearer: Extract<Bearer, { kind: 'app_jwt' }>, row: GateRow): Promise<Resolved> {
  if (!row.app || !row.jwk) {
    return { principal: { kind: 'invalid', code: 'AUTH_INVALID_END_USER_JWT', message: 'The access token was not signed by a key of this app.' } };
  }
  try {
    let key = publicKeys.get(bearer.kid);
    if (!key) {
      key = await importJWK(row.jwk, 'RS256');
      if (publicKeys.size >= maxPublicKeys) publicKeys.delete(publicKeys.keys().next().value!);
      publicKeys.set(bearer.kid, key);
    }
    const { payload } = await jwtVerify(bearer.token, key, { algorithms: ['RS256'], issuer: accessTokenIssuer(bearer.appId) });
    const claims = accessClaims.parse(payload);
    // A rotated-out key keeps verifying the tokens it signed until they expire (exp is checked
    // above), but nothing it signs after retirement (+ clock skew) is accepted.
    // Written as !(iat <= limit) so an unreadable retired_at refuses rather than accepts.
    if (row.jwk_retired_at !== null && !((payload.iat ?? Infinity) <= new Date(row.jwk_retired_at).getTime() / 1000 + signingKeyClockSkewSeconds)) {
      return { principal: { kind: 'invalid', code: 'AUTH_INVALID_END_USER_JWT', message: 'The access token was signed by a retired key.' } };
    }
    return {
      principal: {
        kind: 'end_user',
        appId: bearer.appId,
        userId: claims.sub,
        email: claims.email ?? null,
        emailVerified: claims.email_verified ?? false,
      },
      // jwtVerify has checked exp (a number when present); a token without exp is reused within the TTL only.
      expiresAtMs: typeof payload.exp === 'number' ? payload.exp * 1000 : undefined,
    };
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) {
      return { principal: { kind: 'invalid', code: 'AUTH_END_USER_JWT_EXPIRED', message: 'The access token has expired.' } };
    }
    return { principal: { kind: 'invalid', code: 'AUTH_INVALID_END_USER_JWT', message: 'The access token is invalid.' } };
  }
}

function touchKey(env: Env, ctx: ExecutionContext, keyId: string): void {
  const now = Date.now();
  if (now - (lastUsedWrites.get(keyId) ?? 0) < lastUsedWriteIntervalMs) return;
  lastUsedWrites.set(keyId, now);
  ctx.waitUntil(
    controlSql(env)
      .query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [keyId])
      .then(() => undefined, (error: unknown) => console.error(`[gate] last_used_at update failed: ${String(error)}`)),
  );
}
