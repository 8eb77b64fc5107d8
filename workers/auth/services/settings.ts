/**
 * An app's auth settings, from its control-plane `apps` row: `jwt_config` (API.md §2 PATCH
 * /config/jwt) and `auth_config` (`requireEmailVerification`, default false), read together with the
 * app's active signing key in one query.
 */
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { appSigningKeys, apps, authConfig, jwtConfig } from '../../shared/control-schema.ts';
import { controlDb } from '../db.ts';
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

/**
 * The JSON columns as the token routes read them: leniently, so a stored value the owner routes would
 * not accept falls back to the default (900 s / 7 days / no verification) instead of failing sign-ins.
 */
const settingsRow = z.object({
  jwt_config: z.object({ accessTokenTtl: z.unknown(), refreshTokenTtlDays: z.unknown() }).partial().nullable(),
  auth_config: z.object({ requireEmailVerification: z.unknown() }).partial().nullable(),
  kid: z.string().nullable(),
  private_jwk_sealed: z.string().nullable(),
});

/**
 * Loads the settings and the active signing key, in one query.
 * @returns null when the app row is gone (deleted between the router's lookup and now)
 * @throws ApiError EXTERNAL_DB_ERROR (control database unreachable)
 */
export async function loadAuthSettings(env: Env, appId: string): Promise<AuthSettings | null> {
  const db = controlDb(env);
  const active = db
    .select({ kid: appSigningKeys.kid, private_jwk_sealed: appSigningKeys.private_jwk_sealed })
    .from(appSigningKeys)
    .where(and(eq(appSigningKeys.app_id, apps.id), isNull(appSigningKeys.retired_at)))
    .orderBy(desc(appSigningKeys.created_at))
    .limit(1)
    .as('k');
  const rows = await db
    .select({ jwt_config: apps.jwt_config, auth_config: apps.auth_config, kid: active.kid, private_jwk_sealed: active.private_jwk_sealed })
    .from(apps)
    .leftJoinLateral(active, sql`true`)
    .where(eq(apps.id, appId));
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

function view(appId: string, row: { auth_config: unknown; jwt_config: unknown } | undefined): AuthConfigView {
  const auth = authConfig.safeParse(row?.auth_config ?? {});
  const jwt = jwtConfig.safeParse(row?.jwt_config ?? {});
  return {
    app_id: appId,
    auth_config: { requireEmailVerification: auth.success ? auth.data.requireEmailVerification : false },
    jwt_config: jwt.success ? jwt.data : { accessTokenTtl: '1h', refreshTokenTtlDays: 7 },
  };
}

/** Reads the auth settings for the owner. */
export async function readAuthConfig(env: Env, appId: string): Promise<AuthConfigView> {
  const [row] = await controlDb(env).select({ auth_config: apps.auth_config, jwt_config: apps.jwt_config }).from(apps).where(eq(apps.id, appId));
  return view(appId, row);
}

/** Merges `body` into `apps.auth_config` in one UPDATE. */
export async function updateAuthConfig(env: Env, appId: string, body: AuthConfigBody): Promise<AuthConfigView> {
  const [row] = await controlDb(env).update(apps)
    .set({ auth_config: sql`COALESCE(${apps.auth_config}, '{}'::jsonb) || ${JSON.stringify(body)}::jsonb`, updated_at: sql`now()` })
    .where(eq(apps.id, appId))
    .returning({ auth_config: apps.auth_config, jwt_config: apps.jwt_config });
  return view(appId, row);
}
