// The member's page: sign in, upload documents and follow them, see, delete and retry
// them; questions are in questions.js. Text from the service (file names, answers,
// errors) is only ever set as text, never as HTML.

import { call, json, problemOf, readEvents, upload, whenSignedOut } from "./api.js";
import { $, clearAlert, el, showAlert, size, sleep } from "./dom.js";
import { ask, showScope } from "./questions.js";
import {
  config, forgetDevToken, member, sendSignInLink, signInWithPassword, signOut,
  takeTokenFromUrl, usesSupabase,
} from "./session.js";

const TERMINAL = new Set(["complete", "failed"]);
const STATUS_WORDS = {
  uploaded: "Waiting to be read",
  parsing: "Reading",
  parsed: "Read",
  parse_validated: "Checked",
  chunking: "Cutting into passages",
  chunks_stored: "Passages stored",
  embedding_queued: "Waiting to be indexed",
  embedding_in_progress: "Indexing",
  embeddings_stored: "Indexed",
  complete: "Ready",
  failed: "Failed",
};
const POLL_MS = 1000;
/** The longest wait between two askings while the API does not answer. */
const MAX_POLL_MS = 30000;
const MAX_STREAMS = 3;

const rows = new Map(); // document id -> {document, job, row}
const watched = new Set(); // job ids followed right now
const uploads = new Map(); // job id -> shows the job on its upload's line
let streams = 0; // job event streams open now
let nextPage = null; // query string of the next page of documents, or null

// -- a job's progress --------------------------------------------------------------------

function describe(job, node) {
  node.replaceChildren();
  node.dataset.status = job.status;
  const words = el("span", { class: `status ${job.status}`, text: STATUS_WORDS[job.status]
    || job.status });
  node.append(words);
  if (!TERMINAL.has(job.status)) {
    node.append(el("progress", { max: "1", value: String(job.progress),
                                 "aria-label": `Processing, ${Math.round(job.progress * 100)}%` }));
  }
  if (job.status === "failed") {
    const stage = job.failed_stage ? ` (at the ${job.failed_stage} step)` : "";
    node.append(el("span", { class: "reason",
                             text: `${job.last_error || "no reason given"}${stage}` }));
  }
}

/** Follows a job to its end: its server-sent events, else (an older API, a proxy that
 *  buffers, or already MAX_STREAMS streams open: a browser opens at most six connections
 *  to one server, and uploads and questions need some) by asking for it every second.
 *  A stream cut off or an answer that does not come (a redeploy, a 503, the network) is
 *  not the end: it asks again, less often, until the job ends or is gone. */
async function follow(jobId, onJob) {
  if (watched.has(jobId)) return;
  watched.add(jobId);
  let last = null;
  try {
    if (streams < MAX_STREAMS) {
      streams += 1;
      try {
        const response = await call(`/api/v1/jobs/${jobId}/events`,
                                    { headers: { Accept: "text/event-stream" } });
        if (response.ok && (response.headers.get("content-type") || "")
          .startsWith("text/event-stream")) {
          await readEvents(response, ({ event, data }) => {
            if (event !== "status") return true;
            last = JSON.parse(data);
            onJob(last);
            return !TERMINAL.has(last.status);
          });
        }
      } catch (error) {
        if (!passing(error)) throw error;  // the asking below carries on
      } finally {
        streams -= 1;
      }
    }
    let wait = last ? POLL_MS : 0;
    while (!last || !TERMINAL.has(last.status)) {
      if (wait) await sleep(wait);
      try {
        last = await json(`/api/v1/jobs/${jobId}`);
        onJob(last);
        wait = POLL_MS;
      } catch (error) {
        if (!passing(error)) throw error;
        wait = Math.min(Math.max(wait, POLL_MS) * 2, MAX_POLL_MS);
      }
    }
  } catch (error) {
    if (error.status !== 404) showAlert(`Lost track of a document's progress: ${error.message}`);
  } finally {
    watched.delete(jobId);
  }
}

/** An error worth asking again after: the network, or the service away for a moment
 *  (5xx, 429); not a job that is gone (404) or a member no longer signed in (401). */
function passing(error) {
  return error.status === undefined || error.status >= 500 || error.status === 429;
}

function jobChanged(job) {
  const shown = uploads.get(job.id);
  if (shown) shown(job);
  const entry = rows.get(job.document_id);
  if (entry) {
    entry.job = job;
    renderRow(entry);
  }
}

// -- the documents -----------------------------------------------------------------------

function renderRow(entry) {
  const { document: doc, job } = entry;
  const name = el("td");
  name.append(el("span", { class: "filename", text: doc.filename }));
  const status = el("td", { class: "job" });
  describe(job, status);
  const actions = el("td", { class: "actions" });
  if (job.status === "failed") {
    actions.append(el("button", { type: "button", class: "quiet",
                                  "aria-label": `Retry ${doc.filename}`, text: "Retry",
                                  onclick: () => retry(entry) }));
  }
  actions.append(el("button", { type: "button", class: "danger",
                                "aria-label": `Delete ${doc.filename}`, text: "Delete",
                                onclick: () => remove(entry) }));
  const pick = el("input", { type: "checkbox", class: "scope", value: doc.id,
                             "aria-label": `Ask about ${doc.filename}`,
                             checked: entry.row ? entry.row.querySelector(".scope").checked
                               : false,
                             onchange: showScope });
  const row = el("tr", { "data-document": doc.id }, el("td", {}, pick), name,
                 el("td", { text: size(doc.size_bytes) }), status, actions);
  if (entry.row) entry.row.replaceWith(row);
  entry.row = row;
  return row;
}

function showDocument(doc, job, { first = false } = {}) {
  let entry = rows.get(doc.id);
  if (entry) {
    entry.job = job;
    renderRow(entry);
  } else {
    entry = { document: doc, job, row: null };
    rows.set(doc.id, entry);
    const row = renderRow(entry);
    if (first) $("document-rows").prepend(row);
    else $("document-rows").append(row);
  }
  $("documents").hidden = false;
  $("no-documents").hidden = true;
  if (!TERMINAL.has(job.status)) follow(job.id, jobChanged);
}

async function loadDocuments(query = "limit=20") {
  const page = await json(`/api/v1/documents?${query}`);
  for (const { document: doc, job } of page.items) showDocument(doc, job);
  if (page.next_cursor) nextPage = `limit=20&cursor=${encodeURIComponent(page.next_cursor)}`;
  else if (page.next_offset != null) nextPage = `limit=20&offset=${page.next_offset}`;
  else nextPage = null;
  $("more").hidden = !nextPage;
  if (!rows.size) {
    $("documents").hidden = true;
    $("no-documents").hidden = false;
  }
}

async function refreshDocuments() {
  rows.clear();
  $("document-rows").replaceChildren();
  await loadDocuments();
  showScope();
  await showUsage();
}

async function showUsage() {
  // What the member uses of each limit (GET /api/v1/me/usage): documents and bytes kept,
  // questions asked in the current window.
  const response = await call("/api/v1/me/usage");
  if (!response.ok) return;
  const { documents, bytes, answers } = await response.json();
  const parts = [];
  if (documents) parts.push(`${documents.used} of ${documents.limit} documents`);
  if (bytes) parts.push(`${size(bytes.used)} of ${size(bytes.limit)} stored`);
  if (answers) {
    const minutes = Math.round((answers.window_seconds || 0) / 60);
    parts.push(`${answers.used} of ${answers.limit} questions`
      + (minutes ? ` in the last ${minutes} minutes` : ""));
  }
  $("usage").textContent = parts.length ? `You use ${parts.join(", ")}.` : "";
  $("usage").hidden = !parts.length;
}

async function remove(entry) {
  if (!window.confirm(`Delete ${entry.document.filename}? Its passages go with it.`)) return;
  clearAlert();
  try {
    await json(`/api/v1/documents/${entry.document.id}`, { method: "DELETE" });
    entry.row.remove();
    rows.delete(entry.document.id);
    if (!rows.size) {
      $("documents").hidden = true;
      $("no-documents").hidden = false;
    }
    showScope();
    await showUsage();
  } catch (error) {
    showAlert(`Could not delete ${entry.document.filename}: ${error.message}`);
  }
}

async function retry(entry) {
  clearAlert();
  try {
    const response = await call(`/api/v1/jobs/${entry.job.id}/retry`, { method: "POST" });
    if (!response.ok) throw await problemOf(response);
    showDocument(entry.document, await response.json());
  } catch (error) {
    showAlert(`Could not retry ${entry.document.filename}: ${error.message}`);
  }
}

// -- uploads ---------------------------------------------------------------------------------

async function uploadOne(file) {
  const status = el("div", { class: "state" }, el("span", { class: "status", text: "Sending" }));
  const bar = el("progress", { max: "1", value: "0", "aria-label": `Sending ${file.name}` });
  const item = el("li", { "data-file": file.name }, el("span", { class: "filename",
                                                                  text: file.name }),
                  bar, status);
  $("uploads").append(item);
  const failed = (reason) => {
    item.dataset.status = "failed";
    bar.remove();
    status.replaceChildren(el("span", { class: "status failed", text: "Not uploaded" }),
                           el("span", { class: "reason", text: reason }));
  };
  if (config.uploadMaxBytes && file.size > config.uploadMaxBytes) {
    failed(`larger than the ${size(config.uploadMaxBytes)} limit: upload a smaller file `
      + "or split it");
    return;
  }
  try {
    const result = await upload(file, (sent) => { bar.value = sent; });
    bar.remove();
    const track = (job) => { describe(job, status); item.dataset.status = job.status; };
    track(result.job);
    if (result.duplicate) {
      status.append(el("span", { class: "hint",
                                 text: "uploaded before: this is the same document" }));
    }
    uploads.set(result.job.id, track);
    showDocument(result.document, result.job, { first: true });
    showUsage();
  } catch (error) {
    failed(error.message);
  }
}

async function uploadChosen(event) {
  event.preventDefault();
  clearAlert();
  const files = [...$("files").files];
  if (!files.length) {
    showAlert("Choose one or more files to upload first.");
    $("files").focus();
    return;
  }
  $("upload-form").reset();
  await Promise.all(files.map(uploadOne));
}

// -- signing in ----------------------------------------------------------------------------

function showSignIn(message = "") {
  $("member").hidden = true;
  $("who").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-supabase").hidden = !usesSupabase;
  $("sign-in-local").hidden = usesSupabase;
  if (message) showAlert(message);
}

function wireSignIn() {
  const status = $("sign-in-status");
  $("password-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    clearAlert();
    status.textContent = "Signing in ...";
    try {
      await signInWithPassword($("email").value, $("password").value);
      window.location.reload();
    } catch (error) {
      status.textContent = "";
      showAlert(`Not signed in: ${error.message}`);
    }
  });
  $("send-link").addEventListener("click", async () => {
    clearAlert();
    if (!$("email").reportValidity()) return;
    try {
      await sendSignInLink($("email").value);
      status.textContent = `A sign-in link is on its way to ${$("email").value}.`;
    } catch (error) {
      showAlert(`No link sent: ${error.message}`);
    }
  });
}

async function start() {
  const error = takeTokenFromUrl();
  wireSignIn();
  whenSignedOut((detail) => {
    forgetDevToken();
    showSignIn(`Please sign in again${detail ? ` (${detail})` : ""}.`);
  });
  $("sign-out").addEventListener("click", async () => {
    await signOut();
    window.location.reload();
  });
  const who = member();
  if (!who) {
    showSignIn(error ? `Not signed in: ${error}` : "");
    return;
  }
  $("who-name").textContent = `Signed in as ${who.email || who.id}`;
  $("who").hidden = false;
  $("member").hidden = false;
  $("upload-form").addEventListener("submit", uploadChosen);
  $("ask-form").addEventListener("submit", (event) => ask(event).then(showUsage));
  $("refresh").addEventListener("click", () => refreshDocuments().catch(
    (e) => showAlert(`Could not list your documents: ${e.message}`)));
  $("more").addEventListener("click", () => nextPage && loadDocuments(nextPage).catch(
    (e) => showAlert(`Could not list more documents: ${e.message}`)));
  try {
    await refreshDocuments();
  } catch (e) {
    if (e.status !== 401) showAlert(`Could not list your documents: ${e.message}`);
  }
  document.body.dataset.ready = "true";
}

start();
