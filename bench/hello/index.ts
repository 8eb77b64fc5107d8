/** The baseline for benchmarks: the cheapest possible Worker in the same runtime. */
export default {
  fetch(): Response {
    return new Response('hello');
  },
} satisfies ExportedHandler;
