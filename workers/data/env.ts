import type { ControlRpc } from '../shared/contracts.ts';
import type { DbEnv } from '../shared/db.ts';

/** Bindings of the data Worker (workers/data/wrangler.toml). */
export interface Env extends DbEnv {
  /** App database URL with `{db}` for the database name (= app id), e.g. `postgresql://u:p@host/{db}` (secret). */
  APP_DATABASE_URL_TEMPLATE: string;
  /** The control Worker: `recordAudit` for data writes an MCP tool made (workers/data/audit.ts). */
  CONTROL: Fetcher & Pick<ControlRpc, 'recordAudit'>;
}
