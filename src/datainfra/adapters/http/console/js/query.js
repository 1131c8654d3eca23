// The query editor: SQL over the session's tables or Cypher over one graph dataset, with
// parameters, a read-only switch, the result as a typed grid (truncated, elapsed_ms), problems
// shown with their detail and position, this tab's history, and graph-shaped results drawn.

import { el, replace, field, status, clear } from "./dom.js";
import { get, post, paths } from "./api.js";
import { problemView } from "./problem.js";
import { cellText } from "./cells.js";
import { createEditor } from "./editor.js";
import { readHistory, remember } from "./history.js";
import { problemPosition } from "./position.js";
import { graphOfResult } from "./graphdraw.js";
import { graphPanel } from "./graphpanel.js";

const EXAMPLES = {
  sql: { query: "SELECT 1 AS one", parameters: "[]" },
  cypher: { query: "MATCH (n) RETURN n LIMIT 25", parameters: "{}" },
};

function resultGrid(result) {
  return el(
    "table",
    { class: "grid data", id: "result-grid" },
    el("caption", { class: "sr-only", text: "Query result" }),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        result.columns.map((c) =>
          el("th", { scope: "col" }, el("span", { text: c.name }), el("span", { class: "type", text: c.type })),
        ),
      ),
    ),
    el(
      "tbody",
      {},
      result.rows.map((row) =>
        el(
          "tr",
          {},
          row.map((cell) => el("td", { class: cell === null ? "null" : null, text: cellText(cell) })),
        ),
      ),
    ),
  );
}

export async function render(main, { sid }) {
  const session = await get(paths.session(sid));
  const datasets = (await get(paths.datasets(sid))).items;
  const graphs = datasets.filter((d) => d.kind === "graph");

  const language = el(
    "select",
    { id: "language" },
    el("option", { value: "sql", text: "SQL" }),
    el("option", { value: "cypher", text: "Cypher" }),
  );
  const graphSelect = el(
    "select",
    { id: "graph-dataset" },
    graphs.map((g) => el("option", { value: g.name, text: g.name })),
  );
  const graphField = field("Graph dataset", graphSelect);
  const textarea = el("textarea", { id: "query-text", rows: 8, "aria-label": "Query text" });
  const parameters = el("textarea", { id: "query-parameters", rows: 3, spellcheck: "false" });
  const readOnly = el("input", { type: "checkbox", id: "read-only", checked: true });
  const maxRows = el("input", { id: "max-rows", type: "number", min: 1, max: 10000, value: 1000 });
  const run = el("button", { type: "submit", id: "run-query", text: "Run (Ctrl+Enter)" });
  const meta = el("p", { id: "result-meta", "aria-live": "polite" });
  const output = el("div", { id: "query-output" });
  const graphHolder = el("div", { id: "result-graph-holder" });
  const historyList = el("ol", { id: "history", class: "history" });

  const form = el(
    "form",
    { class: "query-form", "aria-label": "Query" },
    el(
      "div",
      { class: "row" },
      field("Language", language),
      graphField,
      field("Max rows", maxRows),
      el("label", { class: "check" }, readOnly, el("span", { text: "Read-only" })),
    ),
    el("div", { class: "field wide" }, el("span", { id: "query-text-label", text: "Query" }), textarea),
    field("Parameters (JSON: a list $1, $2 … for SQL; an object for Cypher)", parameters, { class: "field wide" }),
    el("div", { class: "row" }, run),
  );
  replace(
    main,
    el("h1", {}, el("span", { class: "muted", text: "Query " }), el("span", { text: session.name })),
    el(
      "div",
      { class: "query-layout" },
      el("div", { class: "query-main" }, form, meta, output, graphHolder),
      el("aside", { class: "query-side" }, el("h2", { text: "History (this tab)" }), historyList),
    ),
  );

  const editor = createEditor(textarea, { onRun: () => form.requestSubmit() });
  const syncLanguage = () => {
    editor.setLanguage(language.value);
    graphField.hidden = language.value !== "cypher";
  };
  language.addEventListener("change", () => {
    if (!editor.value.trim() || Object.values(EXAMPLES).some((e) => e.query === editor.value))
      editor.value = EXAMPLES[language.value].query;
    if (!parameters.value.trim() || Object.values(EXAMPLES).some((e) => e.parameters === parameters.value))
      parameters.value = EXAMPLES[language.value].parameters;
    syncLanguage();
  });
  editor.value = EXAMPLES.sql.query;
  parameters.value = EXAMPLES.sql.parameters;
  syncLanguage();

  function drawHistory() {
    replace(
      historyList,
      readHistory(sid).map((entry) =>
        el(
          "li",
          {},
          el("button", {
            type: "button",
            class: "link",
            text: `${entry.language.toUpperCase()}${entry.dataset ? ` (${entry.dataset})` : ""}: ${entry.query.slice(0, 80)}`,
            onclick: () => {
              language.value = entry.language;
              if (entry.dataset) graphSelect.value = entry.dataset;
              editor.value = entry.query;
              parameters.value = entry.parameters;
              readOnly.checked = entry.read_only;
              syncLanguage();
              editor.focus();
            },
          }),
        ),
      ),
    );
    if (!historyList.firstChild) historyList.append(el("li", { class: "muted", text: "No queries yet in this tab." }));
  }

  function showGraphButton(result) {
    clear(graphHolder);
    const shape = graphOfResult(result);
    if (!shape.nodes.length && !shape.edges.length) return;
    const button = el("button", {
      type: "button",
      id: "show-as-graph",
      class: "secondary",
      text: `Show as graph (${shape.nodes.length} nodes, ${shape.edges.length} relationships)`,
    });
    button.addEventListener("click", () => {
      const drawing = el("div");
      replace(graphHolder, el("h2", { text: "Result as a graph" }), drawing);
      const panel = graphPanel({ id: "result-graph", into: drawing });
      panel.merge(shape.nodes, shape.edges);
    });
    graphHolder.append(button);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    editor.markPosition(null);
    const text = editor.value;
    let params;
    try {
      params = parameters.value.trim() ? JSON.parse(parameters.value) : undefined;
    } catch (error) {
      replace(output, problemView({ problem: { title: "Parameters are not JSON", detail: String(error.message) } }));
      return;
    }
    const body = {
      language: language.value,
      query: text,
      read_only: readOnly.checked,
      max_rows: Number(maxRows.value) || undefined,
    };
    if (params !== undefined) body.parameters = params;
    if (language.value === "cypher") body.dataset = graphSelect.value;
    remember(sid, {
      language: language.value,
      dataset: body.dataset,
      query: text,
      parameters: parameters.value,
      read_only: readOnly.checked,
    });
    drawHistory();
    run.disabled = true;
    replace(meta, "Running…");
    clear(graphHolder);
    try {
      const result = await post(`${paths.session(sid)}/query`, body);
      replace(
        meta,
        status(
          `${result.row_count} row(s) · elapsed_ms ${result.elapsed_ms} · truncated: ${result.truncated ? "yes (max_rows or the size budget cut the result)" : "no"}${result.affected !== null && result.affected !== undefined ? ` · affected ${result.affected}` : ""}`,
          result.truncated ? "warn" : "ok",
        ),
      );
      replace(output, el("div", { class: "grid-scroll" }, resultGrid(result)));
      showGraphButton(result);
    } catch (error) {
      const position = problemPosition(error.problem, text);
      editor.markPosition(position);
      replace(meta, status("The query failed.", "error"));
      replace(
        output,
        problemView(error),
        position
          ? el("p", { id: "problem-position", text: `At line ${position.line}, column ${position.column}.` })
          : null,
      );
    } finally {
      run.disabled = false;
    }
  });
  drawHistory();
  editor.refresh();
}
