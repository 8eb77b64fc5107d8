/**
 * The per-app bootstrap migrations, in order, bundled as text (wrangler `Text` rule for *.sql).
 * Add a file here and it runs on every app database the next time it is provisioned or upgraded.
 */
import bootstrap from './0001_bootstrap.sql';
import auth from './0002_auth.sql';
import resetToken from './0003_reset_token.sql';
import storage from './0004_storage.sql';
import functions from './0005_functions.sql';
import realtime from './0006_realtime.sql';
import oauth from './0008_oauth.sql';
import realtimeVisibleBatch from './0009_realtime_visible_batch.sql';
import authenticator from './0010_authenticator.sql';
import type { MigrationFile } from '../../workers/shared/migrator.ts';

export const appMigrations: MigrationFile[] = [
  { name: '0001_bootstrap', sql: bootstrap },
  { name: '0002_auth', sql: auth },
  { name: '0003_reset_token', sql: resetToken },
  { name: '0004_storage', sql: storage },
  { name: '0005_functions', sql: functions },
  { name: '0006_realtime', sql: realtime },
  { name: '0008_oauth', sql: oauth },
  { name: '0009_realtime_visible_batch', sql: realtimeVisibleBatch },
  { name: '0010_authenticator', sql: authenticator },
];
