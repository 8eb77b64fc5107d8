/**
 * The `state` of an OAuth sign-in (RFC 6749 §10.12, RFC 9700 §4.7): a compact HS256 JWT carrying the
 * app, the provider, the redirect target and the id of a row in `auth.oauth_states`, expiring after 10
 * minutes. The signature (key derived from PLATFORM_MASTER_KEY with HKDF) refuses tampered values before
 * any lookup; the row makes the state single use and holds what must not travel through the browser —
 * the PKCE verifier (RFC 7636) and the OIDC nonce.
 */
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import { z } from 'zod';
import { base64ToBytes } from '../../shared/crypto.ts';
import { ApiError } from '../../shared/errors.ts';
import { authRows, runAuthSql } from '../db.ts';
import type { Env } from '../env.ts';
import type { AuthCall } from '../http.ts';

/** How long a sign-in may take between the redirect to the provider and the callback. */
export const stateTtlSeconds = 600;

const stateIssuer = 'butterbase:oauth-state';

let cachedKey: { master: string; key: Uint8Array } | null = null;

/** The state signing key: HKDF-SHA-256(PLATFORM_MASTER_KEY, info "butterbase oauth state v1"). */
async function stateKey(env: Pick<Env, 'PLATFORM_MASTER_KEY'>): Promise<Uint8Array> {
  if (cachedKey?.master === env.PLATFORM_MASTER_KEY) return cachedKey.key;
  const master = await crypto.subtle.importKey('raw', base64ToBytes(env.PLATFORM_MASTER_KEY), 'HKDF', false, ['deriveBits']);
  const bits = await crypto.subtle.deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode('butterbase oauth state v1') }, master, 256,
  );
  cachedKey = { master: env.PLATFORM_MASTER_KEY, key: new Uint8Array(bits) };
  return cachedKey.key;
}

/** What a pending sign-in remembers. */
export interface PendingSignIn {
  provider: string;
  redirectUri: string;
  redirectTo: string | null;
  codeVerifier: string | null;
  nonce: string | null;
}

/**
 * Stores a pending sign-in and returns its signed `state` (expired rows of the app are swept in the same
 * transaction).
 */
export async function issueState(call: AuthCall, pending: PendingSignIn): Promise<string> {
  const id = crypto.randomUUID();
  await runAuthSql(call.env, call.app.id, [
    { query: `DELETE FROM auth.oauth_states WHERE expires_at < now() - interval '1 hour'` },
    {
      query: `INSERT INTO auth.oauth_states (id, provider, redirect_uri, redirect_to, code_verifier, nonce, expires_at)
              VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))`,
      params: [id, pending.provider, pending.redirectUri, pending.redirectTo, pending.codeVerifier, pending.nonce, stateTtlSeconds],
    },
  ]);
  return new SignJWT({ app: call.app.id, prv: pending.provider, rto: pending.redirectTo })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(stateIssuer)
    .setJti(id)
    .setIssuedAt()
    .setExpirationTime(`${stateTtlSeconds}s`)
    .sign(await stateKey(call.env));
}

const stateClaims = z.object({ jti: z.uuid(), app: z.string(), prv: z.string(), rto: z.string().nullable() });

/** 400 `Invalid or expired state` (API.md §6). */
export function invalidState(internal?: string): ApiError {
  return new ApiError('VALIDATION_INVALID_INPUT', 'Invalid or expired state', {
    remediation: 'Start the sign-in again from GET /auth/{app_id}/oauth/{provider}: a state is valid once, for 10 minutes.',
    internal,
  });
}

/**
 * Checks a presented state and uses it up: signature, expiry, that it was issued for this app and
 * provider, and that its row was not used before (one UPDATE, so two callbacks racing cannot both win).
 * @returns the pending sign-in
 * @throws ApiError VALIDATION_INVALID_INPUT `Invalid or expired state` (bad signature, expired, unknown,
 *   already used) / `State mismatch` (issued for another app or provider)
 */
export async function consumeState(call: AuthCall, provider: string, state: string): Promise<PendingSignIn> {
  let claims: z.infer<typeof stateClaims>;
  try {
    const { payload } = await jwtVerify(state, await stateKey(call.env), { issuer: stateIssuer, algorithms: ['HS256'] });
    claims = stateClaims.parse(payload);
  } catch (error) {
    throw invalidState(error instanceof joseErrors.JWTExpired ? 'state expired' : `state refused: ${String(error)}`);
  }
  if (claims.app !== call.app.id || claims.prv !== provider) {
    throw new ApiError('VALIDATION_INVALID_INPUT', 'State mismatch', {
      remediation: `This state was issued for another ${claims.app !== call.app.id ? 'app' : 'provider'}; start the sign-in again from GET /auth/{app_id}/oauth/${provider}.`,
    });
  }
  const rows = await authRows<{ provider: string; redirect_uri: string; redirect_to: string | null; code_verifier: string | null; nonce: string | null }>(
    call.env, call.app.id,
    `UPDATE auth.oauth_states SET used_at = now()
      WHERE id = $1 AND provider = $2 AND used_at IS NULL AND expires_at > now()
      RETURNING provider, redirect_uri, redirect_to, code_verifier, nonce`,
    [claims.jti, provider],
  );
  const row = rows[0];
  if (!row || row.redirect_to !== claims.rto) throw invalidState(row ? 'redirect target differs from the row' : 'state unknown, used or expired');
  return { provider: row.provider, redirectUri: row.redirect_uri, redirectTo: row.redirect_to, codeVerifier: row.code_verifier, nonce: row.nonce };
}
