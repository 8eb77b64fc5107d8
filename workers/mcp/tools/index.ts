/**
 * The registered tools (API.md §13): exactly the ones whose features this deployment serves.
 */
import type { ToolDefinition } from '../tool.ts';
import { initApp, manageApp } from './apps.ts';
import { queryAuditLogs } from './audit-logs.ts';
import { manageAuthConfig, manageAuthUsers } from './auth.ts';
import { insertRow, seedDatabase, selectRows } from './data.ts';
import { butterbaseDocs } from './docs.ts';
import { deployFunction, invokeFunction, manageFunction } from './functions.ts';
import { manageDurableObjects } from './durable-objects.ts';
import { manageEdgeSsr } from './edge-ssr.ts';
import { createFrontendDeployment, manageFrontend } from './frontend.ts';
import { manageApiKeys } from './keys.ts';
import { manageOAuth } from './oauth.ts';
import { manageRealtime } from './realtime.ts';
import { manageRls } from './rls.ts';
import { manageSchema } from './schema.ts';
import { manageStorage } from './storage.ts';
import { submitSuggestion } from './suggestions.ts';

/** Every tool, in the order tools/list shows them (the build-an-app order). */
export const tools: readonly ToolDefinition[] = [
  initApp,
  manageApp,
  manageSchema,
  manageRls,
  selectRows,
  insertRow,
  seedDatabase,
  manageStorage,
  manageRealtime,
  manageOAuth,
  deployFunction,
  invokeFunction,
  manageFunction,
  createFrontendDeployment,
  manageFrontend,
  manageEdgeSsr,
  manageDurableObjects,
  manageAuthConfig,
  manageAuthUsers,
  manageApiKeys,
  queryAuditLogs,
  butterbaseDocs(() => tools),
  submitSuggestion,
];

/** Tools by name. */
export const toolsByName: ReadonlyMap<string, ToolDefinition> = new Map(tools.map((tool) => [tool.name, tool]));
