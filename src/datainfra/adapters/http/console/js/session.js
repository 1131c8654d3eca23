// One session: its datasets (kind, count, links), creating and dropping a dataset, exporting the
// session as a ZIP and importing one into it.

import { el, replace, field, status, confirmLoss } from "./dom.js";
import { get, post, del, download, paths } from "./api.js";
import { href } from "./router.js";
import { problemView } from "./problem.js";
import { countText, withCounts } from "./summaries.js";
import { dropZone } from "./importer.js";

const EXAMPLES = {
  tabular: {
    columns: [
      { name: "name", type: "text", nullable: false },
      { name: "age", type: "integer" },
    ],
    indexes: [{ columns: ["age"] }],
  },
  graph: {
    node_labels: [{ name: "Person", properties: [{ name: "name", type: "text" }] }],
    relationship_types: [{ name: "KNOWS", properties: [] }],
  },
};

function createForm(sid, onCreated) {
  const name = el("input", { id: "new-dataset-name", required: true });
  const kind = el(
    "select",
    { id: "new-dataset-kind" },
    el("option", { value: "tabular", text: "tabular" }),
    el("option", { value: "graph", text: "graph" }),
  );
  const schema = el("textarea", { id: "new-dataset-schema", rows: 8, spellcheck: "false" });
  schema.value = JSON.stringify(EXAMPLES.tabular, null, 2);
  kind.addEventListener("change", () => (schema.value = JSON.stringify(EXAMPLES[kind.value], null, 2)));
  const message = el("div", { "aria-live": "polite" });
  const form = el(
    "form",
    { class: "card", "aria-labelledby": "create-dataset-title" },
    el("h2", { id: "create-dataset-title", text: "Create a dataset" }),
    el("div", { class: "row" }, field("Name", name), field("Kind", kind)),
    field("Schema (JSON)", schema, { class: "field wide" }),
    el("button", { type: "submit", text: "Create dataset" }),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let parsed;
    try {
      parsed = JSON.parse(schema.value || "{}");
    } catch (error) {
      replace(message, problemView({ problem: { title: "Schema is not JSON", detail: String(error.message) } }));
      return;
    }
    try {
      const created = await post(paths.datasets(sid), { name: name.value, kind: kind.value, schema: parsed });
      replace(message, status(`Dataset "${created.name}" created.`));
      name.value = "";
      await onCreated();
    } catch (error) {
      replace(message, problemView(error));
    }
  });
  return form;
}

export async function render(main, { sid }) {
  const session = await get(paths.session(sid));
  const list = el("div");
  const message = el("div", { "aria-live": "polite" });

  async function drop(dataset) {
    const what = `${dataset.kind} dataset "${dataset.name}" and its ${countText(dataset)}`;
    if (!confirmLoss(`Delete the ${what}? This cannot be undone.`)) return;
    try {
      await del(paths.dataset(sid, dataset.id));
      replace(message, status(`Dataset "${dataset.name}" deleted.`));
      await refresh();
    } catch (error) {
      replace(message, problemView(error));
    }
  }

  async function refresh() {
    const datasets = await withCounts(sid, (await get(paths.datasets(sid))).items);
    if (!datasets.length) {
      replace(list, el("p", { class: "muted", text: "No datasets in this session yet." }));
      return;
    }
    const rows = datasets.map((d) =>
      el(
        "tr",
        {},
        el("th", { scope: "row" }, el("a", { href: href.dataset(sid, d.id), text: d.name })),
        el("td", { text: d.kind }),
        el("td", { text: countText(d) }),
        el(
          "td",
          {},
          d.kind === "graph"
            ? el("a", { class: "button-link", href: href.graph(sid, d.id), text: "Graph" })
            : el("a", { class: "button-link", href: href.table(sid, d.id), text: "Table" }),
          " ",
          el("button", {
            type: "button",
            class: "danger",
            "aria-label": `Delete dataset ${d.name}`,
            text: "Delete",
            onclick: () => drop(d),
          }),
        ),
      ),
    );
    replace(
      list,
      el(
        "table",
        { class: "grid" },
        el("caption", { class: "sr-only", text: "Datasets of this session" }),
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            ["Name", "Kind", "Count", "Actions"].map((h) => el("th", { scope: "col", text: h })),
          ),
        ),
        el("tbody", {}, rows),
      ),
    );
  }

  const exportButton = el("button", { type: "button", class: "secondary", text: "Export session (ZIP)" });
  exportButton.addEventListener("click", async () => {
    try {
      const size = await download(`${paths.session(sid)}/export`, null, `${session.name}.zip`);
      replace(message, status(`Session exported (${size} bytes).`));
    } catch (error) {
      replace(message, problemView(error));
    }
  });

  const importZone = dropZone({
    id: "session-import",
    label: "Import into this session",
    accept: ".zip",
    target: (file) =>
      /\.zip$/i.test(file.name)
        ? { path: `${paths.session(sid)}/import`, contentType: "application/zip" }
        : "A session takes a ZIP archive (as the session export writes); drop a CSV, NDJSON, Parquet or GraphML file onto a dataset's page.",
    describe: (answer) => `imported ${JSON.stringify(answer)}`,
    onDone: refresh,
  });

  replace(
    main,
    el("h1", {}, el("span", { class: "muted", text: "Session " }), el("span", { text: session.name })),
    session.description ? el("p", { text: session.description }) : null,
    el(
      "div",
      { class: "row" },
      el("a", { class: "button-link", href: href.query(sid), text: "Open the query editor" }),
      exportButton,
    ),
    message,
    el("h2", { text: "Datasets" }),
    list,
    createForm(sid, refresh),
    importZone,
  );
  await refresh();
}
