/**
 * The closed value sets of the control plane that several Workers (and the database's CHECK
 * constraints, migrations/control/*.sql) must agree on. Dependency-free, so the router can import
 * them without bundling the ORM.
 */

/** `apps.provisioning_status` (API.md §2 GET /apps/{id}/status; `deleting` while a delete runs). */
export const provisioningStatuses = ['provisioning', 'ready', 'failed', 'migrating', 'deleting'] as const;
export type ProvisioningStatus = (typeof provisioningStatuses)[number];

/** `apps.access_mode` (API.md §2 PATCH config/access-mode). */
export const accessModes = ['public', 'authenticated'] as const;
export type AccessMode = (typeof accessModes)[number];

/** `api_keys.key_scope` (API.md §2 POST /api-keys). */
export const keyScopes = ['account', 'app'] as const;
export type KeyScope = (typeof keyScopes)[number];

/** Extra scopes a key may carry besides `*` / `app:{id}` (API.md §1.2). */
export const extraKeyScopes = ['ai:gateway', 'substrate'] as const;

/** `audit_logs.category` (API.md §2 audit-logs). */
export const auditCategories = ['auth', 'admin', 'function'] as const;
export type AuditCategory = (typeof auditCategories)[number];

/** `audit_logs.action`: API.md §2's six, plus the auth Worker's `login`, `logout` and `read`. */
export const auditActions = ['create', 'update', 'delete', 'invoke', 'enable', 'disable', 'login', 'logout', 'read'] as const;
export type AuditAction = (typeof auditActions)[number];

/** `suggestions.category` (API.md §2 POST /suggestions). */
export const suggestionCategories = ['bug_report', 'feature_request', 'improvement', 'documentation'] as const;
/** `suggestions.severity`. */
export const suggestionSeverities = ['low', 'medium', 'high', 'critical'] as const;
/** `suggestions.source`. */
export const suggestionSources = ['agent', 'human_prompted'] as const;
