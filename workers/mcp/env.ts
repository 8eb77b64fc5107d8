/** Bindings of the MCP Worker (workers/mcp/wrangler.toml). */
export interface Env {
  /** The router: tool calls go back through it as ordinary REST requests (same path, body, bearer). */
  ROUTER: Fetcher;
  /** Public API base, e.g. https://api.butterbase.ai (default: the request's origin). */
  PUBLIC_API_URL?: string;
}
