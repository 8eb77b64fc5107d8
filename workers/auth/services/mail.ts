/**
 * Outgoing mail through one interface, chosen by `MAIL_PROVIDER`:
 * - `dev` (local default): the message, code included, goes to the app's dev outbox
 *   (`auth.dev_outbox`, read with GET /v1/{app}/auth/dev/outbox) and to the console as
 *   `[mail] to … code …`, so a sign-up can be finished offline;
 * - `resend`: Resend's HTTP API (POST https://api.resend.com/emails, Bearer MAIL_API_KEY,
 *   `{ from, to[], subject, text }`; source: resend.com/docs/api-reference/emails/send-email).
 */
import { ApiError } from '../../shared/errors.ts';
import { authRows, runAuthSql } from '../db.ts';
import type { Env } from '../env.ts';
import type { AuthCall } from '../http.ts';
import type { CodePurpose } from './codes.ts';

/** One message with the code it carries. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  purpose: CodePurpose;
  code: string;
}

/** Sends mail. Implementations throw on failure; callers decide whether that fails the request. */
export interface MailSender {
  send(message: MailMessage): Promise<void>;
}

/** Writes to the app's dev outbox and logs the code. */
class DevOutboxSender implements MailSender {
  constructor(private readonly env: Env, private readonly appId: string) {}

  async send(message: MailMessage): Promise<void> {
    await runAuthSql(this.env, this.appId, [{
      query: 'INSERT INTO auth.dev_outbox (to_email, subject, body, purpose, code) VALUES ($1, $2, $3, $4, $5)',
      params: [message.to, message.subject, message.text, message.purpose, message.code],
    }]);
    // console.warn so it shows at wrangler's default `warn` log level in `npm run dev`.
    console.warn(`[mail] app ${this.appId} to ${message.to} (${message.purpose}) code ${message.code}: ${message.subject}`);
  }
}

/** Sends through Resend's HTTP API. */
class ResendSender implements MailSender {
  constructor(private readonly apiKey: string, private readonly from: string) {}

  async send(message: MailMessage): Promise<void> {
    const response = await fetch('https://api.resend.com/emails', {
      method: 'POST',
      headers: { authorization: `Bearer ${this.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ from: this.from, to: [message.to], subject: message.subject, text: message.text }),
    });
    if (!response.ok) {
      throw new ApiError('EXTERNAL_NETWORK_ERROR', 'The mail provider refused the message.', {
        internal: `resend ${response.status}: ${(await response.text()).slice(0, 500)}`,
      });
    }
  }
}

/** True when the dev outbox is in use. */
export function usesDevOutbox(env: Pick<Env, 'MAIL_PROVIDER'>): boolean {
  return (env.MAIL_PROVIDER ?? 'dev') === 'dev';
}

/**
 * The sender configured for this deployment.
 * @throws ApiError INTERNAL_ERROR when MAIL_PROVIDER is unknown or resend lacks MAIL_API_KEY / MAIL_FROM
 */
export function mailSenderFor(env: Env, appId: string): MailSender {
  const provider = env.MAIL_PROVIDER ?? 'dev';
  if (provider === 'dev') return new DevOutboxSender(env, appId);
  if (provider === 'resend' && env.MAIL_API_KEY && env.MAIL_FROM) return new ResendSender(env.MAIL_API_KEY, env.MAIL_FROM);
  throw new ApiError('INTERNAL_ERROR', 'Mail is not configured on this deployment.', {
    internal: `MAIL_PROVIDER=${provider}; resend needs MAIL_API_KEY and MAIL_FROM`,
  });
}

const subjects: Record<CodePurpose, (app: string) => string> = {
  verify_email: (app) => `Verify your email for ${app}`,
  magic_link: (app) => `Your ${app} sign-in code`,
  password_reset: (app) => `Reset your ${app} password`,
  password_reset_token: (app) => `Reset your ${app} password`,
};

const bodies: Record<CodePurpose, (app: string, code: string) => string> = {
  verify_email: (app, code) => `Your ${app} verification code is ${code}. It expires in 24 hours.`,
  magic_link: (app, code) => `Your ${app} sign-in code is ${code}. It expires in 15 minutes and works once.`,
  password_reset: (app, code) => `Your ${app} password reset code is ${code}. It expires in 1 hour. If you did not ask for it, ignore this email.`,
  password_reset_token: (app, code) => `Your ${app} password reset token is ${code}. It expires in 1 hour. If you did not ask for it, ignore this email.`,
};

/**
 * Builds the message for a code. A password reset also carries its long reset token (for reset
 * links and the SDK's email-less `resetPassword(token, newPassword)`), on a line of its own.
 */
export function codeMail(appName: string, purpose: CodePurpose, to: string, code: string, resetToken?: string): MailMessage {
  const tokenLine = resetToken ? `\n\nReset token (for a reset link or an app that does not ask for your email): ${resetToken}` : '';
  return { to, subject: subjects[purpose](appName), text: `${bodies[purpose](appName, code)}${tokenLine}`, purpose, code };
}

/** Sends a message; a delivery failure is logged, never surfaced (the account change already happened). */
export async function deliver(call: AuthCall, message: MailMessage): Promise<void> {
  try {
    await mailSenderFor(call.env, call.app.id).send(message);
  } catch (error) {
    const detail = error instanceof ApiError ? `${error.code} ${error.internal ?? error.message}` : String(error);
    console.error(`[${call.requestId}] [mail] ${message.purpose} to ${message.to} failed: ${detail}`);
  }
}

/** One dev outbox entry as returned to the owner. */
export interface OutboxMessage {
  id: string;
  to: string;
  subject: string;
  text: string;
  purpose: CodePurpose;
  code: string | null;
  created_at: string;
}

/**
 * Reads the dev outbox newest first, optionally for one recipient.
 * @throws ApiError FEATURE_NOT_AVAILABLE unless MAIL_PROVIDER=dev
 */
export async function readOutbox(call: AuthCall, email: string | undefined, limit: number): Promise<OutboxMessage[]> {
  if (!usesDevOutbox(call.env)) {
    throw new ApiError('FEATURE_NOT_AVAILABLE', 'The dev outbox exists only when MAIL_PROVIDER=dev (local development).');
  }
  return authRows<OutboxMessage>(
    call.env, call.app.id,
    `SELECT id, to_email AS "to", subject, body AS text, purpose, code, created_at FROM auth.dev_outbox
      WHERE ($1::text IS NULL OR to_email = $1) ORDER BY created_at DESC, id DESC LIMIT $2`,
    [email ?? null, limit],
  );
}
