/**
 * Auth events in the audit log (API.md §2 audit-logs, category `auth`; §6 "Audit event types").
 * Written to the control-plane database after the response is sent (waitUntil), never failing it.
 */
import { writeAudit } from '../../shared/audit.ts';
import type { AuditAction } from '../../shared/schemas/enums.ts';
import type { Principal } from '../../shared/principal.ts';
import { controlDb } from '../db.ts';
import type { AuthCall } from '../http.ts';

/** Every auth event type this Worker writes, with its audit action. */
const eventActions = {
  signup: 'create',
  login: 'login',
  login_failed: 'login',
  logout: 'logout',
  token_refreshed: 'login',
  refresh_token_failed: 'login',
  refresh_token_reuse_detected: 'update',
  magic_link_requested: 'create',
  magic_link_login: 'login',
  email_verified: 'update',
  password_reset_requested: 'create',
  password_reset: 'update',
  user_deleted: 'delete',
  'config.auth_updated': 'update',
  signing_key_rotated: 'update',
  oauth_login: 'login',
  oauth_login_failed: 'login',
  'config.oauth_updated': 'update',
  'config.oauth_deleted': 'delete',
} as const satisfies Record<string, AuditAction>;

export type AuthEventType = keyof typeof eventActions;

/** The end user an event is about. */
export interface EventUser {
  id: string;
  email: string;
  email_verified: boolean;
}

/** One event to record. */
export interface AuthEvent {
  type: AuthEventType;
  /** The user the event is about (resource `app_user`); also the actor unless `actor` is given. */
  user?: EventUser | null;
  /** Who acted. Default: the user on success, anonymous on failure. */
  actor?: Principal;
  /** `admin` for owner changes (config, keys); `auth` otherwise. */
  category?: 'auth' | 'admin';
  success?: boolean;
  errorMessage?: string;
  data?: Record<string, unknown>;
  resourceType?: string;
  resourceId?: string;
}

/** Records an auth event without delaying the response. Failures are logged by writeAudit. */
export function recordAuthEvent(call: AuthCall, event: AuthEvent): void {
  const success = event.success ?? true;
  const user = event.user ?? null;
  const actor: Principal =
    event.actor ??
    (success && user
      ? { kind: 'end_user', appId: call.app.id, userId: user.id, email: user.email, emailVerified: user.email_verified }
      : { kind: 'anonymous' });
  call.waitUntil(
    writeAudit(controlDb(call.env), {
      appId: call.app.id,
      category: event.category ?? 'auth',
      eventType: event.type,
      action: eventActions[event.type],
      resourceType: event.resourceType ?? (user ? 'app_user' : null),
      resourceId: event.resourceId ?? user?.id ?? null,
      actor,
      eventData: event.data,
      ipAddress: call.ip,
      userAgent: call.userAgent,
      success,
      errorMessage: event.errorMessage ?? null,
      correlationId: call.requestId,
    }),
  );
}
