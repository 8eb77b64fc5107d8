/**
 * The Postgres parser (libpg-query compiled to WebAssembly) inside a Worker. The package's own entry
 * cannot load the .wasm file in workerd (it reads it from disk or `self.location`), so this module
 * imports the emscripten glue and the wasm module wrangler bundles, and instantiates it itself
 * (RUNTIME-FACTS.md §8). Loaded once per isolate, on first use (~25 ms; later parses ~1 ms).
 */
// @ts-expect-error — emscripten glue without types
import PgQueryModule from '@libpg-query/parser/wasm/libpg-query.js';
import wasm from '@libpg-query/parser/wasm/libpg-query.wasm';

interface PgQueryWasm {
  lengthBytesUTF8(text: string): number;
  stringToUTF8(text: string, ptr: number, size: number): void;
  UTF8ToString(ptr: number): string;
  getValue(ptr: number, type: 'i32'): number;
  _malloc(size: number): number;
  _free(ptr: number): void;
  _wasm_parse_query_raw(ptr: number): number;
  _wasm_free_parse_result(ptr: number): void;
}

let loading: Promise<PgQueryWasm> | undefined;

function load(): Promise<PgQueryWasm> {
  const scope = globalThis as { __filename?: string; __dirname?: string };
  scope.__filename ??= '/libpg-query.js';
  scope.__dirname ??= '/';
  loading ??= (PgQueryModule as (options: object) => Promise<PgQueryWasm>)({
    instantiateWasm(imports: WebAssembly.Imports, done: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void) {
      const instance = new WebAssembly.Instance(wasm, imports);
      done(instance, wasm);
      return instance.exports;
    },
  });
  return loading;
}

/** A parse failure: Postgres's own syntax error message and the 0-based cursor position. */
export class PgSyntaxError extends Error {
  constructor(message: string, readonly position: number) {
    super(message);
  }
}

/**
 * Parses SQL text into pg_query's JSON parse tree (`{ version, stmts: [{ stmt: { <Node>: … } }] }`).
 * @throws PgSyntaxError when Postgres would not parse it
 */
export async function parseSql(sql: string): Promise<{ stmts?: unknown[] }> {
  const pg = await load();
  const size = pg.lengthBytesUTF8(sql) + 1;
  const queryPtr = pg._malloc(size);
  let resultPtr = 0;
  try {
    pg.stringToUTF8(sql, queryPtr, size);
    resultPtr = pg._wasm_parse_query_raw(queryPtr);
    if (!resultPtr) throw new Error('libpg-query: allocation failed');
    const treePtr = pg.getValue(resultPtr, 'i32');
    const errorPtr = pg.getValue(resultPtr + 8, 'i32');
    if (errorPtr) {
      const messagePtr = pg.getValue(errorPtr, 'i32');
      const cursor = pg.getValue(errorPtr + 16, 'i32');
      throw new PgSyntaxError(messagePtr ? pg.UTF8ToString(messagePtr) : 'syntax error', cursor > 0 ? cursor - 1 : 0);
    }
    return JSON.parse(pg.UTF8ToString(treePtr)) as { stmts?: unknown[] };
  } finally {
    pg._free(queryPtr);
    if (resultPtr) pg._wasm_free_parse_result(resultPtr);
  }
}
