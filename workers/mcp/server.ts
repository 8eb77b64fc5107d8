/**
 * One MCP server per request (stateless Streamable HTTP, API.md §13), built on the SDK's McpServer:
 * the SDK handles initialize, prompts and the JSON-RPC framing; tools/list and tools/call are served
 * from our tool table so inputs are strict zod schemas and every failure is the §1.3 envelope.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { instructions, quickstartPrompt, serverInfo } from './instructions.ts';
import { describeTool, runTool, type ToolContext } from './tool.ts';
import { tools, toolsByName } from './tools/index.ts';

/** tools/list never changes at runtime, so it is computed once per isolate. */
let toolList: ReturnType<typeof describeTool>[] | undefined;

/**
 * Builds the server for one request: `context` carries the caller (its key) for the tool calls.
 * @returns an McpServer to connect to a fresh transport.
 */
export function buildServer(context: ToolContext): McpServer {
  const server = new McpServer(serverInfo, { instructions });
  server.registerPrompt(
    'quickstart',
    {
      title: 'Build a Butterbase backend',
      description: 'Step-by-step plan: init_app → manage_schema (dry_run, apply) → manage_rls → seed_database → select_rows → query_audit_logs.',
      argsSchema: { app_name: z.string().optional().describe('Name of the app to create (default "my-app").') },
    },
    ({ app_name }) => quickstartPrompt(app_name),
  );
  server.server.registerCapabilities({ tools: {} });
  server.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: (toolList ??= tools.map(describeTool)) }));
  server.server.setRequestHandler(CallToolRequestSchema, (request) => {
    const tool = toolsByName.get(request.params.name);
    if (!tool) {
      throw new McpError(ErrorCode.InvalidParams, `Tool ${request.params.name} not found; tools/list shows the available tools.`);
    }
    return runTool(tool, request.params.arguments, context);
  });
  return server;
}
