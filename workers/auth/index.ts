/** The auth Worker: end-user auth (API.md §6). */
export default {
  fetch(): Response {
    return Response.json({ error: 'End-user auth is not available on this deployment yet.' }, { status: 501 });
  },
} satisfies ExportedHandler;
