import type { CommitListenerRpc, ControlRpc } from '../shared/contracts.ts';
import type { ExecuteEnv } from './execute.ts';

/** Bindings of the data Worker (workers/data/wrangler.toml). */
export interface Env extends ExecuteEnv {
  /** App database URL with `{db}` for the database name (= app id), e.g. `postgresql://u:p@host/{db}` (secret). */
  APP_DATABASE_URL_TEMPLATE: string;
  /** The control Worker: `recordAudit` for data writes an MCP tool made (workers/data/audit.ts). */
  CONTROL: Fetcher & Pick<ControlRpc, 'recordAudit'>;
  /** The realtime Worker, told of committed writes (absent until realtime is deployed). */
  REALTIME?: Fetcher & CommitListenerRpc;
}
