/**
 * OAuth provider config (API.md §6 "Provider config", §13 `manage_oauth`), in the app database's
 * `auth.oauth_providers` (migrations/app/0008_oauth.sql). Built-in providers need only client id,
 * secret and redirect URIs; custom ones bring `authorization_url` + `token_url` + `userinfo_url`, or an
 * OIDC `issuer` whose discovery document gives them. Secrets (and Apple's private key) are sealed with
 * AES-GCM under PLATFORM_MASTER_KEY and never returned.
 */
import { importPKCS8 } from 'jose';
import * as oauth from 'oauth4webapi';
import { z } from 'zod';
import { decryptSecret, encryptSecret } from '../../shared/crypto.ts';
import { ApiError } from '../../shared/errors.ts';
import type { OAuthConfigBody, OAuthConfigPatch } from '../../shared/schemas/oauth.ts';
import { authRows } from '../db.ts';
import type { Env } from '../env.ts';
import type { AuthCall } from '../http.ts';
import { builtInSpec, isBuiltIn, testProviderBaseUrl, type ProviderSpec } from './oauth-catalogue.ts';

/** A provider row as read back. */
const providerRow = z.object({
  id: z.string(),
  provider: z.string(),
  client_id: z.string(),
  client_secret_sealed: z.string(),
  redirect_uris: z.array(z.string()),
  scopes: z.array(z.string()),
  authorization_url: z.string().nullable(),
  token_url: z.string().nullable(),
  userinfo_url: z.string().nullable(),
  issuer: z.string().nullable(),
  jwks_uri: z.string().nullable(),
  provider_metadata: z.record(z.string(), z.unknown()),
  private_key_sealed: z.string().nullable(),
  enabled: z.boolean(),
  created_at: z.union([z.date(), z.string()]),
  updated_at: z.union([z.date(), z.string()]),
});
type ProviderRow = z.infer<typeof providerRow>;

/** The owner's view of a provider (secrets redacted: only whether they are set). */
export interface OAuthConfigView {
  id: string;
  app_id: string;
  provider: string;
  type: 'built_in' | 'custom';
  client_id: string;
  redirect_uris: string[];
  scopes: string[];
  authorization_url: string | null;
  token_url: string | null;
  userinfo_url: string | null;
  issuer: string | null;
  provider_metadata: Record<string, unknown>;
  has_client_secret: true;
  has_private_key: boolean;
  enabled: boolean;
  created_at: Date | string;
  updated_at: Date | string;
}

function view(appId: string, row: ProviderRow): OAuthConfigView {
  const spec = isBuiltIn(row.provider) ? builtInSpec(row.provider, undefined) : null;
  return {
    id: row.id,
    app_id: appId,
    provider: row.provider,
    type: spec ? 'built_in' : 'custom',
    client_id: row.client_id,
    redirect_uris: row.redirect_uris,
    scopes: row.scopes,
    authorization_url: spec?.authorizationUrl ?? row.authorization_url,
    token_url: spec?.tokenUrl ?? row.token_url,
    userinfo_url: spec ? spec.userinfoUrl : row.userinfo_url,
    issuer: spec ? spec.issuer : row.issuer,
    provider_metadata: row.provider_metadata,
    has_client_secret: true,
    has_private_key: row.private_key_sealed !== null,
    enabled: row.enabled,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

const columns = 'id, provider, client_id, client_secret_sealed, redirect_uris, scopes, authorization_url, token_url, userinfo_url, issuer, jwks_uri, provider_metadata, private_key_sealed, enabled, created_at, updated_at';

function invalid(message: string, remediation: string): ApiError {
  return new ApiError('VALIDATION_INVALID_INPUT', message, { remediation });
}

function notConfigured(provider: string): ApiError {
  return new ApiError('RESOURCE_NOT_FOUND', `OAuth provider "${provider}" is not configured for this app.`, {
    remediation: 'List configured providers with GET /v1/{app_id}/auth/oauth-config (manage_oauth get), or add one with POST (manage_oauth configure).',
  });
}

/** True for loopback hosts, where plain http is fine (local development). */
function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname.endsWith('.localhost') || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
}

/** http provider endpoints are accepted only where the platform allows them (local runs and tests). */
export function insecureProvidersAllowed(env: Pick<Env, 'OAUTH_ALLOW_INSECURE_PROVIDERS'>): boolean {
  return env.OAUTH_ALLOW_INSECURE_PROVIDERS === 'true';
}

function checkRedirectUris(appId: string, provider: string, uris: string[]): void {
  const path = `/auth/${appId}/oauth/${provider}/callback`;
  for (const uri of uris) {
    const url = new URL(uri);
    if (url.pathname !== path || url.search || url.hash) {
      throw invalid(`redirect_uris: ${uri} is not this provider's callback.`, `Register and list the callback URI {api_base}${path} (for example https://api.butterbase.ai${path}).`);
    }
    if (url.protocol !== 'https:' && !isLoopback(url)) {
      throw invalid(`redirect_uris: ${uri} must use https.`, 'Only localhost callbacks may use plain http.');
    }
  }
}

function checkEndpoint(env: Env, field: string, value: string): void {
  const url = new URL(value);
  if (url.protocol !== 'https:' && !insecureProvidersAllowed(env)) {
    throw invalid(`${field} must use https.`, 'Provider endpoints must be https URLs (plain http is accepted only in local runs).');
  }
}

interface Endpoints {
  authorization_url: string | null;
  token_url: string | null;
  userinfo_url: string | null;
  issuer: string | null;
  jwks_uri: string | null;
}

/**
 * Resolves a custom provider's endpoints: OIDC discovery when an issuer is given (explicit URLs win),
 * else the three URLs, all required.
 * @throws ApiError VALIDATION_MISSING_FIELD, VALIDATION_INVALID_INPUT (http endpoint, discovery failed)
 */
async function customEndpoints(env: Env, fields: Omit<Endpoints, 'jwks_uri'>): Promise<Endpoints> {
  for (const [field, value] of Object.entries(fields)) if (value) checkEndpoint(env, field, value);
  if (!fields.issuer) {
    const missing = (['authorization_url', 'token_url', 'userinfo_url'] as const).filter((f) => !fields[f]);
    if (missing.length > 0) {
      throw new ApiError('VALIDATION_MISSING_FIELD', `A custom provider needs ${missing.join(', ')} (or an OIDC issuer).`, {
        remediation: 'Pass authorization_url, token_url and userinfo_url, or issuer for an OpenID Connect provider with a discovery document. Built-in names: google, github, discord, facebook, linkedin, microsoft, apple, x.',
        details: { missing },
      });
    }
    return { ...fields, jwks_uri: null };
  }
  const issuer = new URL(fields.issuer);
  let server: oauth.AuthorizationServer;
  try {
    const options = insecureProvidersAllowed(env) ? { [oauth.allowInsecureRequests]: true } : {};
    server = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...options }));
  } catch (error) {
    throw new ApiError('VALIDATION_INVALID_INPUT', `OIDC discovery failed for issuer ${fields.issuer}.`, {
      remediation: 'Check the issuer URL: {issuer}/.well-known/openid-configuration must answer with a document whose "issuer" equals it exactly. Or pass authorization_url, token_url and userinfo_url instead.',
      internal: String(error),
    });
  }
  const found = {
    authorization_url: fields.authorization_url ?? server.authorization_endpoint ?? null,
    token_url: fields.token_url ?? server.token_endpoint ?? null,
    userinfo_url: fields.userinfo_url ?? server.userinfo_endpoint ?? null,
    issuer: server.issuer,
    jwks_uri: server.jwks_uri ?? null,
  };
  if (!found.authorization_url || !found.token_url || !found.jwks_uri) {
    throw invalid(`The discovery document of ${fields.issuer} lacks authorization_endpoint, token_endpoint or jwks_uri.`, 'Pass authorization_url and token_url explicitly, or use a complete OIDC provider.');
  }
  return found;
}

/** Apple's metadata: teamId and keyId in the clear, privateKey (PKCS#8 PEM, ES256) sealed. */
const appleMetadata = z.object({ teamId: z.string().min(1).max(100), keyId: z.string().min(1).max(100), privateKey: z.string().min(1).optional() }).loose();

interface StoredMetadata {
  metadata: Record<string, unknown>;
  privateKeySealed: string | null;
}

/**
 * Splits provider_metadata into what is stored in the clear and the sealed private key.
 * @throws ApiError VALIDATION_MISSING_FIELD (Apple without teamId/keyId/privateKey), VALIDATION_INVALID_INPUT (key not PKCS#8 ES256)
 */
async function storeMetadata(env: Env, provider: string, given: Record<string, unknown>, previousSealed: string | null): Promise<StoredMetadata> {
  const { privateKey, ...rest } = given;
  if (provider !== 'apple') {
    if (privateKey !== undefined) throw invalid('provider_metadata.privateKey is only used by apple.', 'Remove privateKey; other providers authenticate with client_secret.');
    return { metadata: rest, privateKeySealed: null };
  }
  const parsed = appleMetadata.safeParse(given);
  if (!parsed.success || (parsed.data.privateKey === undefined && previousSealed === null)) {
    throw new ApiError('VALIDATION_MISSING_FIELD', 'apple needs provider_metadata { teamId, keyId, privateKey }.', {
      remediation: 'teamId is your Apple Developer Team ID, keyId the Sign in with Apple key id, privateKey the contents of its .p8 file (PEM). client_secret may be a placeholder: the platform signs the ES256 client secret itself.',
    });
  }
  if (parsed.data.privateKey === undefined) return { metadata: rest, privateKeySealed: previousSealed };
  try {
    await importPKCS8(parsed.data.privateKey, 'ES256');
  } catch {
    throw invalid('provider_metadata.privateKey is not a PKCS#8 EC P-256 private key.', 'Paste the whole .p8 file Apple gave you, including the BEGIN/END PRIVATE KEY lines.');
  }
  return { metadata: rest, privateKeySealed: await encryptSecret(parsed.data.privateKey, env.PLATFORM_MASTER_KEY) };
}

/** The full desired state of a provider before it is stored. */
type Desired = Pick<OAuthConfigBody, 'provider' | 'client_id' | 'redirect_uris'>
  & Partial<Omit<OAuthConfigBody, 'provider' | 'client_id' | 'redirect_uris' | 'provider_metadata'>>
  & { provider_metadata?: Record<string, unknown> };

async function prepare(call: AuthCall, desired: Desired, previous: ProviderRow | null) {
  const { env } = call;
  checkRedirectUris(call.app.id, desired.provider, desired.redirect_uris);
  let endpoints: Endpoints = { authorization_url: null, token_url: null, userinfo_url: null, issuer: null, jwks_uri: null };
  let defaultScopes: string[];
  if (isBuiltIn(desired.provider)) {
    const given = (['authorization_url', 'token_url', 'userinfo_url', 'issuer'] as const).filter((f) => desired[f] !== undefined && desired[f] !== previous?.[f]);
    if (given.length > 0) {
      throw invalid(`${desired.provider} is a built-in provider; its endpoints are fixed (${given.join(', ')} given).`, 'Omit the endpoint fields for built-in providers, or pick another name for a custom provider.');
    }
    defaultScopes = builtInSpec(desired.provider, undefined).defaultScopes;
  } else {
    endpoints = await customEndpoints(env, {
      authorization_url: desired.authorization_url ?? null,
      token_url: desired.token_url ?? null,
      userinfo_url: desired.userinfo_url ?? null,
      issuer: desired.issuer ?? null,
    });
    defaultScopes = endpoints.issuer ? ['openid', 'email', 'profile'] : [];
  }
  const metadata = await storeMetadata(env, desired.provider, desired.provider_metadata ?? previous?.provider_metadata ?? {}, previous?.private_key_sealed ?? null);
  const secretSealed = desired.client_secret !== undefined
    ? await encryptSecret(desired.client_secret, env.PLATFORM_MASTER_KEY)
    : previous!.client_secret_sealed;
  return { endpoints, scopes: desired.scopes ?? previous?.scopes ?? defaultScopes, metadata, secretSealed };
}

async function readRow(call: AuthCall, provider: string): Promise<ProviderRow | null> {
  const rows = await authRows(call.env, call.app.id, `SELECT ${columns} FROM auth.oauth_providers WHERE provider = $1`, [provider]);
  return rows[0] ? providerRow.parse(rows[0]) : null;
}

async function write(call: AuthCall, desired: Desired, previous: ProviderRow | null): Promise<{ row: ProviderRow; created: boolean }> {
  const prepared = await prepare(call, desired, previous);
  const rows = await authRows<Record<string, unknown> & { inserted: boolean }>(call.env, call.app.id,
    `INSERT INTO auth.oauth_providers (provider, client_id, client_secret_sealed, redirect_uris, scopes, authorization_url, token_url,
                                       userinfo_url, issuer, jwks_uri, provider_metadata, private_key_sealed, enabled)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13)
     ON CONFLICT (provider) DO UPDATE SET
       client_id = EXCLUDED.client_id, client_secret_sealed = EXCLUDED.client_secret_sealed, redirect_uris = EXCLUDED.redirect_uris,
       scopes = EXCLUDED.scopes, authorization_url = EXCLUDED.authorization_url, token_url = EXCLUDED.token_url,
       userinfo_url = EXCLUDED.userinfo_url, issuer = EXCLUDED.issuer, jwks_uri = EXCLUDED.jwks_uri,
       provider_metadata = EXCLUDED.provider_metadata, private_key_sealed = EXCLUDED.private_key_sealed,
       enabled = EXCLUDED.enabled, updated_at = now()
     RETURNING ${columns}, (xmax = 0) AS inserted`,
    [desired.provider, desired.client_id, prepared.secretSealed, desired.redirect_uris, prepared.scopes,
      prepared.endpoints.authorization_url, prepared.endpoints.token_url, prepared.endpoints.userinfo_url, prepared.endpoints.issuer,
      prepared.endpoints.jwks_uri, JSON.stringify(prepared.metadata.metadata), prepared.metadata.privateKeySealed,
      desired.enabled ?? previous?.enabled ?? true]);
  const { inserted, ...row } = rows[0]!;
  return { row: providerRow.parse(row), created: inserted };
}

/**
 * Creates or replaces a provider (POST /v1/{app}/auth/oauth-config).
 * @returns `{ created, config }` — the config with secrets redacted
 * @throws ApiError VALIDATION_MISSING_FIELD / VALIDATION_INVALID_INPUT (see {@link prepare}'s checks)
 */
export async function configureProvider(call: AuthCall, body: OAuthConfigBody): Promise<{ created: boolean; config: OAuthConfigView }> {
  const previous = await readRow(call, body.provider);
  const { row, created } = await write(call, body, previous);
  return { created, config: view(call.app.id, row) };
}

/**
 * Changes some fields of a provider (PATCH …/oauth-config/{provider}); the result is checked whole.
 * @throws ApiError RESOURCE_NOT_FOUND, and the checks of {@link configureProvider}
 */
export async function updateProvider(call: AuthCall, provider: string, patch: OAuthConfigPatch): Promise<OAuthConfigView> {
  const previous = await readRow(call, provider);
  if (!previous) throw notConfigured(provider);
  const desired: Desired = {
    provider,
    client_id: patch.client_id ?? previous.client_id,
    redirect_uris: patch.redirect_uris ?? previous.redirect_uris,
    client_secret: patch.client_secret,
    scopes: patch.scopes ?? previous.scopes,
    authorization_url: patch.authorization_url ?? previous.authorization_url ?? undefined,
    token_url: patch.token_url ?? previous.token_url ?? undefined,
    userinfo_url: patch.userinfo_url ?? previous.userinfo_url ?? undefined,
    issuer: patch.issuer ?? previous.issuer ?? undefined,
    provider_metadata: patch.provider_metadata ? { ...previous.provider_metadata, ...patch.provider_metadata } : previous.provider_metadata,
    enabled: patch.enabled ?? previous.enabled,
  };
  return view(call.app.id, (await write(call, desired, previous)).row);
}

/** Lists the app's providers, by name (GET …/oauth-config). */
export async function listProviders(call: AuthCall): Promise<OAuthConfigView[]> {
  const rows = await authRows(call.env, call.app.id, `SELECT ${columns} FROM auth.oauth_providers ORDER BY provider`);
  return rows.map((row) => view(call.app.id, providerRow.parse(row)));
}

/** One provider (GET …/oauth-config/{provider}). @throws ApiError RESOURCE_NOT_FOUND */
export async function getProvider(call: AuthCall, provider: string): Promise<OAuthConfigView> {
  const row = await readRow(call, provider);
  if (!row) throw notConfigured(provider);
  return view(call.app.id, row);
}

/**
 * Removes a provider (DELETE …/oauth-config/{provider}): new sign-ins through it stop (sign-ins in
 * flight fail at the callback); sessions already issued stay valid until they expire.
 * @throws ApiError RESOURCE_NOT_FOUND
 */
export async function deleteProvider(call: AuthCall, provider: string): Promise<void> {
  const rows = await authRows(call.env, call.app.id, 'DELETE FROM auth.oauth_providers WHERE provider = $1 RETURNING id', [provider]);
  if (!rows[0]) throw notConfigured(provider);
}

/** A provider ready for a sign-in: its spec, client credentials (opened) and configured scopes. */
export interface FlowProvider {
  name: string;
  spec: ProviderSpec;
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  scopes: string[];
  metadata: Record<string, unknown>;
  /** Apple's private key (PEM), opened. */
  privateKey: string | null;
}

/**
 * Loads an enabled provider for the flow, with its secrets opened.
 * @throws ApiError RESOURCE_NOT_FOUND (`OAuth provider "x" is not configured`, also when disabled)
 */
export async function flowProvider(call: AuthCall, provider: string): Promise<FlowProvider> {
  const row = await readRow(call, provider);
  if (!row || !row.enabled) throw notConfigured(provider);
  const testBase = testProviderBaseUrl(call.env.OAUTH_TEST_PROVIDER_BASE_URL);
  const spec: ProviderSpec = isBuiltIn(row.provider)
    ? builtInSpec(row.provider, testBase)
    : {
        authorizationUrl: row.authorization_url!,
        tokenUrl: row.token_url!,
        userinfoUrl: row.userinfo_url,
        issuer: row.issuer,
        jwksUri: row.jwks_uri,
        defaultScopes: [],
        clientAuth: 'post',
        pkce: true,
        formPost: false,
      };
  const [clientSecret, privateKey] = await Promise.all([
    decryptSecret(row.client_secret_sealed, call.env.PLATFORM_MASTER_KEY),
    row.private_key_sealed ? decryptSecret(row.private_key_sealed, call.env.PLATFORM_MASTER_KEY) : Promise.resolve(null),
  ]);
  return { name: row.provider, spec, clientId: row.client_id, clientSecret, redirectUris: row.redirect_uris, scopes: row.scopes, metadata: row.provider_metadata, privateKey };
}
