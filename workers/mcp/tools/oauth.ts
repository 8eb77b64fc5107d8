/**
 * Tool `manage_oauth` (API.md §13 → §6 "Provider config": POST/GET/PATCH/DELETE
 * /v1/{app}/auth/oauth-config[/{provider}]). Answers and errors are the REST ones.
 */
import { z } from 'zod';
import { oauthConfigFields } from '../../shared/schemas/oauth.ts';
import { defineTool, restResult } from '../tool.ts';
import { appId, segment } from './fields.ts';

const f = oauthConfigFields.shape;

export const manageOAuth = defineTool({
  name: 'manage_oauth',
  title: 'Configure social sign-in',
  description:
    'OAuth / OpenID Connect providers end users sign in with. Built-in: google, github, discord, facebook, linkedin, microsoft, apple, x ' +
    '(endpoints and default scopes filled in: give client_id, client_secret, redirect_uris). Any other name is custom: give authorization_url, ' +
    'token_url and userinfo_url, or issuer (an OIDC provider with a discovery document). apple needs provider_metadata {teamId, keyId, privateKey} ' +
    '(client_secret may be a placeholder). redirect_uris must hold {api_base}/auth/{app_id}/oauth/{provider}/callback — register exactly that URI at the provider. ' +
    'Actions: configure (create or replace), get (all, or one with provider; secrets are never returned), update (provider + the fields to change), ' +
    'delete (provider: stops new sign-ins; existing sessions stay valid). Users then sign in at GET /auth/{app_id}/oauth/{provider}?redirect_to=<your page> ' +
    '(its origin must be in the app\'s allowed_origins, manage_app update_cors). butterbase_docs topic "auth" has the whole flow.',
  input: z.object({
    action: z.enum(['configure', 'get', 'update', 'delete']).describe('What to do.'),
    app_id: appId,
    provider: f.provider.optional().describe('The provider name, e.g. "google" or a custom name like "my-idp".'),
    client_id: f.client_id.optional().describe('configure / update: the OAuth client id from the provider\'s console.'),
    client_secret: f.client_secret.optional().describe('configure / update: the client secret (stored encrypted, never shown again).'),
    redirect_uris: f.redirect_uris.optional().describe('configure / update: callback URIs, each {api_base}/auth/{app_id}/oauth/{provider}/callback.'),
    scopes: f.scopes.optional().describe('configure / update: scopes to request (default: the provider\'s, e.g. openid email profile).'),
    authorization_url: f.authorization_url.optional().describe('configure / update (custom only): the authorization endpoint.'),
    token_url: f.token_url.optional().describe('configure / update (custom only): the token endpoint.'),
    userinfo_url: f.userinfo_url.optional().describe('configure / update (custom only): the userinfo endpoint.'),
    issuer: f.issuer.optional().describe('configure / update (custom OIDC): the issuer; endpoints and JWKS come from its discovery document and ID tokens are verified.'),
    provider_metadata: f.provider_metadata.optional().describe('configure / update: apple needs { teamId, keyId, privateKey } (the .p8 PEM).'),
    enabled: f.enabled.optional().describe('configure / update: false pauses sign-ins through this provider (default true).'),
  }).strict(),
  requires: {
    configure: ['provider', 'client_id', 'client_secret', 'redirect_uris'],
    update: ['provider'],
    delete: ['provider'],
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: false },
  async run(args, { platform }) {
    const tool = `manage_oauth.${args.action}`;
    const base = `/v1/${segment(args.app_id)}/auth/oauth-config`;
    const { action: _action, app_id: _app, provider, ...fields } = args;
    switch (args.action) {
      case 'configure':
        return restResult(await platform.call({ method: 'POST', path: base, body: { provider, ...fields }, tool }));
      case 'get':
        return restResult(await platform.call({ method: 'GET', path: provider ? `${base}/${segment(provider)}` : base, tool }));
      case 'update':
        return restResult(await platform.call({ method: 'PATCH', path: `${base}/${segment(provider!)}`, body: fields, tool }));
      case 'delete':
        return restResult(await platform.call({ method: 'DELETE', path: `${base}/${segment(provider!)}`, tool }));
    }
  },
});
