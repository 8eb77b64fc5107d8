/**
 * Row-level security management (API.md §4, §2 POST /secure): enable, policies, user isolation,
 * list, delete, secure. Each change is one DbGateway batch as `owner`, so it applies whole or not at
 * all: the DDL, then a recursion check that plans the table as every role the change affects
 * (a policy cycle, SQLSTATE 42P17, rolls the batch back). Policy expressions are proven first
 * (rls/probe.ts). Every operation is idempotent: policies are dropped-if-exists and recreated.
 */
import type { SqlStatement } from '../../shared/contracts.ts';
import { loadCatalog, type CatalogTable, type Execute } from '../../shared/catalog.ts';
import { ApiError } from '../../shared/errors.ts';
import type { CreatePolicyBody, EnableRlsBody, UpdatePolicyBody, UserIsolationBody } from './bodies.ts';
import { checkColumnName, checkDerivedNames, checkPolicyName, checkTableName } from './names.ts';
import { proveExpression, translateExpressionError } from './probe.ts';
import {
  createPolicyStatements, derivedNames, disableStatements, dropPolicyStatement, enableStatements, listPoliciesQuery,
  recursionCheckStatements, rolesFor, tablePoliciesQuery, tablesWithRlsQuery, userColumnTriggerStatements,
  userIsolationStatements, type PolicyCommand, type PolicySpec,
} from './sql.ts';

const endUserRoles = ['butterbase_anon', 'butterbase_user'];

/** One pg_policies row (API.md §4 GET /rls). */
export interface PolicyRow {
  schemaname: string;
  tablename: string;
  policyname: string;
  permissive: 'PERMISSIVE' | 'RESTRICTIVE';
  roles: string[];
  cmd: PolicyCommand;
  qual: string | null;
  with_check: string | null;
}

/** @throws ApiError VALIDATION_TABLE_NOT_FOUND */
async function requireTable(execute: Execute, table: string): Promise<CatalogTable> {
  const found = (await loadCatalog(execute)).get(table);
  if (!found) {
    throw new ApiError('VALIDATION_TABLE_NOT_FOUND', `Table "${table}" does not exist in this app.`, {
      details: { table },
    });
  }
  return found;
}

/** @throws ApiError VALIDATION_COLUMN_NOT_FOUND */
function requireColumn(table: CatalogTable, column: string, field: string) {
  const found = table.columns.find((c) => c.name === column);
  if (!found) {
    throw new ApiError('VALIDATION_COLUMN_NOT_FOUND', `${field}: table "${table.name}" has no column "${column}".`, {
      details: { field, table: table.name, column },
    });
  }
  return found;
}

/** The user column: must exist and be uuid or text. @throws VALIDATION_COLUMN_NOT_FOUND, VALIDATION_INVALID_TYPE */
function userColumnType(table: CatalogTable, column: string, field: string): 'uuid' | 'text' {
  const found = requireColumn(table, column, field);
  if (!found.isArray && (found.udt === 'uuid' || found.udt === 'text')) return found.udt;
  throw new ApiError('VALIDATION_INVALID_TYPE', `${field}: column "${column}" of "${table.name}" is ${found.type}; a user column must be uuid or text.`, {
    details: { field, table: table.name, column, type: found.type },
    remediation: 'Point user_column at a uuid (or text) column holding the end user\'s id, e.g. add "user_id": {"type": "uuid"} with POST /v1/{app_id}/schema/apply.',
  });
}

/** A plain column (not generated, not identity) for planning UPDATE, or null. */
function updatableColumn(table: CatalogTable): string | null {
  return table.columns.find((c) => c.generated === '' && c.identity === '')?.name ?? null;
}

/** Runs a change batch and its recursion check; a cycle becomes RLS_INVALID_EXPRESSION. */
async function applyChange(execute: Execute, table: CatalogTable, statements: SqlStatement[], checkRoles: string[]): Promise<void> {
  try {
    await execute([...statements, ...recursionCheckStatements(table.name, checkRoles, updatableColumn(table))]);
  } catch (error) {
    throw translateExpressionError(error, null);
  }
}

async function tablePolicies(execute: Execute, table: string): Promise<PolicyRow[]> {
  const [result] = await execute([{ query: tablePoliciesQuery, params: [table] }]);
  return (result?.rows ?? []) as unknown as PolicyRow[];
}

/**
 * POST /rls/enable: ENABLE + FORCE RLS and the service bypass policy.
 * In: {@link EnableRlsBody}. Out: `{ success, table, service_bypass_policy, message }`.
 * @throws ApiError VALIDATION_INVALID_NAME, VALIDATION_RESERVED_TABLE, VALIDATION_TABLE_NOT_FOUND, RLS_INVALID_EXPRESSION (cycle)
 */
export async function enableRls(execute: Execute, body: EnableRlsBody) {
  const name = checkTableName(body.table_name);
  const names = derivedNames(name);
  checkDerivedNames(name, [names.serviceBypass]);
  const table = await requireTable(execute, name);
  await applyChange(execute, table, enableStatements(name), endUserRoles);
  return {
    success: true as const,
    table: name,
    service_bypass_policy: names.serviceBypass,
    message: `Row-level security is enabled and forced on "${name}". butterbase_service bypasses it; anon and user see no rows until a policy allows them.`,
  };
}

/** Applies the §4 expression rules to a command: which expressions it uses, and warnings for dropped ones. */
function expressionsFor(command: PolicyCommand, using: string | null, withCheck: string | null, warnings: string[]) {
  if ((command === 'SELECT' || command === 'DELETE') && withCheck !== null) {
    warnings.push(`with_check_expression is ignored: ${command} policies use only using_expression.`);
    withCheck = null;
  }
  if (command === 'INSERT' && using !== null) {
    warnings.push('using_expression is ignored: INSERT policies use only with_check_expression.');
    using = null;
  }
  const needsUsing = command === 'SELECT' || command === 'DELETE';
  if ((needsUsing && using === null) || (command === 'INSERT' && withCheck === null) || (using === null && withCheck === null)) {
    const field = command === 'INSERT' ? 'with_check_expression' : 'using_expression';
    throw new ApiError('VALIDATION_MISSING_FIELD', `A ${command} policy needs ${command === 'ALL' || command === 'UPDATE' ? 'using_expression and/or with_check_expression' : field}.`, {
      details: [{ path: field, message: 'required field is missing', code: 'missing' }],
    });
  }
  return { using, withCheck };
}

/**
 * The platform roles a policy's `TO` list subjects to it: PUBLIC means both end-user roles; a list
 * naming no platform role (possible only for policies made outside this API) is checked as user.
 */
function subjectRoles(roles: string[]): string[] {
  if (roles.includes('public')) return endUserRoles;
  const platform = roles.filter((r) => r.startsWith('butterbase_'));
  return platform.length > 0 ? platform : ['butterbase_user'];
}

/** Proves each expression given in the request (the rest came from Postgres itself). */
async function proveGiven(execute: Execute, table: string, roles: string[], given: { using: string | null; withCheck: string | null }) {
  if (given.using !== null) await proveExpression(execute, table, subjectRoles(roles), 'using_expression', given.using);
  if (given.withCheck !== null) await proveExpression(execute, table, subjectRoles(roles), 'with_check_expression', given.withCheck);
}

function rlsOffWarning(table: CatalogTable, warnings: string[]) {
  if (!table.rlsEnabled) {
    warnings.push(`Row-level security is not enabled on "${table.name}", so this policy has no effect yet: POST /v1/{app_id}/rls/enable {"table_name": "${table.name}"}.`);
  }
}

/**
 * POST /rls/policies: creates (or replaces) one policy; with `user_column`, also installs the
 * auto-populate trigger. In: {@link CreatePolicyBody}. Out: `{ success, policy_name, table, warnings? }`.
 * @throws ApiError VALIDATION_INVALID_NAME, VALIDATION_RESERVED_TABLE, VALIDATION_TABLE_NOT_FOUND,
 *   VALIDATION_COLUMN_NOT_FOUND, VALIDATION_INVALID_TYPE, VALIDATION_MISSING_FIELD, RLS_UNSAFE_EXPRESSION,
 *   RLS_INVALID_EXPRESSION, RLS_TYPE_MISMATCH
 */
export async function createPolicy(execute: Execute, body: CreatePolicyBody) {
  const name = checkTableName(body.table_name);
  const policy = checkPolicyName(body.policy_name);
  const userColumn = body.user_column == null ? null : checkColumnName(body.user_column, 'user_column');
  if (userColumn !== null) checkDerivedNames(name, [derivedNames(name).trigger]);
  const command = body.command ?? 'ALL';
  const warnings: string[] = [];
  const { using, withCheck } = expressionsFor(command, body.using_expression ?? null, body.with_check_expression ?? null, warnings);
  const table = await requireTable(execute, name);
  const columnType = userColumn === null ? null : userColumnType(table, userColumn, 'user_column');
  const roles = rolesFor(body.role ?? undefined);
  await proveGiven(execute, name, roles, { using, withCheck });
  if ((await tablePolicies(execute, name)).some((p) => p.policyname === policy)) {
    warnings.push(`Policy "${policy}" already existed on "${name}" and was replaced.`);
  }
  rlsOffWarning(table, warnings);
  const spec: PolicySpec = { table: name, name: policy, command, roles, restrictive: body.restrictive ?? false, using, withCheck };
  const statements = [...createPolicyStatements(spec)];
  if (userColumn !== null && columnType !== null) statements.push(...userColumnTriggerStatements(name, userColumn, columnType));
  await applyChange(execute, table, statements, subjectRoles(roles));
  return { success: true as const, policy_name: policy, table: name, ...(warnings.length ? { warnings } : {}) };
}

/**
 * PATCH /rls/policies/{policy}: drops and recreates the policy in one batch; omitted fields keep
 * their current value. In: {@link UpdatePolicyBody}. Out: `{ success, policy_name, table, warnings? }`.
 * @throws ApiError RESOURCE_NOT_FOUND (no such policy on the table) and the codes of {@link createPolicy}
 */
export async function updatePolicy(execute: Execute, policyName: string, body: UpdatePolicyBody) {
  const policy = checkPolicyName(policyName);
  const name = checkTableName(body.table_name);
  const table = await requireTable(execute, name);
  const existing = (await tablePolicies(execute, name)).find((p) => p.policyname === policy);
  if (!existing) {
    throw new ApiError('RESOURCE_NOT_FOUND', `Table "${name}" has no policy "${policy}".`, {
      details: { table: name, policy_name: policy },
      remediation: 'List the policies with GET /v1/{app_id}/rls, or create it with POST /v1/{app_id}/rls/policies.',
    });
  }
  const command = body.command ?? existing.cmd;
  const roles = body.role != null ? rolesFor(body.role) : existing.roles;
  // A kept expression the new command does not use is dropped quietly; a given one gets a warning.
  const keptUsing = command === 'INSERT' ? null : existing.qual;
  const keptCheck = command === 'SELECT' || command === 'DELETE' ? null : existing.with_check;
  const warnings: string[] = [];
  const { using, withCheck } = expressionsFor(
    command,
    body.using_expression === undefined ? keptUsing : body.using_expression,
    body.with_check_expression === undefined ? keptCheck : body.with_check_expression,
    warnings,
  );
  await proveGiven(execute, name, roles, {
    using: body.using_expression === undefined ? null : using,
    withCheck: body.with_check_expression === undefined ? null : withCheck,
  });
  rlsOffWarning(table, warnings);
  const restrictive = body.restrictive ?? existing.permissive === 'RESTRICTIVE';
  await applyChange(execute, table, createPolicyStatements({ table: name, name: policy, command, roles, restrictive, using, withCheck }), subjectRoles(roles));
  return { success: true as const, policy_name: policy, table: name, ...(warnings.length ? { warnings } : {}) };
}

/**
 * POST /rls: user isolation (policy + auto-populate trigger + service bypass, optional public read).
 * In: {@link UserIsolationBody}. Out: `{ success, table, user_column, policy_name, public_read_policies?, _meta }`.
 * @throws ApiError VALIDATION_INVALID_NAME, VALIDATION_RESERVED_TABLE, VALIDATION_TABLE_NOT_FOUND,
 *   VALIDATION_COLUMN_NOT_FOUND, VALIDATION_INVALID_TYPE (user column not uuid/text, public-read column not boolean),
 *   RLS_INVALID_EXPRESSION (the table's other policies form a cycle)
 */
export async function createUserIsolation(execute: Execute, body: UserIsolationBody) {
  const name = checkTableName(body.table_name);
  const userColumn = checkColumnName(body.user_column, 'user_column');
  const publicRead = body.public_read_column == null ? null : checkColumnName(body.public_read_column, 'public_read_column');
  const names = derivedNames(name);
  checkDerivedNames(name, Object.values(names));
  const table = await requireTable(execute, name);
  const columnType = userColumnType(table, userColumn, 'user_column');
  if (publicRead !== null) {
    const column = requireColumn(table, publicRead, 'public_read_column');
    if (column.udt !== 'bool' || column.isArray) {
      throw new ApiError('VALIDATION_INVALID_TYPE', `public_read_column: column "${publicRead}" of "${name}" is ${column.type}; it must be boolean.`, {
        details: { field: 'public_read_column', table: name, column: publicRead, type: column.type },
        remediation: 'Point public_read_column at a boolean column such as "published".',
      });
    }
  }
  await applyChange(execute, table, userIsolationStatements({ table: name, userColumn, userColumnType: columnType, publicReadColumn: publicRead }), endUserRoles);
  const publicReadPolicies = publicRead === null ? undefined : [names.publicReadUser, names.publicReadAnon];
  return {
    success: true as const,
    table: name,
    user_column: userColumn,
    policy_name: names.userIsolation,
    ...(publicReadPolicies ? { public_read_policies: publicReadPolicies } : {}),
    _meta: {
      next_actions: [
        { action: 'verify_as_user', description: `Read "${name}" as an end user (X-Butterbase-As-Role: user + X-Butterbase-As-User) and check only that user's rows come back`, recommended: true },
        { action: 'omit_user_column', description: `Clients need not send "${userColumn}" on insert: a trigger sets it from the access token`, recommended: false },
      ],
    },
  };
}

/**
 * GET /rls: every policy and every table with RLS on (tables starting `_` excluded).
 * Out: `{ policies: PolicyRow[], tables_with_rls: string[] }`.
 */
export async function listRls(execute: Execute) {
  const [policies, tables] = await execute([{ query: listPoliciesQuery }, { query: tablesWithRlsQuery }]);
  return {
    policies: (policies?.rows ?? []) as unknown as PolicyRow[],
    tables_with_rls: (tables?.rows ?? []).map((r) => String(r.name)),
  };
}

/**
 * DELETE /rls/{table}: drops every policy and the auto-populate trigger, then disables RLS.
 * Out: `{ success, message, table, policies_removed }`.
 * @throws ApiError VALIDATION_INVALID_NAME, VALIDATION_RESERVED_TABLE, VALIDATION_TABLE_NOT_FOUND
 */
export async function disableRls(execute: Execute, tableName: string) {
  const name = checkTableName(tableName, 'table');
  await requireTable(execute, name);
  const policies = (await tablePolicies(execute, name)).map((p) => p.policyname);
  await execute(disableStatements(name, policies));
  return {
    success: true as const,
    message: `Removed ${policies.length} ${policies.length === 1 ? 'policy' : 'policies'} and disabled row-level security on "${name}": every role with table privileges now sees every row.`,
    table: name,
    policies_removed: policies,
  };
}

/**
 * DELETE /rls/{table}/{policy}: drops one policy; RLS stays on.
 * Out: `{ success, message, table, policy_name }`.
 * @throws ApiError VALIDATION_INVALID_NAME, VALIDATION_RESERVED_TABLE, VALIDATION_TABLE_NOT_FOUND, RESOURCE_NOT_FOUND
 */
export async function deletePolicy(execute: Execute, tableName: string, policyName: string) {
  const name = checkTableName(tableName, 'table');
  const policy = checkPolicyName(policyName);
  await requireTable(execute, name);
  const [dropped] = await execute([
    { query: 'SELECT 1 FROM pg_catalog.pg_policies WHERE schemaname = \'public\' AND tablename = $1 AND policyname = $2', params: [name, policy] },
    dropPolicyStatement(name, policy),
  ]);
  if (!dropped?.rows.length) {
    throw new ApiError('RESOURCE_NOT_FOUND', `Table "${name}" has no policy "${policy}".`, {
      details: { table: name, policy_name: policy },
      remediation: 'List the policies with GET /v1/{app_id}/rls.',
    });
  }
  return { success: true as const, message: `Policy "${policy}" removed from "${name}"; row-level security stays enabled.`, table: name, policy_name: policy };
}
