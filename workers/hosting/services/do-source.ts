/**
 * Checking a user Durable Object source (API.md §10.1 rules) with real parsers: sucrase strips the
 * TypeScript (a syntax error is CLASS_NAME_PARSE_ERROR with the parser's message and position), then
 * acorn parses the JavaScript module and the top level is inspected: exactly one `export class
 * PascalCase`, no other export, imports only from `cloudflare:*` (static or dynamic), and the class
 * name's kebab-case form equals the URL name (`ChatRoom` ↔ `chat-room`).
 */
import { parse, type Node } from 'acorn';
import { transform } from 'sucrase';
import { ApiError } from '../../shared/errors.ts';
import { durableObjectNamePattern } from '../../shared/schemas/hosting.ts';

/** Largest source file, bytes (API.md §10.1: 5 MB). */
export const maxSourceBytes = 5 * 1024 * 1024;

/** What a checked source gives: the class name and the JavaScript module the runtime loads. */
export interface CheckedSource {
  className: string;
  /** The module with types stripped (ES2022+, `export class …`). */
  module: string;
}

/** `ChatRoom` → `chat-room`, `HTTPCache2` → `http-cache2`. */
export function kebabOf(className: string): string {
  return className
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

/** `chat-room` → `CHAT_ROOM`: the binding name a class reserves among the env keys. */
export function bindingOf(name: string): string {
  return name.replace(/-/g, '_').toUpperCase();
}

/**
 * Checks a URL name (API.md §10.1: kebab-case).
 * @throws ApiError NAME_REGEX_VIOLATION
 */
export function checkName(name: string): void {
  if (name.length > 63 || !durableObjectNamePattern.test(name)) {
    throw new ApiError('NAME_REGEX_VIOLATION', `"${name}" is not a kebab-case name (^[a-z][a-z0-9]*(-[a-z0-9]+)*$, at most 63 characters).`);
  }
}

/**
 * Checks `code` deployed as `name`.
 * @throws ApiError SOURCE_SIZE_EXCEEDED, CLASS_NAME_PARSE_ERROR (syntax, class name, name mismatch),
 *   INVALID_IMPORT, NO_EXPORTED_CLASS, MULTIPLE_EXPORTS
 */
export function checkSource(name: string, code: string): CheckedSource {
  const bytes = new TextEncoder().encode(code).byteLength;
  if (bytes > maxSourceBytes) throw new ApiError('SOURCE_SIZE_EXCEEDED', `The source is ${bytes} bytes; at most ${maxSourceBytes} are allowed.`);
  let module: string;
  try {
    module = transform(code, { transforms: ['typescript'], disableESTransforms: true, keepUnusedImports: true }).code;
  } catch (error) {
    throw new ApiError('CLASS_NAME_PARSE_ERROR', `The source does not parse as TypeScript: ${(error as Error).message}`);
  }
  let program: Node & { body: Node[] };
  try {
    program = parse(module, { ecmaVersion: 'latest', sourceType: 'module' }) as Node & { body: Node[] };
  } catch (error) {
    throw new ApiError('CLASS_NAME_PARSE_ERROR', `The source does not parse as a module: ${(error as Error).message}`);
  }
  const classes: string[] = [];
  let otherExports = 0;
  for (const node of program.body) {
    const statement = node as Node & { source?: { value: unknown }; declaration?: (Node & { id?: { name: string } | null }) | null };
    switch (statement.type) {
      case 'ImportDeclaration':
        checkImport(String(statement.source!.value));
        break;
      case 'ExportNamedDeclaration':
        if (statement.source) checkImport(String(statement.source.value));
        if (statement.declaration?.type === 'ClassDeclaration' && statement.declaration.id) classes.push(statement.declaration.id.name);
        else otherExports++;
        break;
      case 'ExportDefaultDeclaration':
      case 'ExportAllDeclaration':
        if (statement.source) checkImport(String(statement.source.value));
        otherExports++;
        break;
    }
  }
  walk(program, (node) => {
    if (node.type === 'ImportExpression') {
      const source = (node as Node & { source: Node & { value?: unknown } }).source;
      if (source.type !== 'Literal' || typeof source.value !== 'string') {
        throw new ApiError('INVALID_IMPORT', 'Dynamic import() with a computed module name is not allowed; only cloudflare:* modules may be imported.');
      }
      checkImport(source.value);
    }
  });
  if (classes.length === 0) {
    throw new ApiError('NO_EXPORTED_CLASS', otherExports > 0
      ? 'The source exports something, but not a named class: write export class ChatRoom { … }.'
      : 'The source exports no class: write export class ChatRoom { … }.');
  }
  if (classes.length > 1 || otherExports > 0) {
    throw new ApiError('MULTIPLE_EXPORTS', `The source must export exactly one class and nothing else (found ${classes.length} class${classes.length === 1 ? '' : 'es'} and ${otherExports} other export${otherExports === 1 ? '' : 's'}).`);
  }
  const className = classes[0]!;
  if (!/^[A-Z][A-Za-z0-9]*$/.test(className)) {
    throw new ApiError('CLASS_NAME_PARSE_ERROR', `The class name "${className}" is not PascalCase (e.g. ChatRoom).`);
  }
  if (kebabOf(className) !== name) {
    throw new ApiError('CLASS_NAME_PARSE_ERROR', `The class ${className} must be deployed as "${kebabOf(className)}", not "${name}".`, {
      remediation: `Deploy it with name "${kebabOf(className)}", or rename the class so its kebab-case form is "${name}".`,
    });
  }
  return { className, module };
}

function checkImport(source: string): void {
  if (!source.startsWith('cloudflare:')) {
    throw new ApiError('INVALID_IMPORT', `Importing "${source}" is not allowed; only cloudflare:* modules (e.g. cloudflare:workers) may be imported.`);
  }
}

/** Calls `visit` on every AST node below `node`. */
function walk(node: Node, visit: (node: Node) => void): void {
  visit(node);
  for (const value of Object.values(node)) {
    if (Array.isArray(value)) {
      for (const item of value) if (item && typeof item === 'object' && typeof item.type === 'string') walk(item as Node, visit);
    } else if (value && typeof value === 'object' && typeof (value as Node).type === 'string') {
      walk(value as Node, visit);
    }
  }
}
