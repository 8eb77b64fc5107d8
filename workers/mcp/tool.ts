/**
 * How a tool is declared and run (API.md §13): a strict zod input (unknown argument names are
 * rejected), the fields each action requires, and a `run` that turns the arguments into REST calls.
 * Every failure a tool reports is the §1.3 agent envelope as JSON text with `isError: true` — the same
 * code, message and remediation an SDK or CLI caller gets from the REST route.
 */
import type { CallToolResult, Tool, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ApiError, isErrorCode, toApiError } from '../shared/errors.ts';
import type { ServiceKeyPrincipal } from '../shared/principal.ts';
import { zodToApiError } from '../shared/validation.ts';
import type { PlatformClient, PlatformResponse } from './platform.ts';

/** What a tool may use. */
export interface ToolContext {
  /** REST calls as the MCP caller, through the router. */
  platform: PlatformClient;
  /** The caller (always a service key: /mcp refuses everything else). */
  caller: ServiceKeyPrincipal;
}

type ActionOf<S extends z.ZodObject> = z.output<S> extends { action: infer A extends string } ? A : never;
type FieldOf<S extends z.ZodObject> = keyof z.output<S> & string;

/** One tool: its name, what an agent reads about it, its strict input and how it runs. */
export interface ToolDefinition<S extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  /** `.strict()` object schema; its JSON Schema is what tools/list shows. */
  input: S;
  /** Fields each action needs beyond the schema's required ones ("Error: app_id is required for action delete"). */
  requires?: Partial<Record<ActionOf<S>, readonly FieldOf<S>[]>>;
  annotations?: ToolAnnotations;
  run(args: z.output<S>, context: ToolContext): Promise<CallToolResult>;
}

/** Declares a tool with its input type inferred from the schema. */
export function defineTool<S extends z.ZodObject>(definition: ToolDefinition<S>): ToolDefinition {
  return definition as unknown as ToolDefinition;
}

/** The tools/list entry: name, title, description, JSON Schema (draft-07, as the SDK emits) and annotations. */
export function describeTool(tool: ToolDefinition): Tool {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: z.toJSONSchema(tool.input, { io: 'input', target: 'draft-7' }) as Tool['inputSchema'],
    annotations: { title: tool.title, ...tool.annotations },
  };
}

/** A successful result: the value as JSON text. */
export function jsonResult(value: unknown): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }] };
}

/** A failed result: the §1.3 envelope as JSON text, `isError: true`. */
export function errorResult(error: ApiError): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(error.toEnvelope(), null, 2) }], isError: true };
}

/**
 * The REST answer as the tool result: a 2xx body as-is (a body-less 2xx as `{"ok":true}`), anything
 * else as the error body the route sent (the §1.3 envelope) with `isError: true`.
 */
export function restResult(response: PlatformResponse): CallToolResult {
  if (response.ok) return { content: [{ type: 'text', text: response.text === '' ? '{"ok":true}' : response.text }] };
  return { content: [{ type: 'text', text: response.text === '' ? JSON.stringify({ error: { code: 'INTERNAL_ERROR', message: `HTTP ${response.status}` } }) : response.text }], isError: true };
}

/** The §1.3 error of a non-2xx REST answer (for tools that compose several calls). */
export function restError(response: PlatformResponse): ApiError {
  const envelope = response.json as { error?: { code?: unknown; message?: unknown; remediation?: unknown; details?: unknown } } | undefined;
  const error = envelope?.error;
  if (error && isErrorCode(error.code) && typeof error.message === 'string') {
    return new ApiError(error.code, error.message, {
      remediation: typeof error.remediation === 'string' ? error.remediation : undefined,
      details: error.details,
    });
  }
  return new ApiError('INTERNAL_ERROR', `The platform answered HTTP ${response.status}.`, { internal: response.text.slice(0, 500) });
}

/** The VALIDATION_MISSING_FIELD error for a field an action needs. */
export function missingField(field: string, action?: string): ApiError {
  const where = action ? ` for action ${action}` : '';
  return new ApiError('VALIDATION_MISSING_FIELD', `Error: ${field} is required${where}.`, {
    remediation: `Call the tool again with "${field}" set${where}.`,
    details: [{ path: field, message: `required${where}`, code: 'missing' }],
  });
}

/** Turns a failed parse of tool arguments into an agent-friendly VALIDATION_* error naming the argument. */
function argumentsError(tool: ToolDefinition, error: z.ZodError, args: unknown): ApiError {
  const base = zodToApiError(error, args, 'arguments');
  const allowed = Object.keys(tool.input.shape).join(', ');
  const unknown = error.issues.flatMap((issue) => (issue.code === 'unrecognized_keys' && issue.path.length === 0 ? issue.keys : []));
  if (unknown.length > 0) {
    const names = unknown.map((k) => `"${k}"`).join(', ');
    return new ApiError('VALIDATION_INVALID_SCHEMA', `Unknown argument${unknown.length > 1 ? 's' : ''} ${names} for tool ${tool.name}.`, {
      remediation: `Remove ${names}; ${tool.name} accepts only: ${allowed}.`,
      details: base.details,
    });
  }
  return new ApiError(base.code, `${base.message.replace(/^Invalid arguments: /, `Invalid arguments for tool ${tool.name}: `)}`, {
    remediation: `Fix the argument named in the message; ${tool.name} accepts: ${allowed} (tools/list shows each one's type).`,
    details: base.details,
  });
}

/**
 * Runs a tool call end to end: strict parse, per-action required fields, then `run`.
 * Never throws: every failure becomes an `isError` result carrying the §1.3 envelope.
 */
export async function runTool(tool: ToolDefinition, args: unknown, context: ToolContext): Promise<CallToolResult> {
  const parsed = tool.input.safeParse(args ?? {});
  if (!parsed.success) return errorResult(argumentsError(tool, parsed.error, args ?? {}));
  const input = parsed.data as Record<string, unknown>;
  const action = typeof input.action === 'string' ? input.action : undefined;
  const requires = (tool.requires as Record<string, readonly string[]> | undefined)?.[action ?? ''] ?? [];
  for (const field of requires) {
    if (input[field] === undefined) return errorResult(missingField(field, action));
  }
  try {
    return await tool.run(input, context);
  } catch (error) {
    const apiError = toApiError(error);
    if (apiError.internal) console.error(`[mcp] ${tool.name}${action ? `.${action}` : ''}: ${apiError.code} :: ${apiError.internal}`);
    return errorResult(apiError);
  }
}
