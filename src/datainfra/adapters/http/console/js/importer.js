// Import by drag and drop (or a file picker, for the keyboard): the file goes up with
// XMLHttpRequest so a progress bar can show the bytes sent; the answer or the problem is shown.

import { el, replace, status } from "./dom.js";
import { upload } from "./api.js";
import { problemView } from "./problem.js";

const TYPES = {
  csv: "text/csv",
  ndjson: "application/x-ndjson",
  jsonl: "application/x-ndjson",
  json: "application/json",
  parquet: "application/vnd.apache.parquet",
  graphml: "application/graphml+xml",
  xml: "application/graphml+xml",
  zip: "application/zip",
};

export function contentTypeOf(file) {
  const extension = (file.name.split(".").pop() || "").toLowerCase();
  return TYPES[extension] || file.type || "application/octet-stream";
}

/**
 * A drop zone. `target(file)` answers {path, contentType} for a file it takes, or a string saying
 * why not; `describe(result)` turns a successful answer into a sentence.
 */
export function dropZone({ id, label, accept, target, describe, onDone }) {
  const input = el("input", { id: `${id}-file`, type: "file", accept, class: "sr-only-focusable" });
  const bar = el("progress", { id: `${id}-progress`, max: 1, value: 0, "aria-label": `${label}: bytes sent` });
  const sent = el("span", { class: "muted", id: `${id}-sent`, text: "" });
  const result = el("div", { id: `${id}-result`, "aria-live": "polite" });
  const zone = el(
    "section",
    { id, class: "dropzone", "aria-label": label },
    el("p", {}, el("strong", { text: label }), el("span", { text: ` — drop a ${accept} file here, or ` })),
    el("label", { class: "file-button" }, el("span", { text: "choose a file" }), input),
    el("div", { class: "progress-row" }, bar, sent),
    result,
  );

  async function send(file) {
    const where = target(file);
    if (typeof where === "string") {
      replace(result, problemView({ problem: { title: "Not importable here", detail: where } }));
      return;
    }
    bar.max = Math.max(file.size, 1);
    bar.value = 0;
    replace(result, status(`Sending ${file.name}…`));
    try {
      const answer = await upload(where.path, file, where.contentType, (loaded, total) => {
        bar.max = Math.max(total, 1);
        bar.value = loaded;
        sent.textContent = `${loaded} of ${total} bytes sent`;
      });
      replace(result, status(`${file.name}: ${describe(answer)}`, "ok"));
      if (onDone) onDone(answer);
    } catch (error) {
      replace(result, el("p", { text: `${file.name} was not imported:` }), problemView(error));
    }
  }

  input.addEventListener("change", () => {
    if (input.files && input.files[0]) send(input.files[0]);
    input.value = "";
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) send(file);
  });
  return zone;
}
