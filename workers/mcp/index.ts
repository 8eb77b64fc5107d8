/** The MCP Worker: Streamable HTTP at /mcp (API.md §13). */
export default {
  fetch(): Response {
    return Response.json({ error: 'MCP is not available on this deployment yet.' }, { status: 501 });
  },
} satisfies ExportedHandler;
