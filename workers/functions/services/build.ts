/**
 * Deploy-time build of a function (API.md §8.1, DESIGN.md "User code"): TypeScript or JavaScript is
 * stripped of types with sucrase (no bundling), then the module's imports and exports are read with
 * es-module-lexer (its asm.js build: Workers may not compile WebAssembly from bytes at run time).
 */
import { init, parse } from 'es-module-lexer/js';
import { transform } from 'sucrase';
import { ApiError } from '../../shared/errors.ts';

/** What a deploy stores: the JavaScript module the runner loads and how it binds the handler. */
export interface BuiltFunction {
  /** ES module source (types stripped). */
  code: string;
  /** `default` or `handler`: the export the runner calls. */
  entry: 'default' | 'handler';
}

/** Imports the runtime provides (Node built-ins under `nodejs_compat`, the Workers runtime module). */
function importAllowed(specifier: string): boolean {
  return /^node:[a-z_/]+$/.test(specifier) || specifier === 'cloudflare:workers';
}

/**
 * Strips types and checks the module shape.
 * @throws ApiError FUNCTION_BUILD_FAILED: a syntax error (`details: { line, column }`, 1-based line,
 *   0-based column as sucrase reports), no `handler`/default export, or an import the runtime cannot
 *   provide (relative files, npm packages, URLs — named in the message).
 */
export async function buildFunction(source: string): Promise<BuiltFunction> {
  let code: string;
  try {
    code = transform(source, { transforms: ['typescript'], disableESTransforms: true, production: true }).code;
  } catch (error) {
    const loc = (error as { loc?: { line: number; column: number } }).loc;
    const message = (error as Error).message;
    throw new ApiError('FUNCTION_BUILD_FAILED', `The function does not compile: ${message}`, {
      details: { line: loc?.line ?? null, column: loc?.column ?? null, message },
    });
  }
  await init;
  let imports: ReturnType<typeof parse>[0];
  let exports: ReturnType<typeof parse>[1];
  try {
    [imports, exports] = parse(code);
  } catch (error) {
    const message = (error as Error).message;
    const at = /(\d+):(\d+)/.exec(message);
    throw new ApiError('FUNCTION_BUILD_FAILED', `The function does not compile: ${message}`, {
      details: { line: at ? Number(at[1]) : null, column: at ? Number(at[2]) : null, message },
    });
  }
  for (const entry of imports) {
    const specifier = 'specifier' in entry ? entry.specifier : undefined;
    if (entry.type === 'dynamic' && (specifier === undefined || specifier === null)) {
      throw new ApiError('FUNCTION_BUILD_FAILED', 'Dynamic import() with a computed specifier is not supported.', {
        remediation: 'Functions are one module: inline the code you need (npm bundling arrives with the build service).',
        details: { import: null },
      });
    }
    if (typeof specifier === 'string' && !importAllowed(specifier)) {
      throw new ApiError('FUNCTION_BUILD_FAILED', `Unsupported import "${specifier}": functions are a single module and may import only node:* built-ins and cloudflare:workers.`, {
        remediation: `Remove the import of "${specifier}" and inline what you need (npm bundling arrives with the build service); fetch() and Web APIs are global.`,
        details: { import: specifier },
      });
    }
  }
  const names = new Set(exports.flatMap((e) => ('name' in e && typeof e.name === 'string' ? [e.name] : [])));
  const entry = names.has('handler') ? 'handler' : names.has('default') ? 'default' : null;
  if (!entry) {
    throw new ApiError('FUNCTION_BUILD_FAILED', 'The function exports no handler.', {
      remediation: 'Export the handler: `export default async function handler(req, ctx) { … }` or `export async function handler(req, ctx) { … }`, returning a Response.',
      details: { exports: [...names] },
    });
  }
  return { code, entry };
}
