/**
 * The declarative diff (API.md §3.1 "Semantics"): desired DSL vs the app database's catalog → the
 * ordered statements that take one to the other, and nothing else. Tables and columns the payload
 * does not mention are left alone; a mentioned column is made exactly as declared (type, nullability,
 * default, unique, foreign key); indexes are created or rebuilt by name, never dropped by omission.
 *
 * What is destructive (loses stored data), and how each case is handled:
 * - dropping a table — only when it is named in `_drop` (or `"t": {"_drop": true}`); `DROP TABLE … CASCADE`.
 * - dropping a column — only when it is named in that table's `_dropColumns`; `DROP COLUMN … CASCADE`.
 *   Either drop is refused (2BP01, whole apply rolled back) when it would take a row-level security
 *   policy with it: see {@link policyGuard}.
 * - changing a column's type (including length, precision, dimensions, array-ness, or turning it into
 *   a serial) — never done: refused with SCHEMA_DESTRUCTIVE_CHANGE whatever the payload says.
 * Nothing else drops data, so nothing else is marked destructive: nullability, defaults, unique and
 * foreign-key constraints, primary keys and index rebuilds change rules, not rows (Postgres refuses a
 * rule existing rows break, e.g. NOT NULL over NULLs, and the whole apply then fails unapplied).
 *
 * Statement order: drop tables, drop columns, drop foreign keys, drop changed indexes, drop unique and
 * primary-key constraints, create tables (referenced tables first), add columns, change nullability
 * and defaults, add primary keys and unique constraints, create indexes (a unique index may be what a
 * foreign key points at), add foreign keys, seed marks.
 * Every identifier is validated by the DSL and double-quoted here; defaults are re-rendered from a
 * checked expression tree; the only values (seed table names) are bound parameters.
 */
import type { CatalogIndex, CatalogTableDetail } from '../../shared/catalog.ts';
import { ApiError } from '../../shared/errors.ts';
import type { ValidationIssue } from '../../shared/validation.ts';
import { catalogDefaultKey } from './default-expression.ts';
import type { DesiredColumn, DesiredIndex, DesiredReference, DesiredSchema, DesiredTable } from './dsl.ts';
import { columnTypeOf, isSerialColumn, singleColumnForeignKeys } from './introspect.ts';
import { dslTypeName, formatTypeName, typeSql } from './types.ts';
import { quoteIdent } from '../../shared/sql.ts';

/** One statement of a plan. `params` are bound (`$1`…); `destructive` marks statements that delete stored data. */
export interface PlannedStatement {
  sql: string;
  params?: string[];
  description: string;
  destructive: boolean;
}

/** A plan: the statements to run, and the destructive changes refused (non-empty → nothing may run). */
export interface SchemaPlan {
  statements: PlannedStatement[];
  refused: string[];
}

/** The database as it is: tables of `public` with their constraints and indexes, and the seed marks. */
export interface CurrentSchema {
  tables: Map<string, CatalogTableDetail>;
  seedTables: ReadonlySet<string>;
}

const q = quoteIdent;
const list = (names: readonly string[]) => names.map(q).join(', ');
const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * A guard that runs right before a destructive drop: `CASCADE` would also drop row-level security
 * policies that read the dropped column (or, for a table, policies on *other* tables that read it).
 * Losing a restrictive policy widens access silently, and losing a user-isolation policy leaves its
 * trigger behind, so the guard raises 2BP01 (dependent_objects_still_exist) naming the policies, and
 * the whole apply rolls back. Names are validated identifiers, so they embed safely.
 */
function policyGuard(table: string, column: string | null): PlannedStatement {
  const relation = `'public.${q(table)}'::regclass`;
  const target = column === null ? table : `${table}.${column}`;
  const dependency = column === null
    ? `p.polrelid <> ${relation}`
    : `d.refobjsubid = (SELECT attnum FROM pg_attribute WHERE attrelid = ${relation} AND attname = '${column}')`;
  const sql = `DO $guard$
DECLARE policies text;
BEGIN
  SELECT string_agg(DISTINCT format('%I on %I', p.polname, c.relname), ', ') INTO policies
    FROM pg_depend d
    JOIN pg_policy p ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid
    JOIN pg_class c ON c.oid = p.polrelid
   WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = ${relation} AND ${dependency};
  IF policies IS NOT NULL THEN
    RAISE EXCEPTION 'Dropping ${target} would also drop row-level security policies: %', policies
      USING ERRCODE = '2BP01', HINT = 'Change or delete those policies first (/v1/{app_id}/rls), then drop ${target}.';
  END IF;
END
$guard$`;
  return { sql, description: `Check that no row-level security policy depends on ${target}`, destructive: false };
}

function referenceSql(ref: DesiredReference): string {
  const actions = `${ref.onDelete !== 'NO ACTION' ? ` ON DELETE ${ref.onDelete}` : ''}${ref.onUpdate !== 'NO ACTION' ? ` ON UPDATE ${ref.onUpdate}` : ''}`;
  return `REFERENCES ${q(ref.table)} (${q(ref.column)})${actions}`;
}

function referenceText(ref: DesiredReference): string {
  const actions = [ref.onDelete !== 'NO ACTION' ? `ON DELETE ${ref.onDelete}` : '', ref.onUpdate !== 'NO ACTION' ? `ON UPDATE ${ref.onUpdate}` : ''].filter(Boolean);
  return `${ref.table}.${ref.column}${actions.length > 0 ? ` (${actions.join(', ')})` : ''}`;
}

/** `"name" type [PRIMARY KEY | NOT NULL] [DEFAULT …] [UNIQUE] [REFERENCES …]`. */
function columnSql(column: DesiredColumn, options: { inlinePrimaryKey: boolean; inlineReference: boolean }): string {
  const parts = [q(column.name), typeSql(column.type)];
  if (options.inlinePrimaryKey) parts.push('PRIMARY KEY');
  else if (!column.nullable) parts.push('NOT NULL');
  if (column.default) parts.push(`DEFAULT ${column.default.sql}`);
  if (column.unique && !column.primaryKey) parts.push('UNIQUE');
  if (options.inlineReference && column.references) parts.push(referenceSql(column.references));
  return parts.join(' ');
}

function indexSql(table: string, index: DesiredIndex): string {
  const columns = index.columns.map((c) => (index.opclass ? `${q(c)} ${q(index.opclass)}` : q(c))).join(', ');
  return `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${q(index.name)} ON ${q(table)} USING ${index.method} (${columns})`;
}

function indexText(table: string, index: DesiredIndex): string {
  return `${index.unique ? 'unique ' : ''}index ${index.name} on ${table} (${index.columns.join(', ')}) using ${index.method}${index.opclass ? ` with ${index.opclass}` : ''}`;
}

function indexMatches(desired: DesiredIndex, existing: CatalogIndex): boolean {
  if (existing.columns === null || existing.partial || existing.hasInclude) return false;
  if (!sameList(desired.columns, existing.columns) || desired.unique !== existing.unique || desired.method !== existing.method) return false;
  return desired.opclass === null ? existing.defaultOpclasses.every(Boolean) : existing.opclasses.every((name) => name === desired.opclass);
}

/** The statements of a plan, grouped by phase; concatenated in declaration order. */
class Phases {
  dropTables: PlannedStatement[] = [];
  dropColumns: PlannedStatement[] = [];
  dropForeignKeys: PlannedStatement[] = [];
  dropIndexes: PlannedStatement[] = [];
  dropConstraints: PlannedStatement[] = [];
  createTables: PlannedStatement[] = [];
  addColumns: PlannedStatement[] = [];
  alterColumns: PlannedStatement[] = [];
  addConstraints: PlannedStatement[] = [];
  createIndexes: PlannedStatement[] = [];
  addForeignKeys: PlannedStatement[] = [];
  seeds: PlannedStatement[] = [];

  all(): PlannedStatement[] {
    return [
      ...this.dropTables, ...this.dropColumns, ...this.dropForeignKeys, ...this.dropIndexes, ...this.dropConstraints,
      ...this.createTables, ...this.addColumns, ...this.alterColumns, ...this.addConstraints, ...this.createIndexes,
      ...this.addForeignKeys, ...this.seeds,
    ];
  }
}

const ddl = (sql: string, description: string, destructive = false): PlannedStatement => ({ sql, description, destructive });

/**
 * Computes the plan that takes `current` to `desired`.
 * In: a {@link DesiredSchema} (from the DSL) and the {@link CurrentSchema}. Out: {@link SchemaPlan};
 * an empty `statements` with empty `refused` means the schema is up to date.
 * @throws ApiError VALIDATION_INVALID_SCHEMA when the payload does not fit the database: a reference
 *   to a missing table or column or to a column that is not unique, an index over a missing column,
 *   hnsw/ivfflat over a non-vector column, an index name already used elsewhere. `details` lists each
 *   problem with its field path (`schema.tables.<t>.columns.<c>.references`, …).
 */
export function planSchema(desired: DesiredSchema, current: CurrentSchema): SchemaPlan {
  return new Planner(desired, current).plan();
}

class Planner {
  private readonly phases = new Phases();
  private readonly refused: string[] = [];
  private readonly issues: ValidationIssue[] = [];
  private readonly desiredByName: Map<string, DesiredTable>;
  /** Existing tables the payload drops. */
  private readonly dropped: Set<string>;

  constructor(private readonly desired: DesiredSchema, private readonly current: CurrentSchema) {
    this.desiredByName = new Map(desired.tables.map((t) => [t.name, t]));
    this.dropped = new Set(desired.drop.filter((name) => current.tables.has(name)));
  }

  plan(): SchemaPlan {
    for (const name of this.desired.drop) this.dropTable(name);
    this.checkIndexNames();
    const created: DesiredTable[] = [];
    for (const table of this.desired.tables) {
      this.checkReferences(table);
      this.checkIndexes(table);
      const existing = this.current.tables.get(table.name);
      if (existing) this.alterTable(table, existing);
      else created.push(table);
      this.planIndexes(table, existing);
      this.planSeed(table);
    }
    this.createTables(created);
    if (this.issues.length > 0) {
      const [first] = this.issues;
      const more = this.issues.length > 1 ? ` (and ${this.issues.length - 1} more)` : '';
      throw new ApiError('VALIDATION_INVALID_SCHEMA', `Invalid schema: ${first!.path}: ${first!.message}${more}`, { details: this.issues });
    }
    return { statements: this.phases.all(), refused: this.refused };
  }

  private issue(path: string, message: string): void {
    this.issues.push({ path, message, code: 'invalid_reference' });
  }

  private dropTable(name: string): void {
    if (this.dropped.has(name)) {
      this.phases.dropTables.push(policyGuard(name, null));
      this.phases.dropTables.push(ddl(`DROP TABLE ${q(name)} CASCADE`, `Drop table ${name} with all its rows (constraints that point at it go too)`, true));
    }
    if (this.current.seedTables.has(name)) {
      this.phases.seeds.push({ sql: 'DELETE FROM butterbase.seed_tables WHERE table_name = $1', params: [name], description: `Forget the seed mark of dropped table ${name}`, destructive: false });
    }
  }

  /** Whether a table exists after the plan runs. */
  private tableExistsAfter(name: string): boolean {
    return this.desiredByName.has(name) || (this.current.tables.has(name) && !this.dropped.has(name));
  }

  /** A column's format_type after the plan runs (null: no such column). */
  private columnTypeAfter(table: string, column: string): string | null {
    const declared = this.desiredByName.get(table)?.columns.find((c) => c.name === column);
    if (declared) return formatTypeName(declared.type);
    if (this.desiredByName.get(table)?.dropColumns.includes(column)) return null;
    if (this.dropped.has(table)) return null;
    return this.current.tables.get(table)?.columns.find((c) => c.name === column)?.type ?? null;
  }

  /** The primary key after the plan runs: the declared one if any column is marked, else the existing one. */
  private primaryKeyAfter(table: string): string[] {
    const declared = this.desiredByName.get(table)?.columns.filter((c) => c.primaryKey).map((c) => c.name) ?? [];
    if (declared.length > 0) return declared;
    if (this.dropped.has(table)) return [];
    return this.current.tables.get(table)?.primaryKey ?? [];
  }

  /** Whether `table.column` is a valid foreign-key target after the plan: a one-column primary key, unique constraint or unique index. */
  private uniqueAfter(table: string, column: string): boolean {
    const pk = this.primaryKeyAfter(table);
    if (pk.length === 1 && pk[0] === column) return true;
    const desiredTable = this.desiredByName.get(table);
    const existing = this.dropped.has(table) ? undefined : this.current.tables.get(table);
    const declared = desiredTable?.columns.find((c) => c.name === column);
    if (declared ? declared.unique : existing?.uniqueConstraints.some((u) => sameList(u.columns, [column]))) return true;
    if (desiredTable?.indexes.some((i) => i.unique && sameList(i.columns, [column]))) return true;
    return existing?.indexes.some((i) => i.unique && !i.partial && i.columns !== null && sameList(i.columns, [column])) ?? false;
  }

  /** Whether `table.column` is unique in the catalog right now (so a new table may reference it inline). */
  private uniqueNow(table: string, column: string): boolean {
    const existing = this.current.tables.get(table);
    if (!existing || this.dropped.has(table)) return false;
    return (existing.primaryKey.length === 1 && existing.primaryKey[0] === column) ||
      existing.uniqueConstraints.some((u) => sameList(u.columns, [column])) ||
      existing.indexes.some((i) => i.unique && !i.partial && i.columns !== null && sameList(i.columns, [column]));
  }

  /** Whether a new table makes `column` unique in its CREATE TABLE (one-column primary key or `unique`). */
  private uniqueByColumns(table: string, column: string): boolean {
    const declared = this.desiredByName.get(table)?.columns ?? [];
    const pk = declared.filter((c) => c.primaryKey);
    return (pk.length === 1 && pk[0]!.name === column) || declared.some((c) => c.name === column && c.unique);
  }

  private checkReferences(table: DesiredTable): void {
    for (const column of table.columns) {
      const ref = column.references;
      if (!ref) continue;
      const path = `schema.tables.${table.name}.columns.${column.name}.references`;
      if (!this.tableExistsAfter(ref.table)) {
        this.issue(path, this.dropped.has(ref.table) ? `references table "${ref.table}", which this payload drops` : `references table "${ref.table}", which does not exist and is not declared`);
      } else if (this.columnTypeAfter(ref.table, ref.column) === null) {
        this.issue(path, `references column "${ref.table}.${ref.column}", which does not exist and is not declared`);
      } else if (!this.uniqueAfter(ref.table, ref.column)) {
        this.issue(path, `"${ref.table}.${ref.column}" is not a primary key or unique column, so it cannot be referenced`);
      }
    }
  }

  private checkIndexes(table: DesiredTable): void {
    for (const index of table.indexes) {
      index.columns.forEach((column, i) => {
        const type = this.columnTypeAfter(table.name, column);
        const path = `schema.tables.${table.name}.indexes.${index.name}.columns[${i}]`;
        if (type === null) this.issue(path, `column "${column}" does not exist in table "${table.name}" and is not declared`);
        else if ((index.method === 'hnsw' || index.method === 'ivfflat') && !type.startsWith('vector')) {
          this.issue(path, `${index.method} indexes need a vector column; "${column}" is ${type}`);
        }
      });
    }
  }

  /** Index names are schema-wide in Postgres: one per index, never a table's name. */
  private checkIndexNames(): void {
    const owners = new Map<string, string>();
    for (const table of this.current.tables.values()) {
      if (this.dropped.has(table.name)) continue;
      for (const index of table.indexes) owners.set(index.name, table.name);
    }
    const declared = new Map<string, string>();
    for (const table of this.desired.tables) {
      for (const index of table.indexes) {
        const path = `schema.tables.${table.name}.indexes.${index.name}`;
        const owner = owners.get(index.name);
        if (declared.has(index.name)) this.issue(path, `index name "${index.name}" is also declared on table "${declared.get(index.name)}"`);
        else if (owner !== undefined && owner !== table.name) this.issue(path, `index name "${index.name}" is already used by table "${owner}"`);
        else if (this.tableExistsAfter(index.name)) this.issue(path, `"${index.name}" is a table name; index names must differ from table names`);
        declared.set(index.name, table.name);
      }
    }
  }

  private alterTable(table: DesiredTable, existing: CatalogTableDetail): void {
    const t = table.name;
    const dropping = new Set(table.dropColumns.filter((c) => existing.columns.some((ec) => ec.name === c)));
    for (const column of dropping) {
      this.phases.dropColumns.push(policyGuard(t, column));
      this.phases.dropColumns.push(ddl(`ALTER TABLE ${q(t)} DROP COLUMN ${q(column)} CASCADE`, `Drop column ${t}.${column} and its data (indexes and constraints on it go too)`, true));
    }
    // Constraints over a dropped column vanish with it (CASCADE).
    const survives = (columns: readonly string[] | null) => columns === null || columns.every((c) => !dropping.has(c));
    const existingPk = survives(existing.primaryKey) ? existing.primaryKey : [];
    const finalPk = this.primaryKeyAfter(t);

    for (const column of table.columns) {
      const current = existing.columns.find((c) => c.name === column.name);
      if (!current) {
        this.phases.addColumns.push(ddl(`ALTER TABLE ${q(t)} ADD COLUMN ${columnSql(column, { inlinePrimaryKey: false, inlineReference: false })}`, `Add column ${t}.${column.name} (${dslTypeName(column.type)})`));
        if (column.references) this.addForeignKey(t, column.name, column.references);
        continue;
      }
      const c = `${t}.${column.name}`;
      const currentType = columnTypeOf(current);
      const currentTypeName = currentType ? dslTypeName(currentType) : current.type;
      if (current.type !== formatTypeName(column.type) || (column.type.serial && !isSerialColumn(current))) {
        this.refused.push(`Change type of ${c} from ${currentTypeName} to ${dslTypeName(column.type)} (refused: a type change can lose data; add a new column, copy the data, then drop the old one with _dropColumns)`);
        continue;
      }
      if (!finalPk.includes(column.name) && column.nullable !== current.nullable) {
        this.phases.alterColumns.push(column.nullable
          ? ddl(`ALTER TABLE ${q(t)} ALTER COLUMN ${q(column.name)} DROP NOT NULL`, `Allow NULL in ${c}`)
          : ddl(`ALTER TABLE ${q(t)} ALTER COLUMN ${q(column.name)} SET NOT NULL`, `Make ${c} NOT NULL`));
      }
      if (current.identity === '' && current.generated === '' && !column.type.serial) {
        const currentKey = current.default === null ? null : catalogDefaultKey(current.default);
        const desiredKey = column.default?.key ?? null;
        if (currentKey !== desiredKey) {
          this.phases.alterColumns.push(column.default
            ? ddl(`ALTER TABLE ${q(t)} ALTER COLUMN ${q(column.name)} SET DEFAULT ${column.default.sql}`, `Set the default of ${c} to ${column.default.sql}`)
            : ddl(`ALTER TABLE ${q(t)} ALTER COLUMN ${q(column.name)} DROP DEFAULT`, `Drop the default of ${c}`));
        }
      }
      if (!finalPk.includes(column.name)) {
        const uniques = existing.uniqueConstraints.filter((u) => sameList(u.columns, [column.name]));
        if (column.unique && uniques.length === 0) {
          this.phases.addConstraints.push(ddl(`ALTER TABLE ${q(t)} ADD UNIQUE (${q(column.name)})`, `Add a unique constraint on ${c}`));
        } else if (!column.unique) {
          for (const u of uniques) this.phases.dropConstraints.push(ddl(`ALTER TABLE ${q(t)} DROP CONSTRAINT ${q(u.name)}`, `Drop unique constraint ${u.name} on ${c}`));
        }
      }
      const fks = singleColumnForeignKeys(existing, column.name);
      const ref = column.references;
      const keep = ref && fks.find((fk) => fk.refTable === ref.table && fk.refColumns[0] === ref.column && fk.onDelete === ref.onDelete && fk.onUpdate === ref.onUpdate);
      for (const fk of fks) {
        if (fk !== keep) this.phases.dropForeignKeys.push(ddl(`ALTER TABLE ${q(t)} DROP CONSTRAINT ${q(fk.name)}`, `Drop foreign key ${fk.name} (${c} → ${fk.refTable}.${fk.refColumns[0]})`));
      }
      if (ref && !keep) this.addForeignKey(t, column.name, ref);
    }

    const declaredPk = table.columns.filter((c) => c.primaryKey).map((c) => c.name);
    if (declaredPk.length > 0 && !sameList(declaredPk, existingPk)) {
      if (existingPk.length > 0 && existing.primaryKeyName) {
        this.phases.dropConstraints.push(ddl(`ALTER TABLE ${q(t)} DROP CONSTRAINT ${q(existing.primaryKeyName)}`, `Drop the primary key of ${t} (${existingPk.join(', ')})`));
      }
      this.phases.addConstraints.push(ddl(`ALTER TABLE ${q(t)} ADD PRIMARY KEY (${list(declaredPk)})`, `Make (${declaredPk.join(', ')}) the primary key of ${t}`));
    }
  }

  private addForeignKey(table: string, column: string, ref: DesiredReference): void {
    this.phases.addForeignKeys.push(ddl(`ALTER TABLE ${q(table)} ADD FOREIGN KEY (${q(column)}) ${referenceSql(ref)}`, `Add foreign key ${table}.${column} → ${referenceText(ref)}`));
  }

  private planIndexes(table: DesiredTable, existing: CatalogTableDetail | undefined): void {
    for (const index of table.indexes) {
      const current = existing?.indexes.find((i) => i.name === index.name);
      const gone = current?.columns?.some((c) => table.dropColumns.includes(c)) ?? false;
      if (current && !gone) {
        if (indexMatches(index, current)) continue;
        if (current.constraint !== null) {
          this.issue(`schema.tables.${table.name}.indexes.${index.name}`, `"${index.name}" is the index of constraint "${current.constraint}" and differs from this definition; choose another index name`);
          continue;
        }
        this.phases.dropIndexes.push(ddl(`DROP INDEX ${q(index.name)}`, `Drop index ${index.name} to rebuild it with a new definition`));
      }
      this.phases.createIndexes.push(ddl(indexSql(table.name, index), `Create ${indexText(table.name, index)}`));
    }
  }

  private planSeed(table: DesiredTable): void {
    const marked = this.current.seedTables.has(table.name);
    if (table.seed === true && !marked) {
      this.phases.seeds.push({ sql: 'INSERT INTO butterbase.seed_tables (table_name) VALUES ($1) ON CONFLICT (table_name) DO NOTHING', params: [table.name], description: `Mark ${table.name} as seed data`, destructive: false });
    } else if (table.seed === false && marked) {
      this.phases.seeds.push({ sql: 'DELETE FROM butterbase.seed_tables WHERE table_name = $1', params: [table.name], description: `Unmark ${table.name} as seed data`, destructive: false });
    }
  }

  /** CREATE TABLE for new tables, referenced tables first; references that cannot be inline (cycles, targets made unique later) are added afterwards. */
  private createTables(tables: DesiredTable[]): void {
    const pending = new Map(tables.map((t) => [t.name, t]));
    const created = new Set<string>();
    const dependsOnPending = (t: DesiredTable) => t.columns.some((c) => c.references && c.references.table !== t.name && pending.has(c.references.table));
    while (pending.size > 0) {
      const next = [...pending.values()].find((t) => !dependsOnPending(t)) ?? pending.values().next().value!;
      pending.delete(next.name);
      this.createTable(next, created);
      created.add(next.name);
    }
  }

  private createTable(table: DesiredTable, created: ReadonlySet<string>): void {
    const pk = table.columns.filter((c) => c.primaryKey).map((c) => c.name);
    const lines: string[] = [];
    for (const column of table.columns) {
      const ref = column.references;
      const inlineReference = ref !== null && ((ref.table === table.name || created.has(ref.table))
        ? this.uniqueByColumns(ref.table, ref.column)
        : this.uniqueNow(ref.table, ref.column));
      lines.push(columnSql(column, { inlinePrimaryKey: pk.length === 1 && column.primaryKey, inlineReference }));
      if (ref && !inlineReference) this.addForeignKey(table.name, column.name, ref);
    }
    if (pk.length > 1) lines.push(`PRIMARY KEY (${list(pk)})`);
    const body = lines.length > 0 ? `(\n  ${lines.join(',\n  ')}\n)` : '()';
    this.phases.createTables.push(ddl(`CREATE TABLE ${q(table.name)} ${body}`, `Create table ${table.name} (${table.columns.map((c) => c.name).join(', ')})`));
  }
}
