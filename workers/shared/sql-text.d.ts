/** SQL files are bundled as text (wrangler `[[rules]] type = "Text"`). */
declare module '*.sql' {
  const text: string;
  export default text;
}
