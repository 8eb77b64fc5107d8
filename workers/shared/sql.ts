/**
 * SQL text helpers shared by every place that builds statements (schema DDL, RLS policies, REST).
 * Source: PostgreSQL docs, "Identifiers and Key Words" (quoted identifiers, doubled quotes).
 */

/**
 * Double-quotes an identifier, doubling any embedded quote. Callers validate names first
 * (`identifierPattern`); the doubling keeps even an unvalidated name from breaking out.
 */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
