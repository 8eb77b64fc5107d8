/**
 * The control-plane database of the control Worker: `controlDb` (drizzle, typed by
 * workers/shared/control-schema.ts) and `controlSql` (the raw query function), both behind the one
 * error boundary of workers/shared/control-db.ts.
 */
export { controlDb, controlSql } from '../shared/control-db.ts';
