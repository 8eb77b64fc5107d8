/**
 * One-time 6-digit codes (API.md §6): verify email (24 h), magic link (15 min), password reset (1 h).
 * Digits from crypto.getRandomValues (rejection-sampled); only SHA-256 of `purpose:code` is stored.
 * A code is single use, superseded by a newer code of the same purpose, and dies after
 * `maxCodeAttempts` wrong guesses for its user (each wrong code counts against every live code).
 *
 * Consuming a code and applying what it proves happen in one SQL statement (`consumeStatement`):
 * the effects read the `used` CTE, so they apply only if this statement is the one that consumed it.
 */
import type { SqlStatement } from '../../shared/contracts.ts';
import { randomString, sha256Hex } from '../../shared/crypto.ts';
import { ApiError } from '../../shared/errors.ts';
import { runAuthSql } from '../db.ts';
import type { AuthCall } from '../http.ts';

export type CodePurpose = 'verify_email' | 'magic_link' | 'password_reset' | 'password_reset_token';

/** Lifetimes in seconds (API.md §6). */
export const codeTtlSeconds: Record<CodePurpose, number> = {
  verify_email: 24 * 3600,
  magic_link: 15 * 60,
  password_reset: 3600,
  password_reset_token: 3600,
};

/** Wrong guesses a user may make before their live codes of that purpose stop working. */
export const maxCodeAttempts = 5;

/** A new 6-digit code. */
export function newCode(): string {
  return randomString(6, '0123456789');
}

/** Length of a reset token: 40 of [A-Za-z0-9] ≈ 238 bits, so it cannot be guessed without an email. */
export const resetTokenLength = 40;

/** A new reset token (sent with every reset code; see migrations/app/0003_reset_token.sql). */
export function newResetToken(): string {
  return randomString(resetTokenLength, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789');
}

/** What is stored for a code. */
export function hashCode(purpose: CodePurpose, code: string): Promise<string> {
  return sha256Hex(`${purpose}:${code}`);
}

/**
 * Statements that supersede the user's live codes of `purpose` and store a new one, addressing the
 * user by email so they can follow a user insert in the same batch.
 * @returns two statements; the second returns `{ user_id }` when the user exists
 */
export function issueCodeStatements(email: string, purpose: CodePurpose, codeHash: string): SqlStatement[] {
  return [
    {
      query: `UPDATE auth.one_time_codes SET revoked_at = now()
               WHERE purpose = $2 AND used_at IS NULL AND revoked_at IS NULL
                 AND user_id = (SELECT id FROM auth.users WHERE email = $1)`,
      params: [email, purpose],
    },
    {
      query: `INSERT INTO auth.one_time_codes (user_id, purpose, code_hash, expires_at)
              SELECT id, $2, $3, now() + make_interval(secs => $4) FROM auth.users WHERE email = $1
              RETURNING user_id`,
      params: [email, purpose, codeHash, codeTtlSeconds[purpose]],
    },
  ];
}

/** Why a code was refused. */
export type CodeRefusal = 'invalid' | 'used' | 'expired';

/** The wire messages (API.md §6), per purpose and reason. */
const refusalMessages: Record<CodePurpose, Record<CodeRefusal, string>> = {
  verify_email: { invalid: 'Invalid verification code', used: 'Verification code already used', expired: 'Verification code expired' },
  magic_link: { invalid: 'Invalid sign-in code', used: 'Sign-in code already used', expired: 'Sign-in code expired' },
  password_reset: { invalid: 'Invalid reset code', used: 'Reset code already used', expired: 'Reset code expired' },
  password_reset_token: { invalid: 'Invalid reset code', used: 'Reset code already used', expired: 'Reset code expired' },
};

const requestAgain: Record<CodePurpose, string> = {
  verify_email: 'Check the code in the verification email, or sign in with a magic link (POST /auth/{app_id}/magic-link) to get a new one.',
  magic_link: 'Request a new sign-in code with POST /auth/{app_id}/magic-link.',
  password_reset: 'Request a new reset code with POST /auth/{app_id}/forgot-password.',
  password_reset_token: 'Without an email, send the reset token from the email (not the 6-digit code); or send { email, code, new_password }. Request a new one with POST /auth/{app_id}/forgot-password.',
};

/** The 400 for a refused code. */
export function codeRefused(purpose: CodePurpose, reason: CodeRefusal): ApiError {
  return new ApiError('VALIDATION_INVALID_INPUT', refusalMessages[purpose][reason], { remediation: requestAgain[purpose] });
}

interface CodeRow {
  id: string;
  user_id: string;
  used: boolean;
  dead: boolean;
  expired: boolean;
}

function judge(row: CodeRow | undefined): CodeRefusal | null {
  if (!row) return 'invalid';
  if (row.used) return 'used';
  if (row.dead) return 'invalid';
  if (row.expired) return 'expired';
  return null;
}

const codeFacts = `c.id, c.user_id, c.used_at IS NOT NULL AS used,
  (c.revoked_at IS NOT NULL OR c.attempts >= ${maxCodeAttempts}) AS dead, c.expires_at <= now() AS expired`;

/**
 * Finds the code `code` of `purpose` for the user with `email` (or, with `email` null, the one live
 * code of that purpose in the app that matches — only ever used for unguessable reset tokens).
 * A wrong code counts one attempt against each of the user's live codes of that purpose.
 * @returns the code and user to consume
 * @throws ApiError VALIDATION_INVALID_INPUT with the §6 message (invalid / already used / expired)
 */
export async function findCode(call: AuthCall, purpose: CodePurpose, code: string, email: string | null): Promise<{ codeId: string; userId: string }> {
  const codeHash = await hashCode(purpose, code);
  let row: CodeRow | undefined;
  if (email !== null) {
    const [found] = await runAuthSql(call.env, call.app.id, [
      {
        query: `SELECT ${codeFacts} FROM auth.one_time_codes c JOIN auth.users u ON u.id = c.user_id
                 WHERE u.email = $1 AND c.purpose = $2 AND c.code_hash = $3 ORDER BY c.created_at DESC LIMIT 1`,
        params: [email, purpose, codeHash],
      },
      {
        query: `UPDATE auth.one_time_codes c SET attempts = c.attempts + 1 FROM auth.users u
                 WHERE u.id = c.user_id AND u.email = $1 AND c.purpose = $2
                   AND c.used_at IS NULL AND c.revoked_at IS NULL AND c.expires_at > now()
                   AND NOT EXISTS (SELECT 1 FROM auth.one_time_codes m WHERE m.user_id = u.id AND m.purpose = $2 AND m.code_hash = $3)`,
        params: [email, purpose, codeHash],
      },
    ]);
    row = found?.rows[0] as CodeRow | undefined;
  } else {
    const [found] = await runAuthSql(call.env, call.app.id, [{
      query: `SELECT ${codeFacts} FROM auth.one_time_codes c WHERE c.purpose = $1 AND c.code_hash = $2
               ORDER BY (c.used_at IS NULL AND c.revoked_at IS NULL AND c.attempts < ${maxCodeAttempts} AND c.expires_at > now()) DESC,
                        c.created_at DESC
               LIMIT 2`,
      params: [purpose, codeHash],
    }]);
    const rows = (found?.rows ?? []) as unknown as CodeRow[];
    // Two users holding the same live code: without an email we cannot tell whose it is.
    row = rows.length === 2 && judge(rows[0]) === null && judge(rows[1]) === null ? undefined : rows[0];
  }
  const refusal = judge(row);
  if (refusal !== null) throw codeRefused(purpose, refusal);
  return { codeId: row!.id, userId: row!.user_id };
}

/**
 * One statement that consumes code `$1` and then runs `effects`, which continue the WITH clause
 * after the `used` CTE (columns: `user_id`) and use parameters from `$2`. Returns no rows when
 * another request consumed the code first.
 */
export function consumeStatement(codeId: string, effects: string, params: unknown[]): SqlStatement {
  return {
    query: `WITH used AS (
              UPDATE auth.one_time_codes SET used_at = now()
               WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > now() AND attempts < ${maxCodeAttempts}
              RETURNING user_id)
            ${effects}`,
    params: [codeId, ...params],
  };
}
