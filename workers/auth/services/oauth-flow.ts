/**
 * The OAuth 2.0 / OpenID Connect sign-in (API.md §6 "OAuth"): GET /auth/{app}/oauth/{provider} sends the
 * browser to the provider with a signed single-use state, PKCE S256 and (OIDC) a nonce; the callback
 * checks the state, exchanges the code (oauth4webapi), verifies the ID token against the provider's JWKS
 * (jose: signature, iss, aud, exp, nonce), reads the profile and signs the user in exactly as a password
 * login does. Sources: RFC 6749, RFC 7636, RFC 9700, OpenID Connect Core 1.0 §3.1, Sign in with Apple
 * REST API ("Generate and validate tokens").
 */
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, importPKCS8, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import * as oauth from 'oauth4webapi';
import { z } from 'zod';
import { ApiError } from '../../shared/errors.ts';
import { runAuthSql } from '../db.ts';
import type { AuthCall } from '../http.ts';
import { recordAuthEvent } from './events.ts';
import { fireAuthHook } from './hooks.ts';
import { resolveAccount, type AccountOutcome } from './oauth-accounts.ts';
import { testProviderBaseUrl } from './oauth-catalogue.ts';
import { flowProvider, insecureProvidersAllowed, type FlowProvider } from './oauth-config.ts';
import { appleProfile, discordProfile, facebookProfile, genericProfile, githubProfile, profileFromClaims, xProfile, type ProviderProfile } from './oauth-profiles.ts';
import { consumeState, issueState, type PendingSignIn } from './oauth-state.ts';
import { loginResponse, newFamilyCte, newRefreshToken, requireSettings, type LoginResponse } from './sessions.ts';
import { signingKeyFor } from './signing-keys.ts';
import { userColumns, type UserRow } from './users.ts';

/** Query of GET /auth/{app}/oauth/{provider}. Other parameters are ignored. */
export const startQuery = z.object({
  redirect_to: z.string().min(1).max(2000).optional(),
  redirect_uri: z.string().min(1).max(2000).optional(),
});
export type StartQuery = z.infer<typeof startQuery>;

/** Seconds of clock difference tolerated on ID-token `exp`/`iat`. */
const idTokenClockToleranceSeconds = 30;

function oauthError(message: string, remediation: string, internal?: string): ApiError {
  return new ApiError('VALIDATION_INVALID_INPUT', `OAuth error: ${message}`, { remediation, internal });
}

function providerDown(provider: string, what: string, internal: string): ApiError {
  return new ApiError('EXTERNAL_NETWORK_ERROR', `OAuth error: ${provider} ${what}`, {
    remediation: 'The provider failed, not the request: retry the sign-in in a moment.',
    internal,
  });
}

/**
 * Checks `redirect_to`: an absolute http(s) URL whose origin the app lists in `allowed_origins`. The
 * wildcard `*` (the default, fine for CORS) does not allow redirects: the tokens travel in the URL, so
 * an unlisted target would receive them.
 * @throws ApiError VALIDATION_INVALID_INPUT
 */
export function checkRedirectTo(allowedOrigins: readonly string[], value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ApiError('VALIDATION_INVALID_INPUT', 'redirect_to must be an absolute URL', { remediation: 'Pass the full URL of your callback page, e.g. https://yourapp.com/auth/callback.' });
  }
  const listed = allowedOrigins.some((origin) => origin !== '*' && origin.replace(/\/+$/, '') === url.origin);
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !listed) {
    throw new ApiError('VALIDATION_INVALID_INPUT', 'redirect_to origin is not allowed', {
      remediation: `Add ${url.origin} to the app's allowed_origins (PATCH /v1/{app_id}/config/cors, manage_app update_cors). The "*" wildcard does not allow OAuth redirects.`,
      details: { origin: url.origin },
    });
  }
  return url.href;
}

/** Whether this provider's sign-in yields an ID token to verify. */
function usesIdToken(provider: FlowProvider): boolean {
  return provider.spec.issuer !== null && provider.spec.jwksUri !== null && (provider.name === 'apple' || provider.scopes.includes('openid'));
}

function scopesOf(provider: FlowProvider): string[] {
  return provider.scopes.length > 0 ? provider.scopes : provider.spec.defaultScopes;
}

/**
 * Starts a sign-in: stores the pending state and returns the provider's authorization URL.
 * @throws ApiError RESOURCE_NOT_FOUND (provider not configured or disabled), VALIDATION_INVALID_INPUT
 *   (`redirect_to origin is not allowed`, `redirect_uri is not registered for this provider`)
 */
export async function startSignIn(call: AuthCall, providerName: string, query: StartQuery): Promise<string> {
  const redirectTo = query.redirect_to === undefined ? null : checkRedirectTo(call.app.allowedOrigins, query.redirect_to);
  const provider = await flowProvider(call, providerName);
  const redirectUri = query.redirect_uri ?? provider.redirectUris[0]!;
  if (!provider.redirectUris.includes(redirectUri)) {
    throw new ApiError('VALIDATION_INVALID_INPUT', 'redirect_uri is not registered for this provider', {
      remediation: 'Omit redirect_uri, or pass one of the provider\'s redirect_uris (GET /v1/{app_id}/auth/oauth-config/{provider}).',
    });
  }
  const codeVerifier = provider.spec.pkce ? oauth.generateRandomCodeVerifier() : null;
  const nonce = usesIdToken(provider) ? oauth.generateRandomNonce() : null;
  const state = await issueState(call, { provider: provider.name, redirectUri, redirectTo, codeVerifier, nonce });
  const url = new URL(provider.spec.authorizationUrl);
  url.searchParams.set('client_id', provider.clientId);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('scope', scopesOf(provider).join(' '));
  url.searchParams.set('state', state);
  if (codeVerifier) {
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
    url.searchParams.set('code_challenge_method', 'S256');
  }
  if (nonce) url.searchParams.set('nonce', nonce);
  if (provider.spec.formPost) url.searchParams.set('response_mode', 'form_post');
  return url.href;
}

/** Apple's client secret: an ES256 JWT from the team's key, valid 5 minutes (Apple allows up to 6 months). */
async function appleClientSecret(provider: FlowProvider): Promise<string> {
  const teamId = String(provider.metadata.teamId ?? '');
  const keyId = String(provider.metadata.keyId ?? '');
  if (!provider.privateKey || !teamId || !keyId) {
    throw new ApiError('VALIDATION_INVALID_INPUT', 'OAuth error: apple is missing provider_metadata { teamId, keyId, privateKey }', {
      remediation: 'Set them with PATCH /v1/{app_id}/auth/oauth-config/apple (manage_oauth update).',
    });
  }
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: keyId })
    .setIssuer(teamId)
    .setSubject(provider.clientId)
    .setAudience('https://appleid.apple.com')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(await importPKCS8(provider.privateKey, 'ES256'));
}

const remoteJwks = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function jwksFor(uri: string): ReturnType<typeof createRemoteJWKSet> {
  let set = remoteJwks.get(uri);
  if (!set) {
    set = createRemoteJWKSet(new URL(uri), { timeoutDuration: 10_000, cooldownDuration: 30_000 });
    remoteJwks.set(uri, set);
  }
  return set;
}

function invalidIdToken(reason: string, internal?: string): ApiError {
  return oauthError(`invalid ID token (${reason})`, 'Start the sign-in again; if it keeps failing, check the provider\'s client_id (the ID token\'s audience) and issuer.', internal);
}

/** The issuer an ID token must carry: Microsoft's `common` endpoint signs per tenant (`{tenantid}` = `tid`). */
function expectedIssuer(provider: FlowProvider, claims: JWTPayload): string {
  const template = provider.spec.issuer!;
  return template.includes('{tenantid}') ? template.replace('{tenantid}', typeof claims.tid === 'string' ? claims.tid : '') : template;
}

/**
 * Verifies an ID token against the provider's JWKS: signature, `iss`, `aud` = client id, `exp`, and the
 * nonce sent with this sign-in (OpenID Connect Core §3.1.3.7).
 * @throws ApiError VALIDATION_INVALID_INPUT `OAuth error: invalid ID token (…)`; EXTERNAL_NETWORK_ERROR (JWKS unreachable)
 */
export async function verifyIdToken(provider: FlowProvider, idToken: string, nonce: string | null): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, jwksFor(provider.spec.jwksUri!), {
      audience: provider.clientId,
      clockTolerance: idTokenClockToleranceSeconds,
      algorithms: ['RS256', 'ES256', 'PS256', 'EdDSA', 'RS384', 'RS512', 'ES384'],
      requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'],
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw invalidIdToken('expired', String(error));
    if (error instanceof joseErrors.JWTClaimValidationFailed) throw invalidIdToken(`unexpected "${error.claim}" claim`, String(error));
    if (error instanceof joseErrors.JWSSignatureVerificationFailed || error instanceof joseErrors.JWKSNoMatchingKey) throw invalidIdToken('signature', String(error));
    if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid || error instanceof TypeError) throw providerDown(provider.name, 'key set could not be read', String(error));
    throw invalidIdToken('malformed', String(error));
  }
  if (payload.iss !== expectedIssuer(provider, payload)) throw invalidIdToken('unexpected "iss" claim', `iss ${payload.iss}`);
  if (nonce !== null && payload.nonce !== nonce) throw invalidIdToken('unexpected "nonce" claim');
  return payload;
}

/** The callback parameters oauth4webapi validates (the code flow only: Apple's front-channel id_token is not used). */
function authorizationResponse(params: URLSearchParams): URLSearchParams {
  const kept = new URLSearchParams();
  for (const name of ['code', 'state', 'iss', 'error', 'error_description', 'error_uri']) {
    const value = params.get(name);
    if (value !== null) kept.set(name, value);
  }
  return kept;
}

/** The payload of the token response's ID token, unverified (empty when there is none or it is malformed). */
async function unverifiedIdTokenClaims(response: Response): Promise<JWTPayload> {
  try {
    const body = (await response.json()) as { id_token?: unknown };
    return typeof body.id_token === 'string' ? decodeJwt(body.id_token) : {};
  } catch {
    return {};
  }
}

interface Exchanged {
  accessToken: string;
  idTokenClaims: JWTPayload | null;
}

/**
 * Exchanges the code at the token endpoint and verifies the ID token.
 * @throws ApiError VALIDATION_INVALID_INPUT `OAuth error: <error>` (provider refused the code, bad token
 *   response, invalid ID token), EXTERNAL_NETWORK_ERROR (token endpoint unreachable or 5xx)
 */
async function exchangeCode(call: AuthCall, provider: FlowProvider, pending: PendingSignIn, params: URLSearchParams, state: string): Promise<Exchanged> {
  const idToken = usesIdToken(provider);
  let server: oauth.AuthorizationServer = {
    issuer: provider.spec.issuer ?? new URL(provider.spec.authorizationUrl).origin,
    authorization_endpoint: provider.spec.authorizationUrl,
    token_endpoint: provider.spec.tokenUrl,
    ...(provider.spec.jwksUri ? { jwks_uri: provider.spec.jwksUri } : {}),
  };
  const client: oauth.Client = { client_id: provider.clientId };
  const insecure = insecureProvidersAllowed(call.env) || testProviderBaseUrl(call.env.OAUTH_TEST_PROVIDER_BASE_URL) !== undefined;
  const http = insecure ? { [oauth.allowInsecureRequests]: true } : {};
  let callback: URLSearchParams;
  try {
    callback = oauth.validateAuthResponse(server, client, authorizationResponse(params), state);
  } catch (error) {
    throw oauthError('invalid authorization response', 'Start the sign-in again.', String(error));
  }
  const secret = provider.name === 'apple' ? await appleClientSecret(provider) : provider.clientSecret;
  const clientAuth = provider.spec.clientAuth === 'basic' ? oauth.ClientSecretBasic(secret) : oauth.ClientSecretPost(secret);
  let response: Response;
  try {
    response = await oauth.authorizationCodeGrantRequest(server, client, clientAuth, callback, pending.redirectUri, pending.codeVerifier ?? oauth.nopkce, http);
  } catch (error) {
    throw providerDown(provider.name, 'token endpoint could not be reached', String(error));
  }
  if (response.status >= 500) throw providerDown(provider.name, `token endpoint answered ${response.status}`, (await response.text()).slice(0, 300));
  if (provider.spec.issuer?.includes('{tenantid}')) {
    // Microsoft's `common` endpoint issues per-tenant ID tokens: the expected issuer names the token's
    // own `tid` (read unverified here only to pick the issuer; jose verifies the token below).
    server = { ...server, issuer: expectedIssuer(provider, await unverifiedIdTokenClaims(response.clone())) };
  }
  let tokens: oauth.TokenEndpointResponse;
  try {
    tokens = await oauth.processAuthorizationCodeResponse(server, client, response, {
      expectedNonce: pending.nonce ?? oauth.expectNoNonce,
      requireIdToken: idToken,
    });
  } catch (error) {
    if (error instanceof oauth.ResponseBodyError) {
      throw oauthError(error.error + (error.error_description ? `: ${error.error_description}` : ''), 'The provider refused the authorization code (used twice, expired, or issued for another redirect_uri); start the sign-in again.', String(error));
    }
    if (error instanceof oauth.OperationProcessingError && error.code === oauth.JWT_TIMESTAMP_CHECK) throw invalidIdToken('expired', String(error));
    if (error instanceof oauth.OperationProcessingError && error.code === oauth.JWT_CLAIM_COMPARISON) {
      const claim = (error.cause as { claim?: string } | undefined)?.claim;
      throw invalidIdToken(claim ? `unexpected "${claim}" claim` : 'claims', String(error));
    }
    throw oauthError('invalid token response', 'The provider answered the code exchange with something unexpected; start the sign-in again.', String(error));
  }
  const claims = idToken ? await verifyIdToken(provider, tokens.id_token!, pending.nonce) : null;
  return { accessToken: tokens.access_token, idTokenClaims: claims };
}

/** Reads who signed in: ID-token claims for OIDC providers, the provider's user API otherwise. */
async function readProfile(provider: FlowProvider, exchanged: Exchanged, params: URLSearchParams): Promise<ProviderProfile> {
  const { spec, name } = provider;
  if (name === 'apple') return appleProfile(exchanged.idTokenClaims!, params.get('user'));
  if (name === 'github') return githubProfile(spec.userinfoUrl!, exchanged.accessToken);
  if (name === 'discord') return discordProfile(spec.userinfoUrl!, exchanged.accessToken);
  if (name === 'facebook') return facebookProfile(spec.userinfoUrl!, exchanged.accessToken);
  if (name === 'x') return xProfile(spec.userinfoUrl!, exchanged.accessToken);
  if (exchanged.idTokenClaims) {
    // Custom OIDC providers may keep email/profile claims in userinfo only; the ID token's `sub` rules.
    let extra: Record<string, unknown> = {};
    if (spec.userinfoUrl && !['google', 'microsoft', 'linkedin'].includes(name) && !exchanged.idTokenClaims.email) {
      const info = await genericProfile(name, spec.userinfoUrl, exchanged.accessToken);
      if (info.uid === exchanged.idTokenClaims.sub) extra = { email: info.email, email_verified: info.emailVerified, name: info.name, picture: info.avatarUrl };
    }
    return profileFromClaims(name, exchanged.idTokenClaims, extra);
  }
  if (!spec.userinfoUrl) throw oauthError('no ID token and no userinfo endpoint', 'Configure userinfo_url, or an OIDC issuer and the "openid" scope.');
  return genericProfile(name, spec.userinfoUrl, exchanged.accessToken);
}

/** Issues the session of a signed-in user, exactly as a password login does. */
async function issueSession(call: AuthCall, user: UserRow): Promise<{ response: LoginResponse; user: UserRow }> {
  const settings = await requireSettings(call);
  if (settings.requireEmailVerification && !user.email_verified) {
    throw new ApiError('AUTH_INSUFFICIENT_PERMISSIONS', 'Email not verified', {
      remediation: 'This app requires a verified email; the provider did not confirm this one. Sign in with a provider that does, or verify the email (POST /auth/{app_id}/verify-email).',
    });
  }
  const [key, refresh] = await Promise.all([signingKeyFor(call.env, call.app.id, settings.activeKey), newRefreshToken()]);
  const [result] = await runAuthSql(call.env, call.app.id, [{
    query: `WITH usr AS (UPDATE auth.users SET last_sign_in_at = now() WHERE id = $1 RETURNING ${userColumns}),
            ${newFamilyCte('usr', 2, 3)}
            SELECT * FROM usr`,
    params: [user.id, refresh.hash, settings.refreshTokenTtlDays],
  }]);
  const signedIn = result?.rows[0] as UserRow | undefined;
  if (!signedIn) throw new ApiError('RESOURCE_NOT_FOUND', 'User not found', { remediation: 'The account was deleted during sign-in; start again.' });
  return { response: await loginResponse(call, settings, key, signedIn, refresh.token), user: signedIn };
}

/** The outcome of a callback: the LoginResponse and where to send the browser (null → answer JSON). */
export interface SignInResult {
  login: LoginResponse;
  redirectTo: string | null;
  outcome: AccountOutcome;
}

/**
 * Finishes a sign-in from the provider's callback (query or Apple's form_post). Every refusal is
 * audited as `oauth_login_failed`; success as `oauth_login`.
 * @throws ApiError VALIDATION_INVALID_INPUT (`OAuth error: …`, `Missing code or state parameter`,
 *   `Invalid or expired state`, `State mismatch`), RESOURCE_CONFLICT (unverified email of an existing
 *   account), RESOURCE_NOT_FOUND (provider removed), EXTERNAL_NETWORK_ERROR (provider down)
 */
export async function finishSignIn(call: AuthCall, providerName: string, params: URLSearchParams): Promise<SignInResult> {
  try {
    const error = params.get('error');
    const state = params.get('state');
    if (error) {
      if (state) await consumeState(call, providerName, state).catch(() => null);
      const description = params.get('error_description');
      throw oauthError(`${error.slice(0, 100)}${description ? `: ${description.slice(0, 300)}` : ''}`, error === 'access_denied'
        ? 'The user declined (or the provider refused) the sign-in; start it again to retry.'
        : 'The provider refused the sign-in; check the provider config (client_id, redirect_uris, scopes) and start again.');
    }
    const code = params.get('code');
    if (!code || !state) {
      throw new ApiError('VALIDATION_INVALID_INPUT', 'Missing code or state parameter', {
        remediation: 'Open this URL only as the provider\'s redirect after GET /auth/{app_id}/oauth/{provider}.',
      });
    }
    const pending = await consumeState(call, providerName, state);
    const provider = await flowProvider(call, providerName);
    const exchanged = await exchangeCode(call, provider, pending, params, state);
    const profile = await readProfile(provider, exchanged, params);
    const { user, outcome } = await resolveAccount(call, provider.name, profile);
    const session = await issueSession(call, user);
    recordAuthEvent(call, {
      type: 'oauth_login', user: session.user,
      data: { email: session.user.email, provider: provider.name, provider_uid: profile.uid, is_new_user: outcome === 'created', linked: outcome === 'linked' },
    });
    fireAuthHook(call, 'oauth_login', session.user, outcome === 'created', provider.name);
    return { login: session.response, redirectTo: pending.redirectTo, outcome };
  } catch (error) {
    const apiError = error instanceof ApiError ? error : providerDown(providerName, 'sign-in failed', String(error));
    recordAuthEvent(call, {
      type: 'oauth_login_failed', success: false, errorMessage: apiError.message,
      data: { provider: providerName, code: apiError.code, ...(apiError.internal ? { reason: apiError.internal.slice(0, 500) } : {}) },
    });
    throw apiError;
  }
}
