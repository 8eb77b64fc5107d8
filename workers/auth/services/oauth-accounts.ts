/**
 * Accounts behind OAuth sign-ins (API.md §6 "OAuth"): the identity (provider, provider_uid) finds the
 * user; a first sign-in creates the user and its identity; an identity whose email belongs to an
 * existing account is linked to it only when the provider asserts that email is verified — linking on
 * an unverified email would hand the account to whoever typed that address at the provider.
 */
import { ApiError } from '../../shared/errors.ts';
import { authRows, runAuthSql } from '../db.ts';
import type { AuthCall } from '../http.ts';
import type { ProviderProfile } from './oauth-profiles.ts';
import { userColumnsOf } from './sessions.ts';
import { userColumns, type UserRow } from './users.ts';

/** How the sign-in found its user. */
export type AccountOutcome = 'existing' | 'created' | 'linked';

/** 409: the email has an account and the provider did not vouch for the address. */
export function unverifiedLinkRefused(provider: string): ApiError {
  return new ApiError('RESOURCE_CONFLICT', 'An account with this email already exists', {
    remediation: `Sign in to the existing account (password or magic link) instead; ${provider} did not confirm that the email is verified, so the accounts are not linked automatically. Verify the email at ${provider} and try again, or use another provider.`,
    details: { reason: 'email_not_verified_by_provider', provider },
  });
}

/** 400: the provider gave no email at all. */
function noEmail(provider: string): ApiError {
  return new ApiError('VALIDATION_INVALID_INPUT', `OAuth error: ${provider} did not return an email address`, {
    remediation: `Make sure the ${provider} account has a (verified, primary) email and that the configured scopes request it (e.g. "email").`,
  });
}

async function byIdentity(call: AuthCall, provider: string, uid: string): Promise<UserRow | null> {
  const rows = await authRows<UserRow>(call.env, call.app.id,
    `UPDATE auth.identities i SET last_sign_in_at = now() FROM auth.users u
      WHERE i.provider = $1 AND i.provider_uid = $2 AND u.id = i.user_id
      RETURNING ${userColumnsOf('u')}`, [provider, uid]);
  return rows[0] ?? null;
}

/**
 * Finds or creates the user for a provider identity.
 * @returns the user and how it was found
 * @throws ApiError RESOURCE_CONFLICT (email taken, provider did not assert verification),
 *   VALIDATION_INVALID_INPUT (no email from the provider)
 */
export async function resolveAccount(call: AuthCall, provider: string, profile: ProviderProfile): Promise<{ user: UserRow; outcome: AccountOutcome }> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const known = await byIdentity(call, provider, profile.uid);
    if (known) return { user: known, outcome: 'existing' };
    if (!profile.email) throw noEmail(provider);
    const raw = JSON.stringify(profile.raw);
    // Either a new user with its identity, or (verified email only) the identity added to the account
    // holding the email; nothing when the email is taken and unverified, or when a racing sign-in won.
    const [result] = await runAuthSql(call.env, call.app.id, [{
      query: `WITH existing AS (SELECT id FROM auth.users WHERE email = $3),
              created AS (
                INSERT INTO auth.users (email, email_verified, display_name, avatar_url, provider, provider_uid)
                SELECT $3, $4, $5, $6, $1, $2 WHERE NOT EXISTS (SELECT 1 FROM existing)
                ON CONFLICT (email) DO NOTHING
                RETURNING ${userColumns}),
              target AS (
                SELECT id, true AS is_new FROM created
                UNION ALL SELECT id, false FROM existing WHERE $4),
              ident AS (
                INSERT INTO auth.identities (user_id, provider, provider_uid, email, profile, last_sign_in_at)
                SELECT id, $1, $2, $3, $7::jsonb, now() FROM target
                ON CONFLICT (provider, provider_uid) DO NOTHING
                RETURNING user_id),
              linked AS (
                UPDATE auth.users u SET email_verified = true,
                       display_name = COALESCE(u.display_name, $5), avatar_url = COALESCE(u.avatar_url, $6), updated_at = now()
                  FROM ident, target WHERE target.is_new = false AND u.id = ident.user_id
                RETURNING u.id)
              SELECT (SELECT count(*) FROM existing)::int AS existing, (SELECT is_new FROM target LIMIT 1) AS is_new,
                     (SELECT user_id FROM ident LIMIT 1) AS user_id`,
      params: [provider, profile.uid, profile.email, profile.emailVerified, profile.name, profile.avatarUrl, raw],
    }]);
    const row = result?.rows[0] as { existing: number; is_new: boolean | null; user_id: string | null } | undefined;
    if (row?.user_id) {
      const [user] = await authRows<UserRow>(call.env, call.app.id, `SELECT ${userColumns} FROM auth.users WHERE id = $1`, [row.user_id]);
      if (user) return { user, outcome: row.is_new ? 'created' : 'linked' };
    }
    if (row && row.existing > 0 && !profile.emailVerified) throw unverifiedLinkRefused(provider);
    // A concurrent sign-in created the user or the identity first: look again.
  }
  throw new ApiError('RESOURCE_CONFLICT', 'Another sign-in for this account is in progress', { remediation: 'Retry the sign-in.' });
}
