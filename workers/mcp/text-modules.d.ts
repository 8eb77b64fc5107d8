/** Markdown files are bundled as text (wrangler `[[rules]] type = "Text"` in workers/mcp/wrangler.toml). */
declare module '*.md' {
  const text: string;
  export default text;
}
