/**
 * The one way a tool reaches the platform: the same HTTP request an SDK or CLI would make (same
 * method, path, query, JSON body and `Authorization: Bearer bb_sk_…`), sent back through the router
 * over the ROUTER service binding. Validation, auth, rate limit, pause gate, errors and route-level
 * audit are therefore literally the REST code path (DESIGN.md "no logic twice").
 */
import { clientHeaders, internalHeaders } from '../shared/principal.ts';

/**
 * The header naming the tool and action behind a request; control's `audited()` and the data route's
 * audit record it as event_data.tool.
 */
export const mcpToolHeader = clientHeaders.mcpTool;

/** One REST call a tool makes. */
export interface PlatformRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path with each dynamic segment already URL-encoded, e.g. `/v1/app_abc/config/cors`. */
  path: string;
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** JSON body (sent with `content-type: application/json`); omitted → no body, as MCP DELETEs (API.md §1.1). */
  body?: unknown;
  /** Extra headers, e.g. the role-simulation headers of API.md §1.2. */
  headers?: Record<string, string>;
  /** `<tool>.<action>` (or the tool name), sent as `x-butterbase-mcp-tool`. */
  tool: string;
}

/** What a tool sees of the answer. */
export interface PlatformResponse {
  status: number;
  ok: boolean;
  /** The raw response text (the tool result, or the §1.3 error envelope). */
  text: string;
  /** The parsed JSON body, or undefined when the body is empty or not JSON. */
  json: unknown;
}

/** Who the calls are made for: the MCP request's bearer and client facts, passed on unchanged. */
export interface CallerFacts {
  /** The full `Authorization` header value of the MCP request. */
  authorization: string;
  /** Base URL the REST requests are addressed to (the API host). */
  baseUrl: string;
  requestId: string;
  clientIp: string | null;
  userAgent: string | null;
}

/** Calls the platform's REST API as the MCP caller. */
export class PlatformClient {
  constructor(
    private readonly router: Fetcher,
    private readonly caller: CallerFacts,
  ) {}

  /**
   * Sends one request through the router and reads the whole answer.
   * @returns status, raw text and parsed JSON; never throws for HTTP errors (a non-2xx is data).
   */
  async call(request: PlatformRequest): Promise<PlatformResponse> {
    const url = new URL(request.path, this.caller.baseUrl);
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const headers = new Headers(request.headers);
    headers.set('authorization', this.caller.authorization);
    headers.set('accept', 'application/json');
    headers.set(mcpToolHeader, request.tool);
    // The router keeps a well-formed request id, so every REST call of a tool shares the MCP request's id.
    headers.set(internalHeaders.requestId, this.caller.requestId);
    if (this.caller.clientIp) headers.set('cf-connecting-ip', this.caller.clientIp);
    if (this.caller.userAgent) headers.set('user-agent', this.caller.userAgent);
    let body: string | undefined;
    if (request.body !== undefined) {
      body = JSON.stringify(request.body);
      headers.set('content-type', 'application/json');
    }
    const response = await this.router.fetch(new Request(url, { method: request.method, headers, body }));
    const text = await response.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: response.status, ok: response.ok, text, json };
  }
}
