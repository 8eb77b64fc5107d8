/**
 * Sessions (API.md §6 "Tokens"): an RS256 access token signed with the app's key, plus an opaque
 * refresh token (32 random bytes, base64url; stored as SHA-256) that is single use. Each sign-in
 * starts a token family; `/refresh` rotates within it; presenting an already-rotated token again is
 * a replay, and revokes the whole family.
 */
import { SignJWT } from 'jose';
import { randomBase64, sha256Hex } from '../../shared/crypto.ts';
import { ApiError } from '../../shared/errors.ts';
import { accessTokenIssuer } from '../../shared/tokens.ts';
import { runAuthSql } from '../db.ts';
import type { AuthCall } from '../http.ts';
import { recordAuthEvent } from './events.ts';
import { fireAuthHook } from './hooks.ts';
import { hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import { loadAuthSettings, type AuthSettings } from './settings.ts';
import { signingKeyFor, type SigningKey } from './signing-keys.ts';
import { findUserByEmail, publicUser, userColumns, type UserRow } from './users.ts';

/** The LoginResponse of API.md §6 (also the /refresh answer: it adds `user`, see the Gap there). */
export interface LoginResponse {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  token_type: 'Bearer';
  user: ReturnType<typeof publicUser>;
}


/** `userColumns` qualified with a table alias. */
export function userColumnsOf(alias: string): string {
  return userColumns.split(', ').map((column) => `${alias}.${column}`).join(', ');
}

/** A new opaque refresh token and its stored hash. */
export async function newRefreshToken(): Promise<{ token: string; hash: string }> {
  const token = randomBase64(32).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
  return { token, hash: await sha256Hex(token) };
}

/**
 * A CTE that stores a refresh token starting a new family for each user row of CTE `from`
 * (columns of auth.users). `$hash` / `$days` are parameter numbers.
 */
export function newFamilyCte(from: string, hashParam: number, daysParam: number): string {
  return `tok AS (
    INSERT INTO auth.refresh_tokens (user_id, family_id, token_hash, expires_at)
    SELECT id, gen_random_uuid(), $${hashParam}, now() + make_interval(days => $${daysParam}) FROM ${from})`;
}

/**
 * Signs an access token: header `alg` RS256 + `kid`; claims `sub`, `email`, `email_verified`,
 * `app_id`, `iat`, `exp`, `iss` = `butterbase:app:{app_id}` (no `role`/`aud`, API.md §6).
 */
export function signAccessToken(key: SigningKey, appId: string, user: Pick<UserRow, 'id' | 'email' | 'email_verified'>, ttlSeconds: number): Promise<string> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  return new SignJWT({ email: user.email, email_verified: user.email_verified, app_id: appId })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
    .setSubject(user.id)
    .setIssuer(accessTokenIssuer(appId))
    .setIssuedAt(nowSeconds)
    .setExpirationTime(nowSeconds + ttlSeconds)
    .sign(key.privateKey);
}

/**
 * The app's settings for issuing tokens.
 * @throws ApiError APP_NOT_FOUND when the app was deleted meanwhile
 */
export async function requireSettings(call: AuthCall): Promise<AuthSettings> {
  const settings = await loadAuthSettings(call.env, call.app.id);
  if (!settings) throw new ApiError('APP_NOT_FOUND', 'App not found');
  return settings;
}

/** Builds the LoginResponse for a user whose refresh token is already stored. */
export async function loginResponse(call: AuthCall, settings: AuthSettings, key: SigningKey, user: UserRow, refreshToken: string): Promise<LoginResponse> {
  return {
    access_token: await signAccessToken(key, call.app.id, user, settings.accessTokenTtlSeconds),
    refresh_token: refreshToken,
    expires_in: settings.accessTokenTtlSeconds,
    token_type: 'Bearer',
    user: publicUser(user),
  };
}

function invalidCredentials(): ApiError {
  return new ApiError('AUTH_INVALID_TOKEN', 'Invalid credentials', {
    remediation: 'Check the email and password, or reset the password with POST /auth/{app_id}/forgot-password.',
  });
}

/**
 * Email + password sign-in (POST /auth/{app}/login). Works before the email is verified unless the
 * app's auth_config.requireEmailVerification is on. Re-hashes a password stored with weaker
 * parameters. Unknown email and wrong password take the same time and give the same answer.
 * @throws ApiError AUTH_INVALID_TOKEN `Invalid credentials`; AUTH_INSUFFICIENT_PERMISSIONS `Email not verified`
 */
export async function passwordLogin(call: AuthCall, email: string, password: string): Promise<LoginResponse> {
  const [settings, user] = await Promise.all([requireSettings(call), findUserByEmail(call, email)]);
  const [valid, key] = await Promise.all([
    verifyPassword(password, user?.password_hash ?? null),
    signingKeyFor(call.env, call.app.id, settings.activeKey),
  ]);
  if (!user || !valid) {
    recordAuthEvent(call, {
      type: 'login_failed', user, success: false, errorMessage: 'Invalid credentials',
      data: { email, reason: !user ? 'user_not_found' : user.password_hash ? 'invalid_password' : 'no_password' },
    });
    throw invalidCredentials();
  }
  if (settings.requireEmailVerification && !user.email_verified) {
    recordAuthEvent(call, { type: 'login_failed', user, success: false, errorMessage: 'Email not verified', data: { email, reason: 'email_not_verified' } });
    throw new ApiError('AUTH_INSUFFICIENT_PERMISSIONS', 'Email not verified', {
      remediation: 'Verify the email first (POST /auth/{app_id}/verify-email with the emailed code), or sign in with a magic link.',
    });
  }
  const refresh = await newRefreshToken();
  const rehash = user.password_hash && needsRehash(user.password_hash) ? await hashPassword(password) : null;
  const [result] = await runAuthSql(call.env, call.app.id, [{
    query: `WITH usr AS (
              UPDATE auth.users SET last_sign_in_at = now(), password_hash = COALESCE($4, password_hash)
               WHERE id = $1 RETURNING ${userColumns}),
            ${newFamilyCte('usr', 2, 3)}
            SELECT * FROM usr`,
    params: [user.id, refresh.hash, settings.refreshTokenTtlDays, rehash],
  }]);
  const signedIn = result?.rows[0] as UserRow | undefined;
  if (!signedIn) throw invalidCredentials();
  recordAuthEvent(call, { type: 'login', user: signedIn, data: { email, provider: 'email' } });
  fireAuthHook(call, 'login', signedIn, false, 'email');
  return loginResponse(call, settings, key, signedIn, refresh.token);
}

function refreshRefused(message: 'Invalid or expired refresh token' | 'Invalid refresh token' | 'User not found'): ApiError {
  return new ApiError('AUTH_INVALID_TOKEN', message, { remediation: 'Sign in again (POST /auth/{app_id}/login).' });
}

interface TokenFacts {
  user_id: string;
  family_id: string;
  rotated: boolean;
  revoked: boolean;
}

/**
 * Rotates a refresh token (POST /auth/{app}/refresh): in one statement the presented token is
 * marked rotated and its successor stored in the same family. A token that was already rotated is
 * a replay: every token of its family is revoked (the legitimate holder must sign in again).
 * @returns a LoginResponse (with `user`)
 * @throws ApiError AUTH_INVALID_TOKEN `Invalid or expired refresh token` (unknown, expired, revoked),
 *   `Invalid refresh token` (replay detected), `User not found`
 */
export async function refreshSession(call: AuthCall, refreshToken: string): Promise<LoginResponse> {
  const [settings, presentedHash, next] = await Promise.all([requireSettings(call), sha256Hex(refreshToken), newRefreshToken()]);
  const key = await signingKeyFor(call.env, call.app.id, settings.activeKey);
  const [rotated, facts] = await runAuthSql(call.env, call.app.id, [
    {
      query: `WITH old AS (
                UPDATE auth.refresh_tokens SET rotated_at = now()
                 WHERE token_hash = $1 AND rotated_at IS NULL AND revoked_at IS NULL AND expires_at > now()
                RETURNING id, user_id, family_id),
              tok AS (
                INSERT INTO auth.refresh_tokens (user_id, family_id, parent_id, token_hash, expires_at)
                SELECT user_id, family_id, id, $2, now() + make_interval(days => $3) FROM old)
              SELECT old.user_id AS token_user_id, ${userColumnsOf('u')}
                FROM old LEFT JOIN auth.users u ON u.id = old.user_id`,
      params: [presentedHash, next.hash, settings.refreshTokenTtlDays],
    },
    {
      query: `SELECT user_id, family_id, rotated_at IS NOT NULL AS rotated, revoked_at IS NOT NULL AS revoked
                FROM auth.refresh_tokens WHERE token_hash = $1`,
      params: [presentedHash],
    },
  ]);
  const row = rotated?.rows[0] as (UserRow & { token_user_id: string }) | undefined;
  if (row) {
    if (!row.id) throw refreshRefused('User not found');
    recordAuthEvent(call, { type: 'token_refreshed', user: row });
    return loginResponse(call, settings, key, row, next.token);
  }
  const token = facts?.rows[0] as TokenFacts | undefined;
  if (token?.rotated) {
    await runAuthSql(call.env, call.app.id, [{
      query: `UPDATE auth.refresh_tokens SET revoked_at = now(), revoked_reason = 'reuse_detected'
               WHERE family_id = $1 AND revoked_at IS NULL`,
      params: [token.family_id],
    }]);
    recordAuthEvent(call, {
      type: 'refresh_token_reuse_detected', success: false, errorMessage: 'A rotated refresh token was presented again; its family was revoked.',
      resourceType: 'app_user', resourceId: token.user_id, data: { family_id: token.family_id },
    });
    throw refreshRefused('Invalid refresh token');
  }
  recordAuthEvent(call, {
    type: 'refresh_token_failed', success: false, errorMessage: 'Invalid or expired refresh token',
    resourceType: token ? 'app_user' : undefined, resourceId: token?.user_id,
    data: { reason: !token ? 'unknown' : token.revoked ? 'revoked' : 'expired' },
  });
  throw refreshRefused('Invalid or expired refresh token');
}

/**
 * Revokes every live refresh token of a user (logout, password reset). Access tokens already issued
 * stay valid until they expire (they are stateless).
 * @returns how many tokens were revoked
 */
export async function revokeUserSessions(call: AuthCall, userId: string, reason: 'logout' | 'password_reset'): Promise<number> {
  const [result] = await runAuthSql(call.env, call.app.id, [{
    query: `UPDATE auth.refresh_tokens SET revoked_at = now(), revoked_reason = $2
             WHERE user_id = $1::uuid AND revoked_at IS NULL`,
    params: [userId, reason],
  }]);
  return result?.rowCount ?? 0;
}
