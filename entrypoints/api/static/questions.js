// Questions: ask about all or some of the member's documents, read the answer as it
// streams in (server-sent events read with fetch: the question is a POST with the
// member's token, which EventSource cannot send), and open what it cites at its page.

import { call, postJson, problemOf, readEvents } from "./api.js";
import { $, clearAlert, el, showAlert } from "./dom.js";

function chosenDocuments() {
  return [...document.querySelectorAll("input.scope:checked")].map((box) => box.value);
}

export function showScope() {
  const chosen = chosenDocuments().length;
  $("scope").textContent = chosen
    ? `About the ${chosen} document${chosen > 1 ? "s" : ""} ticked above.`
    : "About all my documents.";
}

function showCitations(citations) {
  const list = $("citations");
  list.replaceChildren();
  for (const citation of citations) {
    const where = citation.page ? `${citation.filename}, page ${citation.page}`
      : citation.filename;
    const open = el("button", { type: "button", class: "link citation",
                                "data-page": citation.page ?? "",
                                text: `[${citation.label}] ${where}`,
                                onclick: () => openCitation(citation) });
    list.append(el("li", { value: String(citation.label) }, open,
                   el("blockquote", { text: citation.quote })));
  }
  $("citations-title").hidden = !citations.length;
}

export async function ask(event) {
  event.preventDefault();
  clearAlert();
  const question = $("question").value.trim();
  if (!question) return;
  const answer = $("answer");
  $("answer-box").hidden = false;
  answer.textContent = "";
  answer.setAttribute("aria-busy", "true");
  $("answer-kind").textContent = "";
  showCitations([]);
  $("ask").disabled = true;
  const body = { question };
  const chosen = chosenDocuments();
  if (chosen.length) body.document_ids = chosen;
  try {
    const response = await postJson("/api/v1/answers", body, { Accept: "text/event-stream" });
    if (!response.ok) throw await problemOf(response);
    await readEvents(response, ({ event, data }) => {
      const payload = JSON.parse(data);
      if (event === "delta") answer.textContent += payload.text;
      else if (event === "citations") showCitations(payload.citations);
      else if (event === "done") {
        answer.textContent = payload.answer;
        showCitations(payload.citations);
        $("answer-kind").textContent = payload.kind === "extracted"
          ? "Quoted from your documents (no language model is configured)."
          : `Written by ${payload.model} from your documents.`;
        answer.dataset.done = "true";
      } else if (event === "error") {
        throw new Error(payload.detail);
      }
      return true;
    });
  } catch (error) {
    showAlert(`No answer: ${error.message}`);
  } finally {
    answer.setAttribute("aria-busy", "false");
    $("ask").disabled = false;
  }
}

/** Opens the cited document at its page. A plain link cannot send the member's token, so
 *  the file is fetched, kept as a blob, and the tab (opened at once, while the click still
 *  counts as the member's) is sent to it with `#page=N` for the browser's PDF viewer. */
async function openCitation(citation) {
  clearAlert();
  const tab = window.open("", "_blank");
  try {
    const response = await call(`/api/v1/documents/${citation.document_id}/file`);
    if (!response.ok) throw await problemOf(response);
    const url = URL.createObjectURL(await response.blob());
    const target = citation.page ? `${url}#page=${citation.page}` : url;
    if (tab) {
      tab.opener = null;
      tab.location.href = target;
    } else {
      window.location.assign(target);
    }
    setTimeout(() => URL.revokeObjectURL(url), 5 * 60 * 1000);
  } catch (error) {
    if (tab) tab.close();
    showAlert(`Could not open ${citation.filename}: ${error.message}`);
  }
}

