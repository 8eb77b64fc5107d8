/**
 * Body of POST /suggestions (API.md §2), shared by the REST route and the MCP tool `submit_suggestion`.
 */
import { z } from 'zod';
import { suggestionCategories, suggestionSeverities, suggestionSources } from './enums.ts';

/** The suggestion: category and description (≥ 10 characters) required, the rest optional (strict). */
export const suggestionBody = z.object({
  category: z.enum(suggestionCategories),
  description: z.string().min(10).max(10_000),
  severity: z.enum(suggestionSeverities).optional(),
  affected_tool: z.string().max(100).optional(),
  proposed_solution: z.string().max(10_000).optional(),
  source: z.enum(suggestionSources).optional(),
  app_id: z.string().max(40).optional(),
  agent_context: z.unknown().optional(),
}).strict();
export type SuggestionBody = z.infer<typeof suggestionBody>;
