/**
 * The docs behind `butterbase_docs`: the keyword search an agent's `query` runs, the cleaning of the
 * product docs copied from the seeds, and that the committed docs/product matches the seeds.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanOverview, defaultSeedsDir, extractSkills, productDocsDir, renderProductDocs } from '../scripts/docs-seeds.ts';
import { searchDocument } from '../workers/mcp/docs-search.ts';

describe('searchDocument', () => {
  const doc = [
    '# Schema',
    '',
    'Intro paragraph about tables.',
    '',
    '- Drops need `_drop`; otherwise SCHEMA_DESTRUCTIVE_CHANGE.',
    '  A type change is destructive too.',
    '- Indexes use btree by default.',
    '',
    '## Example',
    '',
    '```json',
    '{ "tables": {',
    '',
    '  "posts": { "columns": {} } } }',
    '```',
    '',
    '| code | meaning |',
    '| --- | --- |',
    '| SCHEMA_DESTRUCTIVE_CHANGE | drop without opt-in |',
  ].join('\n');

  const cases: { name: string; query: string; contains: string[]; excludes: string[] }[] = [
    { name: 'one list item with its continuation, under its heading', query: 'type change', contains: ['# Schema', 'A type change is destructive too.'], excludes: ['Indexes', 'Intro'] },
    { name: 'every block that matches, each heading once', query: 'destructive_change', contains: ['# Schema', '- Drops need', '## Example', '| SCHEMA_DESTRUCTIVE_CHANGE |'], excludes: ['"posts"'] },
    { name: 'a code fence stays whole across its blank line', query: 'posts', contains: ['```json\n{ "tables": {\n\n  "posts"'], excludes: ['Intro'] },
    { name: 'all words must match, in any case', query: 'INDEXES btree', contains: ['- Indexes use btree by default.'], excludes: ['Drops'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const found = searchDocument(doc, c.query);
      expect(found).not.toBeNull();
      for (const text of c.contains) expect(found).toContain(text);
      for (const text of c.excludes) expect(found).not.toContain(text);
    });
  }

  it('returns null when nothing matches', () => {
    expect(searchDocument(doc, 'kubernetes')).toBeNull();
    expect(searchDocument(doc, 'btree kubernetes')).toBeNull();
  });
});

describe('product docs from the seeds', () => {
  it('unwraps the crawl: text lines, table rows keep both bars, one file per skill', () => {
    const crawl = [
      '| --- | ||',
      '| name: storage | ||',
      '| description: Use for files | ||',
      '| --- | ||',
      '| # Storage | ||',
      '| Text line. | ||',
      '| | Action | Purpose | | ||',
      '| |---|---| | ||',
      '| | `upload_url` | presigned PUT | | ||',
      '| --- | ||',
      '| name: ai | ||',
      '| description: Use for AI | ||',
      '| --- | ||',
      '| # AI | ||',
      '| Last line. |',
      '@@ -1,2 +1,2 @@ diff noise | ||',
      '| noise after the first hunk | ||',
    ].join('\n');
    const skills = extractSkills(crawl);
    expect([...skills.keys()]).toEqual(['storage', 'ai']);
    expect(skills.get('storage')).toBe('_Use for files_\n\n# Storage\nText line.\n| Action | Purpose |\n|---|---|\n| `upload_url` | presigned PUT |\n');
    expect(skills.get('ai')).toBe('_Use for AI_\n\n# AI\nLast line.\n');
  });

  it('turns "Section titled" markers into headings, also when the text after one is the next heading', () => {
    const text = ['Intro', 'What it is', 'Section titled “What it is”A platform.', 'Not this', 'Section titled “Not this”Not that', 'Section titled “Not that”Body.'].join('\n');
    expect(cleanOverview(text)).toBe('Intro\n\n## What it is\n\nA platform.\n\n## Not this\n\n## Not that\n\nBody.\n');
  });

  it.skipIf(!existsSync(defaultSeedsDir))('docs/product is what scripts/docs-seeds.ts makes of the current seeds', async () => {
    const rendered = await renderProductDocs(defaultSeedsDir);
    expect(rendered.size).toBeGreaterThan(1);
    for (const [name, text] of rendered) {
      expect(await readFile(join(productDocsDir, name), 'utf8'), `${name} is stale: run npx tsx scripts/docs-seeds.ts`).toBe(text);
    }
  });
});
