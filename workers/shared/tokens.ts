/**
 * Facts about end-user access tokens that the auth Worker (which signs them) and the control
 * Worker's gate (which verifies them) must agree on (API.md §1.2, §6 "Tokens").
 */

/** Every access token's `iss` is this prefix followed by the app id. */
export const accessTokenIssuerPrefix = 'butterbase:app:';

/** The `iss` of access tokens of `appId`: `butterbase:app:{app_id}`. */
export function accessTokenIssuer(appId: string): string {
  return `${accessTokenIssuerPrefix}${appId}`;
}

/** The app id named by an `iss` claim, or null when it is not a Butterbase access-token issuer. */
export function appIdOfIssuer(issuer: unknown): string | null {
  return typeof issuer === 'string' && issuer.startsWith(accessTokenIssuerPrefix) ? issuer.slice(accessTokenIssuerPrefix.length) : null;
}

/**
 * Clock skew allowed between the Worker that stamps `iat` and the database that stamps a signing
 * key's `retired_at`, in seconds: a retired key still verifies tokens issued up to this long after
 * its retirement, and the JWKS keeps listing it that much longer.
 */
export const signingKeyClockSkewSeconds = 60;
