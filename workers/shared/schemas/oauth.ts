/**
 * Bodies of the OAuth provider config routes (API.md §6 "Provider config"), shared by the auth
 * Worker's routes and the MCP tool `manage_oauth` (API.md §13), which adds `app_id` and `action`.
 */
import { z } from 'zod';

/** A provider name: a built-in (`google`, `github`, …) or a custom one, 1–40 of `[a-z0-9_-]`. */
export const providerName = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'must be a lowercase name such as "google" or "my-idp" (a-z, 0-9, _ and -; at most 40 characters)');

const urlField = z.url({ protocol: /^https?$/ }).max(2000);

/** The fields of a provider config; POST needs provider, client_id, client_secret and redirect_uris. */
export const oauthConfigFields = z.object({
  provider: providerName,
  client_id: z.string().trim().min(1).max(500),
  client_secret: z.string().min(1).max(10_000),
  redirect_uris: z.array(urlField).min(1).max(20),
  scopes: z.array(z.string().trim().min(1).max(300).regex(/^[^\s]+$/, 'one scope per entry, without spaces')).max(50),
  authorization_url: urlField,
  token_url: urlField,
  userinfo_url: urlField,
  /** Custom OIDC providers: the issuer whose discovery document gives the endpoints and JWKS. */
  issuer: urlField,
  /** Apple: `{ teamId, keyId, privateKey }` (the .p8 PEM); other keys are kept as given (no secrets). */
  provider_metadata: z.record(z.string().max(100), z.union([z.string().max(10_000), z.number(), z.boolean(), z.null()])),
  enabled: z.boolean(),
});

/** Body of POST /v1/{app_id}/auth/oauth-config (an upsert). */
export const oauthConfigBody = oauthConfigFields.partial().required({ provider: true, client_id: true, client_secret: true, redirect_uris: true }).strict();
export type OAuthConfigBody = z.infer<typeof oauthConfigBody>;

/** Body of PATCH /v1/{app_id}/auth/oauth-config/{provider}: any field but the name, at least one. */
export const oauthConfigPatch = oauthConfigFields.omit({ provider: true }).partial().strict()
  .refine((body) => Object.keys(body).length > 0, 'give at least one field to change');
export type OAuthConfigPatch = z.infer<typeof oauthConfigPatch>;
