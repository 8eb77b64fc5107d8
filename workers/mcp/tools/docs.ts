/**
 * Tool `butterbase_docs` (API.md §13): documentation topics bundled with the Worker (workers/mcp/docs.ts).
 */
import { z } from 'zod';
import { searchDocument } from '../docs-search.ts';
import { docTopics, topicDocument } from '../docs.ts';
import { defineTool, type ToolDefinition } from '../tool.ts';

/** A Markdown reference of the registered tools: description, arguments and what each action needs. */
export function toolReference(tools: readonly ToolDefinition[]): string {
  const parts = ['## Tool reference', '', 'Generated from the registered tools; `tools/list` has the full JSON Schemas.', ''];
  for (const tool of tools) {
    parts.push(`### ${tool.name}`, '', tool.description, '', '| argument | required | description |', '| --- | --- | --- |');
    for (const [name, field] of Object.entries(tool.input.shape) as [string, z.ZodType][]) {
      const required = !field.safeParse(undefined).success;
      parts.push(`| \`${name}\` | ${required ? 'yes' : 'no'} | ${(field.description ?? '').replaceAll('|', '\\|')} |`);
    }
    const requires = Object.entries((tool.requires ?? {}) as Record<string, readonly string[]>).filter(([, fields]) => fields.length > 0);
    if (requires.length > 0) {
      parts.push('', `Per action: ${requires.map(([action, fields]) => `${action} needs ${fields.join(', ')}`).join('; ')}.`);
    }
    parts.push('');
  }
  return parts.join('\n');
}

/** Builds the docs tool; `tools` is read lazily so the reference includes every registered tool, this one too. */
export function butterbaseDocs(tools: () => readonly ToolDefinition[]): ToolDefinition {
  return defineTool({
    name: 'butterbase_docs',
    title: 'Read the Butterbase docs',
    description:
      'Documentation for this Butterbase deployment: what it serves, how to build an app with these tools, the REST API, the schema DSL, auth, SDK and CLI. ' +
      'Start with topic "overview" (or "mcp" for every tool and its arguments). query keeps only the sections that contain all of its words.',
    input: z.object({
      topic: z.enum(docTopics).default('overview').describe(`One of: ${docTopics.join(', ')} (default overview).`),
      query: z.string().min(1).max(200).optional().describe('Only sections containing all these words, e.g. "destructive drop".'),
    }).strict(),
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    async run(args) {
      const text = topicDocument(args.topic, toolReference(tools()));
      if (!args.query) return { content: [{ type: 'text', text }] };
      const found = searchDocument(text, args.query);
      return {
        content: [{
          type: 'text',
          text: found ?? `Nothing in topic "${args.topic}" mentions "${args.query}". Try topic "all", fewer words, or one of: ${docTopics.join(', ')}.`,
        }],
      };
    },
  });
}
