/**
 * Bodies of the app config routes (API.md §2 PATCH /v1/{app_id}/config/*, PATCH /v1/{app_id}/env),
 * shared by the REST routes and the MCP tools (`manage_app`, `manage_auth_config`, which pick fields
 * from the `…Fields` objects; the `…Body` schemas add the cross-field rules).
 */
import { z } from 'zod';
import { accessModes } from './enums.ts';

/** A CORS origin: `*` or an http(s) origin (a trailing slash is dropped; paths are refused). */
export const corsOrigin = z.string().max(2048).transform((value, ctx) => {
  if (value === '*') return value;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an http(s) origin such as https://example.com, or "*"' });
    return z.NEVER;
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || (url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    ctx.addIssue({ code: 'custom', message: 'must be an http(s) origin without a path, such as https://example.com' });
    return z.NEVER;
  }
  return url.origin;
});

/** Methods a CORS preflight may allow (Fetch standard: CORS-safelisted and the usual others). */
export const corsMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const corsMethod = z.string().transform((value) => value.trim().toUpperCase()).pipe(z.enum(corsMethods));
/** An HTTP field name (RFC 9110 §5.1 token), stored lowercase. */
const corsHeader = z.string().max(100).transform((value) => value.trim().toLowerCase())
  .pipe(z.string().regex(/^[!#$%&'*+.^_`|~0-9a-z-]+$/, 'must be an HTTP header name, e.g. "x-client-version"'));
const originList = z.array(corsOrigin).min(1).max(100);

/**
 * The CORS fields: `allowed_origins` (API.md §2) or the SDK's camelCase `allowedOrigins`, and the
 * CLI's `allowedMethods` / `allowedHeaders` (an empty list means the platform defaults) and
 * `allowCredentials` (credentials are only ever granted to an origin listed explicitly).
 */
export const corsFields = z.object({
  allowed_origins: originList.optional(),
  allowedOrigins: originList.optional(),
  allowedMethods: z.array(corsMethod).max(corsMethods.length).optional(),
  allowedHeaders: z.array(corsHeader).max(50).optional(),
  allowCredentials: z.boolean().optional(),
});

/** Body of PATCH config/cors: at least one field; `allowed_origins` and `allowedOrigins` must agree if both are sent. */
export const corsBody = corsFields.strict().superRefine((body, ctx) => {
  if (Object.values(body).every((value) => value === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'give allowed_origins (or allowedOrigins), allowedMethods, allowedHeaders or allowCredentials' });
  }
  if (body.allowed_origins && body.allowedOrigins && JSON.stringify(body.allowed_origins) !== JSON.stringify(body.allowedOrigins)) {
    ctx.addIssue({ code: 'custom', path: ['allowedOrigins'], message: 'differs from allowed_origins; send one of them' });
  }
});
export type CorsBody = z.infer<typeof corsBody>;

/** The JWT fields (API.md §2 PATCH config/jwt). */
export const jwtFields = z.object({
  accessTokenTtl: z.string().regex(/^\d+[smhd]$/, 'must be a number followed by s, m, h or d, e.g. "15m"').optional(),
  refreshTokenTtlDays: z.number().int().positive().max(365).optional(),
});
/** Body of PATCH config/jwt: at least one of the two lifetimes. */
export const jwtBody = jwtFields.strict()
  .refine((b) => b.accessTokenTtl !== undefined || b.refreshTokenTtlDays !== undefined, 'give accessTokenTtl and/or refreshTokenTtlDays');
export type JwtBody = z.infer<typeof jwtBody>;

/** Plan cap for an app's storage quota: 10 GiB. */
export const storageLimitCapBytes = 10 * 1024 ** 3;

/**
 * A MIME type an app accepts for uploads: `type/subtype` (RFC 6838 §4.2 names), `type/*` or `*∕*`,
 * stored lowercase, without parameters.
 */
export const contentTypePattern = /^(\*\/\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/(\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,126}))$/;
const contentType = z.string().max(255).transform((value) => value.trim().toLowerCase())
  .pipe(z.string().regex(contentTypePattern, 'must be a MIME type such as "image/png", a wildcard such as "image/*", or "*/*"'));

/** The storage fields (API.md §2 PATCH config/storage, plus the CLI's `allowedContentTypes`). */
export const storageFields = z.object({
  publicReadEnabled: z.boolean().optional(),
  storageLimitBytes: z.number().int().positive().max(storageLimitCapBytes, `at most ${storageLimitCapBytes} bytes on this plan`).optional(),
  maxFileSizeMb: z.number().int().positive().max(5120).optional(),
  allowedContentTypes: z.array(contentType).min(1, 'give at least one type ("*/*" allows any)').max(100).optional(),
});
/** Body of PATCH config/storage: at least one field (the rest of `storage_config` is kept). */
export const storageBody = storageFields.strict()
  .refine((b) => Object.keys(b).length > 0, 'give at least one of publicReadEnabled, storageLimitBytes, maxFileSizeMb, allowedContentTypes');
export type StorageBody = z.infer<typeof storageBody>;

/** Body of PATCH config/pause. */
export const pauseBody = z.object({ paused: z.boolean(), reason: z.string().max(500).optional() }).strict();
export type PauseBody = z.infer<typeof pauseBody>;

/** Body of PATCH config/access-mode. */
export const accessModeBody = z.object({ access_mode: z.enum(accessModes) }).strict();
export type AccessModeBody = z.infer<typeof accessModeBody>;

/** Function env vars to set (a string) or delete (null); names starting with BUTTERBASE_ are reserved. */
export const envVarsPatch = z.record(
  z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'env var names are letters, digits and "_"').refine((k) => !/^BUTTERBASE_/i.test(k), 'names starting with BUTTERBASE_ are reserved for the platform'),
  z.string().max(32_768).nullable(),
).refine((v) => Object.keys(v).length > 0, 'give at least one variable');

/** Body of PATCH /v1/{app_id}/env. */
export const envBody = z.object({ envVars: envVarsPatch }).strict();
export type EnvBody = z.infer<typeof envBody>;

/** Body of PATCH /v1/{app_id}/config/auth-hooks: the function run after each sign-in, or null for none (API.md §6). */
export const authHooksBody = z.object({
  post_auth_function: z.string().min(1).max(100).regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, 'must be a function name').nullable(),
}).strict();
export type AuthHooksBody = z.infer<typeof authHooksBody>;
