// What a member's app does with the client; the compiler checks it against the schema,
// so a route or field renamed in the API breaks `make ts-client` here first.
import { navigatorClient, type Schemas } from "./index";

export async function firstDocumentStatus(token: string): Promise<string | null> {
  const api = navigatorClient("http://127.0.0.1:10000", () => token);
  const { data, error } = await api.GET("/api/v1/documents", { params: { query: { limit: 1 } } });
  if (error) throw new Error(error.detail);
  const first = data.items[0];
  if (!first) return null;
  const job = await api.GET("/api/v1/jobs/{job_id}", { params: { path: { job_id: first.job.id } } });
  const status: Schemas["JobStatus"] | undefined = job.data?.status;
  return status ?? null;
}

export async function ask(token: string, question: string): Promise<string[]> {
  const api = navigatorClient("http://127.0.0.1:10000", () => token);
  const found = await api.POST("/api/v1/search", { body: { query: question, max_chunks: 3 } });
  // JSON unless `Accept: text/event-stream` asks for the stream (a string to read as events)
  const { data: answer } = await api.POST("/api/v1/answers", { body: { question } });
  const pages = (found.data?.chunks ?? []).map((chunk) => `${chunk.filename} p. ${chunk.page}`);
  const text = typeof answer === "string" ? answer : answer?.answer;
  return [...pages, text ?? ""];
}
