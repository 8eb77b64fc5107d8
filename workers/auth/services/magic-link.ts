/**
 * Passwordless sign-in (API.md §6): POST /magic-link emails a 6-digit code (15 min, single use),
 * creating the user if the email is new; POST /magic-link/verify exchanges it for a session and
 * marks the email verified.
 */
import { z } from 'zod';
import { runAuthSql } from '../db.ts';
import type { AuthCall } from '../http.ts';
import { codeRefused, consumeStatement, findCode, hashCode, issueCodeStatements, newCode } from './codes.ts';
import { recordAuthEvent } from './events.ts';
import { fireAuthHook } from './hooks.ts';
import { codeMail, deliver } from './mail.ts';
import { loginResponse, newFamilyCte, newRefreshToken, requireSettings, userColumnsOf, type LoginResponse } from './sessions.ts';
import { signingKeyFor } from './signing-keys.ts';
import { emailField, type UserRow } from './users.ts';

/** Body of POST /magic-link. */
export const magicLinkBody = z.object({ email: emailField }).strict();
/** Body of POST /magic-link/verify. */
export const magicLinkVerifyBody = z.object({ email: emailField, code: z.string().length(6) }).strict();

/** Users created by a magic link and verified within this window count as new (API.md §6 hooks). */
const newUserWindowMs = 120_000;

/**
 * Issues a sign-in code, creating the user first if needed (user and code in one batch). The
 * answer is the same whether or not the user existed.
 * @returns `{ message }`
 */
export async function requestMagicLink(call: AuthCall, email: string) {
  const code = newCode();
  const [created, , issued] = await runAuthSql(call.env, call.app.id, [
    {
      query: `INSERT INTO auth.users (email, provider) VALUES ($1, 'magic_link') ON CONFLICT (email) DO NOTHING RETURNING id`,
      params: [email],
    },
    ...issueCodeStatements(email, 'magic_link', await hashCode('magic_link', code)),
  ]);
  const isNewUser = (created?.rowCount ?? 0) > 0;
  await deliver(call, codeMail(call.app.name, 'magic_link', email, code));
  recordAuthEvent(call, {
    type: 'magic_link_requested', actor: { kind: 'anonymous' }, resourceType: 'app_user',
    resourceId: issued?.rows[0]?.user_id as string | undefined, data: { email, isNewUser },
  });
  return { message: 'If an account exists with that email, a sign-in code has been sent' };
}

/**
 * Exchanges a sign-in code for a session. In one statement the code is used, the email marked
 * verified, the sign-in time set and a refresh-token family started. When this is the first proof
 * that the caller owns the inbox of an unverified account, the password and sessions set up before
 * (possibly by someone who signed up with another person's email) are cleared: account
 * pre-hijacking protection. A verified account keeps its password.
 * @returns LoginResponse
 * @throws ApiError VALIDATION_INVALID_INPUT `Invalid sign-in code` / `Sign-in code already used` / `Sign-in code expired`
 */
export async function verifyMagicLink(call: AuthCall, email: string, code: string): Promise<LoginResponse> {
  const [settings, found, refresh] = await Promise.all([requireSettings(call), findCode(call, 'magic_link', code, email), newRefreshToken()]);
  const key = await signingKeyFor(call.env, call.app.id, settings.activeKey);
  const [result] = await runAuthSql(call.env, call.app.id, [consumeStatement(
    found.codeId,
    `, prior AS (
        SELECT u.id, u.email_verified AS was_verified FROM auth.users u JOIN used ON u.id = used.user_id),
      usr AS (
        UPDATE auth.users u SET email_verified = true, last_sign_in_at = now(), updated_at = now(),
               password_hash = CASE WHEN prior.was_verified THEN u.password_hash END
          FROM prior WHERE u.id = prior.id
        RETURNING ${userColumnsOf('u')}),
      stale AS (
        UPDATE auth.refresh_tokens r SET revoked_at = now(), revoked_reason = 'unverified_account_claimed'
          FROM prior WHERE r.user_id = prior.id AND NOT prior.was_verified AND r.revoked_at IS NULL),
      ${newFamilyCte('usr', 2, 3)}
     SELECT * FROM usr`,
    [refresh.hash, settings.refreshTokenTtlDays],
  )]);
  const user = result?.rows[0] as UserRow | undefined;
  if (!user) throw codeRefused('magic_link', 'used');
  const isNewUser = Date.now() - new Date(user.created_at).getTime() < newUserWindowMs;
  recordAuthEvent(call, { type: 'magic_link_login', user, data: { email, isNewUser, provider: 'magic_link' } });
  fireAuthHook(call, 'magic_link_login', user, isNewUser, 'magic_link');
  return loginResponse(call, settings, key, user, refresh.token);
}
