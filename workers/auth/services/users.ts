/**
 * End users of one app (`auth.users` in the app database), and the owner's admin view of them
 * (API.md §6 "End-user admin").
 */
import { z } from 'zod';
import { ApiError } from '../../shared/errors.ts';
import { authRows } from '../db.ts';
import type { AuthCall } from '../http.ts';

/** The columns every user read returns (never the password hash unless asked). */
export const userColumns = 'id, email, email_verified, display_name, avatar_url, provider, provider_uid, metadata, created_at, last_sign_in_at';

/** A user row as read back (timestamps as Dates from the driver). */
export interface UserRow {
  id: string;
  email: string;
  email_verified: boolean;
  display_name: string | null;
  avatar_url: string | null;
  provider: string;
  provider_uid: string | null;
  metadata: Record<string, unknown>;
  created_at: Date | string;
  last_sign_in_at: Date | string | null;
}

/** An email as stored and compared: trimmed, lowercased, validated (zod, for request bodies). */
export const emailField = z.string().trim().toLowerCase().pipe(z.email().max(320));

/** The `user` object of LoginResponse (API.md §6). */
export function publicUser(user: UserRow) {
  return {
    id: user.id,
    email: user.email,
    email_verified: user.email_verified,
    display_name: user.display_name,
    avatar_url: user.avatar_url,
  };
}

/** GET /auth/{app}/me (API.md §6). */
export function profileOf(user: UserRow) {
  return {
    ...publicUser(user),
    provider: user.provider,
    created_at: user.created_at,
    last_sign_in_at: user.last_sign_in_at,
  };
}

/** Finds a user by (normalised) email, with the password hash. */
export async function findUserByEmail(call: AuthCall, email: string): Promise<(UserRow & { password_hash: string | null }) | null> {
  const rows = await authRows<UserRow & { password_hash: string | null }>(
    call.env, call.app.id, `SELECT ${userColumns}, password_hash FROM auth.users WHERE email = $1`, [email],
  );
  return rows[0] ?? null;
}

/** Finds a user by id. */
export async function findUserById(call: AuthCall, id: string): Promise<UserRow | null> {
  const rows = await authRows<UserRow>(call.env, call.app.id, `SELECT ${userColumns} FROM auth.users WHERE id = $1::uuid`, [id]);
  return rows[0] ?? null;
}

/** Query of GET /v1/{app}/admin/auth/users. */
export const listUsersQuery = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(500).optional(),
}).strict();
export type ListUsersQuery = z.infer<typeof listUsersQuery>;

const cursorShape = z.object({ c: z.string().min(1).max(64), i: z.uuid() });

function encodeCursor(createdAt: string, id: string): string {
  return btoa(JSON.stringify({ c: createdAt, i: id })).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function decodeCursor(cursor: string): z.infer<typeof cursorShape> {
  try {
    const json = atob(cursor.replaceAll('-', '+').replaceAll('_', '/'));
    return cursorShape.parse(JSON.parse(json));
  } catch {
    throw new ApiError('VALIDATION_INVALID_TYPE', 'Invalid cursor.', {
      remediation: 'Pass next_cursor exactly as the previous page returned it, or omit it to start from the newest user.',
    });
  }
}

/**
 * Lists users newest first, `limit` per page; `next_cursor` is null on the last page. The cursor
 * carries the exact (microsecond) created_at text, so pages never skip or repeat a row.
 * @throws ApiError VALIDATION_INVALID_TYPE for a cursor this endpoint did not issue
 */
export async function listUsers(call: AuthCall, query: ListUsersQuery) {
  const params: unknown[] = [query.limit + 1];
  let where = '';
  if (query.cursor) {
    const cursor = decodeCursor(query.cursor);
    params.push(cursor.c, cursor.i);
    where = 'WHERE (created_at, id) < ($2::timestamptz, $3::uuid)';
  }
  const rows = await authRows<UserRow & { cursor_at: string }>(
    call.env, call.app.id,
    `SELECT ${userColumns}, created_at::text AS cursor_at FROM auth.users ${where} ORDER BY created_at DESC, id DESC LIMIT $1`,
    params,
  );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    users: page.map((u) => ({
      id: u.id, email: u.email, provider: u.provider, provider_uid: u.provider_uid, email_verified: u.email_verified,
      last_sign_in_at: u.last_sign_in_at, created_at: u.created_at,
    })),
    next_cursor: rows.length > query.limit && last ? encodeCursor(last.cursor_at, last.id) : null,
  };
}

/**
 * Deletes a user; refresh tokens and one-time codes go with it (ON DELETE CASCADE).
 * @returns the deleted user's id and email
 * @throws ApiError RESOURCE_NOT_FOUND when the app has no such user (also for ids that are not UUIDs)
 */
export async function deleteUser(call: AuthCall, userId: string): Promise<{ id: string; email: string }> {
  const notFound = new ApiError('RESOURCE_NOT_FOUND', 'User not found in this app.', {
    remediation: 'List user ids with GET /v1/{app_id}/admin/auth/users (manage_auth_users list).',
  });
  if (!z.uuid().safeParse(userId).success) throw notFound;
  const rows = await authRows<{ id: string; email: string }>(call.env, call.app.id, 'DELETE FROM auth.users WHERE id = $1::uuid RETURNING id, email', [userId]);
  if (!rows[0]) throw notFound;
  return rows[0];
}
