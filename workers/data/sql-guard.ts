/**
 * The user-SQL guard (DESIGN.md "Data", issue 9 item 4): statements that come from user code
 * (functions' `ctx.db`) are parsed with the real Postgres parser (libpg-query, pg_query's JSON parse
 * tree) and refused before anything runs if they could leave the caller's role: role or session
 * changes, request GUCs, DO blocks, COPY, role/extension/system DDL, SECURITY DEFINER functions,
 * transaction control (which would end the batch's `SET LOCAL ROLE`), or more than one statement.
 *
 * Pure: the parse tree comes in, a refusal reason (or null) goes out, so it runs in Node tests too.
 */

/** Statement and node types refused wherever they appear, with the reason given to the caller. */
const refusedNodes: Readonly<Record<string, string>> = {
  VariableSetStmt: 'SET / RESET (roles, session authorization and settings are fixed by the platform)',
  DiscardStmt: 'DISCARD (it would reset the session role)',
  TransactionStmt: 'transaction control (each ctx.db.query call is already one transaction)',
  DoStmt: 'DO blocks',
  CopyStmt: 'COPY',
  CreateRoleStmt: 'CREATE ROLE',
  AlterRoleStmt: 'ALTER ROLE',
  AlterRoleSetStmt: 'ALTER ROLE … SET',
  DropRoleStmt: 'DROP ROLE',
  GrantRoleStmt: 'GRANT / REVOKE of roles',
  AlterSystemStmt: 'ALTER SYSTEM',
  AlterDatabaseStmt: 'ALTER DATABASE',
  AlterDatabaseSetStmt: 'ALTER DATABASE … SET',
  CreatedbStmt: 'CREATE DATABASE',
  DropdbStmt: 'DROP DATABASE',
  CreateExtensionStmt: 'CREATE EXTENSION',
  AlterExtensionStmt: 'ALTER EXTENSION',
  AlterExtensionContentsStmt: 'ALTER EXTENSION',
  LoadStmt: 'LOAD',
  ReassignOwnedStmt: 'REASSIGN OWNED',
  DropOwnedStmt: 'DROP OWNED',
  AlterOwnerStmt: 'ALTER … OWNER TO',
  CreateEventTrigStmt: 'CREATE EVENT TRIGGER',
  PrepareStmt: 'PREPARE',
  ExecuteStmt: 'EXECUTE',
  CheckPointStmt: 'CHECKPOINT',
  CreatePLangStmt: 'CREATE LANGUAGE',
  CreateFdwStmt: 'foreign-data wrappers',
  CreateForeignServerStmt: 'foreign servers',
  CreateUserMappingStmt: 'user mappings',
};

/** `set_config` names refused as their first argument (exactly, or as a prefix ending in "."). */
const refusedSettings = ['role', 'session_authorization', 'search_path'];
const refusedSettingPrefixes = ['request.', 'app.'];

type Tree = { stmts?: unknown[] };

/**
 * Why a parsed statement list may not run as user SQL, or null when it may.
 * In: the parse result of libpg-query (`{ version, stmts: [{ stmt: { <NodeType>: … } }] }`).
 */
export function userSqlRefusal(tree: Tree): string | null {
  const stmts = tree.stmts ?? [];
  if (stmts.length === 0) return 'the query holds no statement';
  if (stmts.length > 1) return `the query holds ${stmts.length} statements; send one statement per ctx.db.query call`;
  return walk(stmts[0]);
}

function walk(node: unknown): string | null {
  if (Array.isArray(node)) {
    for (const child of node) {
      const found = walk(child);
      if (found) return found;
    }
    return null;
  }
  if (node === null || typeof node !== 'object') return null;
  for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
    const refused = refusedNodes[key];
    if (refused) return `${refused} is not allowed in function SQL`;
    if (key === 'FuncCall') {
      const found = funcCallRefusal(value as FuncCall);
      if (found) return found;
    }
    if (key === 'CreateFunctionStmt' || key === 'AlterFunctionStmt') {
      const found = securityDefiner(value);
      if (found) return found;
    }
    const found = walk(value);
    if (found) return found;
  }
  return null;
}

interface FuncCall {
  funcname?: { String?: { sval?: string } }[];
  args?: unknown[];
}

function funcCallRefusal(call: FuncCall): string | null {
  const name = call.funcname?.at(-1)?.String?.sval?.toLowerCase();
  if (name !== 'set_config') return null;
  const first = call.args?.[0] as { A_Const?: { sval?: { sval?: string } } } | undefined;
  const setting = first?.A_Const?.sval?.sval?.toLowerCase();
  if (setting === undefined) return 'set_config with a computed setting name is not allowed in function SQL';
  if (refusedSettings.includes(setting) || refusedSettingPrefixes.some((p) => setting.startsWith(p))) {
    return `set_config('${setting}', …) is not allowed in function SQL (the platform sets the role and request claims)`;
  }
  return null;
}

function securityDefiner(stmt: unknown): string | null {
  const options = ((stmt as { options?: unknown[]; actions?: unknown[] }).options ?? []).concat((stmt as { actions?: unknown[] }).actions ?? []);
  for (const option of options) {
    const def = (option as { DefElem?: { defname?: string; arg?: { Boolean?: { boolval?: boolean } } } }).DefElem;
    if (def?.defname === 'security' && def.arg?.Boolean?.boolval === true) return 'SECURITY DEFINER functions are not allowed in function SQL';
  }
  return null;
}
