/**
 * An app's auth settings, from its control-plane `apps` row: `jwt_config` (API.md §2 PATCH
 * /config/jwt) and `auth_config` (`requireEmailVerification`, default false), read together with the
 * app's active signing key in one query.
 */
import { z } from 'zod';
import { controlSql } from '../db.ts';
import type { Env } from '../env.ts';

/** What token-issuing routes need. */
export interface AuthSettings {
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  requireEmailVerification: boolean;
  /** The key that signs new tokens, or null before the app's first sign-in. */
  activeKey: { kid: string; privateJwkSealed: string } | null;
}

const ttlUnits = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** `"15m"` → 900. Unparsable values give 900 s, as the reference server does (API.md §6). */
export function parseTtlSeconds(ttl: unknown): number {
  const match = typeof ttl === 'string' ? /^(\d+)([smhd])$/.exec(ttl) : null;
  if (!match) return 900;
  const seconds = Number(match[1]) * ttlUnits[match[2] as keyof typeof ttlUnits];
  return seconds > 0 && Number.isSafeInteger(seconds) ? seconds : 900;
}

const settingsRow = z.object({
  jwt_config: z.object({ accessTokenTtl: z.unknown(), refreshTokenTtlDays: z.unknown() }).partial().nullable(),
  auth_config: z.object({ requireEmailVerification: z.unknown() }).partial().nullable(),
  kid: z.string().nullable(),
  private_jwk_sealed: z.string().nullable(),
});

/**
 * Loads the settings and the active signing key.
 * @returns null when the app row is gone (deleted between the router's lookup and now)
 */
export async function loadAuthSettings(env: Env, appId: string): Promise<AuthSettings | null> {
  const rows = await controlSql(env).query(
    `SELECT a.jwt_config, a.auth_config, k.kid, k.private_jwk_sealed
       FROM apps a
       LEFT JOIN LATERAL (
         SELECT kid, private_jwk_sealed FROM app_signing_keys
          WHERE app_id = a.id AND retired_at IS NULL ORDER BY created_at DESC LIMIT 1) k ON true
      WHERE a.id = $1`,
    [appId],
  );
  if (rows.length === 0) return null;
  const row = settingsRow.parse(rows[0]);
  const days = Number(row.jwt_config?.refreshTokenTtlDays);
  return {
    accessTokenTtlSeconds: parseTtlSeconds(row.jwt_config?.accessTokenTtl ?? '1h'),
    refreshTokenTtlDays: Number.isInteger(days) && days > 0 ? days : 7,
    requireEmailVerification: row.auth_config?.requireEmailVerification === true,
    activeKey: row.kid && row.private_jwk_sealed ? { kid: row.kid, privateJwkSealed: row.private_jwk_sealed } : null,
  };
}

/** Body of PATCH /v1/{app}/auth/config. */
export const authConfigBody = z.object({ requireEmailVerification: z.boolean() }).strict();
export type AuthConfigBody = z.infer<typeof authConfigBody>;

/** The owner's view of the auth settings (GET and PATCH /v1/{app}/auth/config). */
export interface AuthConfigView {
  app_id: string;
  auth_config: { requireEmailVerification: boolean };
  jwt_config: { accessTokenTtl: string; refreshTokenTtlDays: number };
}

function view(row: Record<string, unknown>): AuthConfigView {
  const auth = (row.auth_config ?? {}) as Record<string, unknown>;
  const jwt = (row.jwt_config ?? {}) as Record<string, unknown>;
  return {
    app_id: String(row.id),
    auth_config: { requireEmailVerification: auth.requireEmailVerification === true },
    jwt_config: {
      accessTokenTtl: typeof jwt.accessTokenTtl === 'string' ? jwt.accessTokenTtl : '1h',
      refreshTokenTtlDays: typeof jwt.refreshTokenTtlDays === 'number' ? jwt.refreshTokenTtlDays : 7,
    },
  };
}

/** Reads the auth settings for the owner. */
export async function readAuthConfig(env: Env, appId: string): Promise<AuthConfigView> {
  const rows = await controlSql(env).query('SELECT id, auth_config, jwt_config FROM apps WHERE id = $1', [appId]);
  return view(rows[0] ?? { id: appId });
}

/** Merges `body` into `apps.auth_config` in one UPDATE. */
export async function updateAuthConfig(env: Env, appId: string, body: AuthConfigBody): Promise<AuthConfigView> {
  const rows = await controlSql(env).query(
    `UPDATE apps SET auth_config = COALESCE(auth_config, '{}'::jsonb) || $2::jsonb, updated_at = now()
      WHERE id = $1 RETURNING id, auth_config, jwt_config`,
    [appId, JSON.stringify(body)],
  );
  return view(rows[0] ?? { id: appId });
}
