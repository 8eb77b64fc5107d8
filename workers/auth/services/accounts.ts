/**
 * Account lifecycle (API.md §6): email + password sign-up, email verification, and the
 * forgot/reset password pair. Sign-up issues no tokens; the SDK signs in right after with /login,
 * which works before verification unless the app requires it.
 */
import { z } from 'zod';
import { ApiError } from '../../shared/errors.ts';
import { runAuthSql } from '../db.ts';
import type { AuthCall } from '../http.ts';
import { codeRefused, codeTtlSeconds, consumeStatement, findCode, hashCode, issueCodeStatements, newCode, newResetToken, resetTokenLength } from './codes.ts';
import { recordAuthEvent, type EventUser } from './events.ts';
import { fireAuthHook } from './hooks.ts';
import { codeMail, deliver } from './mail.ts';
import { assertPasswordPolicy, hashPassword } from './passwords.ts';
import { emailField, userColumns, type UserRow } from './users.ts';

/**
 * Body of POST /signup. Unknown keys are ignored, as on the reference server (API.md §6); the SDK
 * may send `metadata`, which is kept on the user.
 */
export const signupBody = z.object({
  email: emailField,
  password: z.string().min(8).max(1024),
  display_name: z.string().trim().max(200).nullable().optional(),
  metadata: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type SignupBody = z.infer<typeof signupBody>;

/**
 * Creates a user and emails a 6-digit verification code (valid 24 h). User and code are stored in
 * one statement; a taken email changes nothing.
 * @returns 201 body `{ user: { id, email, email_verified, display_name }, message }`
 * @throws ApiError VALIDATION_INVALID_SCHEMA (password policy, details = rules broken),
 *   RESOURCE_ALREADY_EXISTS `User already exists`
 */
export async function signUp(call: AuthCall, body: SignupBody) {
  assertPasswordPolicy(body.password);
  const code = newCode();
  const [passwordHash, codeHash] = await Promise.all([hashPassword(body.password), hashCode('verify_email', code)]);
  const [result] = await runAuthSql(call.env, call.app.id, [{
    query: `WITH usr AS (
              INSERT INTO auth.users (email, password_hash, display_name, metadata)
              VALUES ($1, $2, $3, COALESCE($4::jsonb, '{}'::jsonb))
              ON CONFLICT (email) DO NOTHING
              RETURNING ${userColumns}),
            code AS (
              INSERT INTO auth.one_time_codes (user_id, purpose, code_hash, expires_at)
              SELECT id, 'verify_email', $5, now() + make_interval(secs => $6) FROM usr)
            SELECT * FROM usr`,
    params: [body.email, passwordHash, body.display_name || null, body.metadata ? JSON.stringify(body.metadata) : null, codeHash, codeTtlSeconds.verify_email],
  }]);
  const user = result?.rows[0] as UserRow | undefined;
  if (!user) {
    throw new ApiError('RESOURCE_ALREADY_EXISTS', 'User already exists', {
      remediation: 'Sign in with POST /auth/{app_id}/login, or reset the password with POST /auth/{app_id}/forgot-password.',
    });
  }
  await deliver(call, codeMail(call.app.name, 'verify_email', user.email, code));
  recordAuthEvent(call, { type: 'signup', user, data: { email: user.email, provider: 'email' } });
  fireAuthHook(call, 'signup', user, true, 'email');
  return {
    user: { id: user.id, email: user.email, email_verified: user.email_verified, display_name: user.display_name },
    message: 'Verification email sent',
  };
}

/** Body of POST /verify-email. */
export const verifyEmailBody = z.object({ email: emailField, code: z.string().length(6) }).strict();

/**
 * Marks the email verified with the code from the sign-up email (single use).
 * @returns `{ message: "Email verified successfully" }`
 * @throws ApiError VALIDATION_INVALID_INPUT `Invalid verification code` / `… already used` / `… expired`
 */
export async function verifyEmail(call: AuthCall, email: string, code: string) {
  const { codeId } = await findCode(call, 'verify_email', code, email);
  const [result] = await runAuthSql(call.env, call.app.id, [consumeStatement(
    codeId,
    `UPDATE auth.users u SET email_verified = true, updated_at = now() FROM used WHERE u.id = used.user_id
     RETURNING u.id, u.email, u.email_verified`,
    [],
  )]);
  const user = result?.rows[0] as EventUser | undefined;
  if (!user) throw codeRefused('verify_email', 'used');
  recordAuthEvent(call, { type: 'email_verified', user, data: { email } });
  return { message: 'Email verified successfully' };
}

/** Body of POST /forgot-password. */
export const forgotPasswordBody = z.object({ email: emailField }).strict();

const forgotPasswordMessage = 'If an account exists with that email, a password reset code has been sent';

/**
 * Emails a reset code (valid 1 h) if the user exists. The answer is the same, and as fast, either
 * way: the lookup and the mail run after the response (waitUntil).
 * @returns `{ message }`
 */
export function forgotPassword(call: AuthCall, email: string) {
  call.waitUntil((async () => {
    const code = newCode();
    const token = newResetToken();
    const [, issued] = await runAuthSql(call.env, call.app.id, [
      ...issueCodeStatements(email, 'password_reset', await hashCode('password_reset', code)),
      ...issueCodeStatements(email, 'password_reset_token', await hashCode('password_reset_token', token)),
    ]);
    const userId = issued?.rows[0]?.user_id as string | undefined;
    if (!userId) return;
    await deliver(call, codeMail(call.app.name, 'password_reset', email, code, token));
    recordAuthEvent(call, { type: 'password_reset_requested', actor: { kind: 'anonymous' }, resourceType: 'app_user', resourceId: userId, data: { email } });
  })().catch((error: unknown) => console.error(`[${call.requestId}] forgot-password failed: ${String(error)}`)));
  return { message: forgotPasswordMessage };
}

/**
 * Body of POST /reset-password: the wire names `{ email, code, new_password }` or the SDK's
 * `{ token, newPassword }` (API.md §6 Gap: `token` = `code`, `newPassword` = `new_password`).
 * `code`/`token` is either the 6-digit code or the 40-character reset token from the same email.
 * Without an email only the reset token is accepted: a 6-digit code matched across every user of an
 * app could be guessed.
 */
export const resetPasswordBody = z.object({
  email: emailField.optional(),
  code: z.string().refine((v) => v.length === 6 || v.length === resetTokenLength, 'must be the 6-digit code or the reset token').optional(),
  token: z.string().refine((v) => v.length === 6 || v.length === resetTokenLength, 'must be the 6-digit code or the reset token').optional(),
  new_password: z.string().min(8).max(1024).optional(),
  newPassword: z.string().min(8).max(1024).optional(),
}).strict().superRefine((body, ctx) => {
  // `invalid_type` on an absent field is what parseLegacyBody reports as VALIDATION_MISSING_FIELD.
  if (body.code === undefined && body.token === undefined) {
    ctx.addIssue({ code: 'invalid_type', expected: 'string', input: undefined, path: ['code'], message: 'code (or token) is required' });
  }
  if (body.new_password === undefined && body.newPassword === undefined) {
    ctx.addIssue({ code: 'invalid_type', expected: 'string', input: undefined, path: ['new_password'], message: 'new_password (or newPassword) is required' });
  }
}).transform((body) => ({ email: body.email ?? null, code: (body.code ?? body.token)!, newPassword: (body.new_password ?? body.newPassword)! }));
export type ResetPasswordBody = z.output<typeof resetPasswordBody>;

/**
 * Sets a new password with a reset code or token; in the same statement it is used, its sibling
 * secret is revoked, the email counts as verified, and every refresh token of the user is revoked.
 * @returns `{ message: "Password reset successfully" }`
 * @throws ApiError VALIDATION_INVALID_SCHEMA (policy), VALIDATION_INVALID_INPUT `Invalid reset code` /
 *   `Reset code already used` / `Reset code expired`
 */
export async function resetPassword(call: AuthCall, body: ResetPasswordBody) {
  assertPasswordPolicy(body.newPassword);
  const purpose = body.code.length === resetTokenLength ? 'password_reset_token' : 'password_reset';
  if (purpose === 'password_reset' && body.email === null) throw codeRefused('password_reset_token', 'invalid');
  const { codeId } = await findCode(call, purpose, body.code, body.email);
  const passwordHash = await hashPassword(body.newPassword);
  const [result] = await runAuthSql(call.env, call.app.id, [consumeStatement(
    codeId,
    `, usr AS (
        UPDATE auth.users u SET password_hash = $2, email_verified = true, updated_at = now()
          FROM used WHERE u.id = used.user_id
        RETURNING u.id, u.email, u.email_verified),
      rev AS (
        UPDATE auth.refresh_tokens r SET revoked_at = now(), revoked_reason = 'password_reset'
          FROM usr WHERE r.user_id = usr.id AND r.revoked_at IS NULL),
      siblings AS (
        UPDATE auth.one_time_codes s SET revoked_at = now()
          FROM usr WHERE s.user_id = usr.id AND s.purpose IN ('password_reset', 'password_reset_token')
           AND s.used_at IS NULL AND s.revoked_at IS NULL)
     SELECT * FROM usr`,
    [passwordHash],
  )]);
  const user = result?.rows[0] as EventUser | undefined;
  if (!user) throw codeRefused('password_reset', 'used');
  recordAuthEvent(call, { type: 'password_reset', user, data: { email: user.email } });
  return { message: 'Password reset successfully' };
}
