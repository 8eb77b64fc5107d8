/**
 * Keyword search over a Markdown document for `butterbase_docs` `query` (pure, so it is unit-tested on its own).
 */

/**
 * The blocks of `text` that contain every word of `query` (case-insensitive), each under its heading.
 * A block is a paragraph, a code fence, a table or one top-level list item, so an answer stays short.
 * @returns the matching blocks, or null when none matches.
 */
export function searchDocument(text: string, query: string): string | null {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const blocks: { heading: string; text: string }[] = [];
  let heading = '';
  let current: string[] = [];
  let inCode = false;
  const flush = () => {
    if (current.join('').trim() !== '') blocks.push({ heading, text: current.join('\n') });
    current = [];
  };
  for (const line of text.split('\n')) {
    if (inCode) {
      current.push(line);
      if (line.startsWith('```')) inCode = false;
      continue;
    }
    if (line.startsWith('```')) {
      flush();
      inCode = true;
      current.push(line);
    } else if (/^#{1,6} /.test(line)) {
      flush();
      heading = line;
    } else if (line.trim() === '') {
      flush();
    } else if (/^(- |\* |\d+\. )/.test(line)) {
      flush();
      current.push(line);
    } else {
      current.push(line);
    }
  }
  flush();
  const matches = blocks.filter((block) => words.every((word) => block.text.toLowerCase().includes(word)));
  if (matches.length === 0) return null;
  const out: string[] = [];
  let lastHeading: string | undefined;
  for (const block of matches) {
    if (block.heading !== lastHeading && block.heading !== '') out.push(block.heading);
    lastHeading = block.heading;
    out.push(block.text.trim());
  }
  return out.join('\n\n');
}
