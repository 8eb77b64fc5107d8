/**
 * Tool `submit_suggestion` (API.md §13 → §2 POST /suggestions). Its input is the REST body
 * (workers/shared/schemas/suggestions.ts) with descriptions for agents.
 */
import { suggestionBody } from '../../shared/schemas/suggestions.ts';
import { defineTool, restResult } from '../tool.ts';

const fields = suggestionBody.shape;

export const submitSuggestion = defineTool({
  name: 'submit_suggestion',
  title: 'Send feedback to the Butterbase team',
  description:
    'Report a bug, a missing feature, an improvement or a documentation problem you met while using Butterbase. ' +
    'Say what you tried, what happened and what you expected.',
  input: suggestionBody.extend({
    description: fields.description.describe('What happened and what you expected (at least 10 characters).'),
    affected_tool: fields.affected_tool.describe('The tool involved, e.g. "manage_schema".'),
    source: fields.source.describe('"agent" if you decided to report it, "human_prompted" if your user asked.'),
    agent_context: fields.agent_context.describe('Anything that helps reproduce it (tool arguments, error envelope).'),
  }).strict(),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
  async run(args, { platform }) {
    return restResult(await platform.call({ method: 'POST', path: '/suggestions', body: args, tool: 'submit_suggestion' }));
  },
});
