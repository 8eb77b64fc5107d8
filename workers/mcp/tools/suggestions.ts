/**
 * Tool `submit_suggestion` (API.md §13 → §2 POST /suggestions).
 */
import { z } from 'zod';
import { defineTool, restResult } from '../tool.ts';

export const submitSuggestion = defineTool({
  name: 'submit_suggestion',
  title: 'Send feedback to the Butterbase team',
  description:
    'Report a bug, a missing feature, an improvement or a documentation problem you met while using Butterbase. ' +
    'Say what you tried, what happened and what you expected.',
  input: z.object({
    category: z.enum(['bug_report', 'feature_request', 'improvement', 'documentation']),
    description: z.string().min(10).max(10_000).describe('What happened and what you expected (at least 10 characters).'),
    severity: z.enum(['low', 'medium', 'high', 'critical']).optional(),
    affected_tool: z.string().max(100).optional().describe('The tool involved, e.g. "manage_schema".'),
    proposed_solution: z.string().max(10_000).optional(),
    source: z.enum(['agent', 'human_prompted']).optional().describe('"agent" if you decided to report it, "human_prompted" if your user asked.'),
    app_id: z.string().max(40).optional(),
    agent_context: z.unknown().optional().describe('Anything that helps reproduce it (tool arguments, error envelope).'),
  }).strict(),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, { platform }) {
    return restResult(await platform.call({ method: 'POST', path: '/suggestions', body: args, tool: 'submit_suggestion' }));
  },
});
