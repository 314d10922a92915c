// The API's TypeScript client: `schema.d.ts` is generated from the OpenAPI document by
// openapi-typescript (`make ts-client`; not checked in), and openapi-fetch turns it into
// typed calls: every path, parameter, body and answer is checked by the compiler.
//
//   const api = navigatorClient("https://api.example.org", () => session.access_token);
//   const { data, error } = await api.GET("/api/v1/jobs/{job_id}",
//                                         { params: { path: { job_id } } });
//
// Errors come back as `error`, the problem+json body ({type, title, status, detail}).
import createClient, { type Middleware } from "openapi-fetch";

import type { components, operations, paths } from "./schema";

export type { components, operations, paths };
export type Schemas = components["schemas"];

/** A client of the API at `baseUrl` that sends `Authorization: Bearer <token()>`. */
export function navigatorClient(baseUrl: string, token: () => string | Promise<string>) {
  const client = createClient<paths>({ baseUrl });
  const bearer: Middleware = {
    async onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${await token()}`);
      return request;
    },
  };
  client.use(bearer);
  return client;
}
