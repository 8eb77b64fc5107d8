/**
 * The realtime config contract (API.md §9 config endpoints), shared by the realtime Worker's routes
 * and the MCP tool `manage_realtime`.
 */
import { z } from 'zod';

/** POST /v1/{app_id}/realtime/configure: the tables to enable (non-empty; names as in the schema). */
export const configureRealtimeBody = z.object({
  tables: z.array(z.string().min(1).max(63)).min(1).max(100).describe('Tables to enable realtime on (they must exist and have a primary key).'),
}).strict();
export type ConfigureRealtimeBody = z.infer<typeof configureRealtimeBody>;
