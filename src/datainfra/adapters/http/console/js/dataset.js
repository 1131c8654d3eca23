// One dataset: its schema, count(s) and indexes; importing a file into it; dropping it.

import { el, replace, confirmLoss } from "./dom.js";
import { get, del, paths } from "./api.js";
import { href } from "./router.js";
import { problemView } from "./problem.js";
import { countText } from "./summaries.js";
import { dropZone, contentTypeOf } from "./importer.js";

function columnsTable(caption, columns) {
  return el(
    "table",
    { class: "grid compact" },
    el("caption", { text: caption }),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ["Name", "Type", "Nullable", "Default"].map((h) => el("th", { scope: "col", text: h })),
      ),
    ),
    el(
      "tbody",
      {},
      (columns || []).map((c) =>
        el(
          "tr",
          {},
          el("th", { scope: "row", text: c.name }),
          el("td", { text: c.type }),
          el("td", { text: c.nullable === false ? "no" : "yes" }),
          el("td", { text: c.default === undefined ? "" : JSON.stringify(c.default) }),
        ),
      ),
    ),
  );
}

function indexList(indexes) {
  if (!indexes || !indexes.length) return el("p", { class: "muted", text: "No indexes." });
  return el(
    "ul",
    { class: "indexes" },
    indexes.map((i) =>
      el("li", {
        text: `${(i.columns || i.properties || []).join(", ")}${i.unique ? " (unique)" : ""}${i.name ? ` — ${i.name}` : ""}`,
      }),
    ),
  );
}

function tabularSchema(schema) {
  return [
    columnsTable("Columns", schema.columns),
    el("p", { text: `Primary key: ${(schema.primary_key || []).join(", ") || "(none)"}` }),
    el("h3", { text: "Indexes" }),
    indexList(schema.indexes),
  ];
}

function graphSchema(schema) {
  const parts = [el("p", { text: `Strict: ${schema.strict ? "yes" : "no"}` })];
  for (const label of schema.node_labels || []) {
    parts.push(columnsTable(`Label ${label.name}: properties`, label.properties));
    parts.push(el("h3", { text: `Indexes on ${label.name}` }), indexList(label.indexes));
  }
  for (const type of schema.relationship_types || []) {
    parts.push(columnsTable(`Relationship ${type.name}: properties`, type.properties));
  }
  return parts;
}

export async function render(main, { sid, did }) {
  const dataset = await get(paths.dataset(sid, did));
  const base = paths.dataset(sid, did);
  const counts = el("p", { id: "dataset-counts", text: `Count: ${countText(dataset)}` });
  const message = el("div", { "aria-live": "polite" });

  async function refreshCounts() {
    const fresh = await get(base);
    let text = `Count: ${countText(fresh)}`;
    if (fresh.kind === "graph") {
      try {
        const edges = await get(`${base}/edges`, { limit: 0, count: "exact" });
        text += `, ${edges.total} relationships`;
      } catch (_) {
        /* the node count alone */
      }
    }
    counts.textContent = text;
  }

  const drop = el("button", { type: "button", class: "danger", text: "Delete dataset" });
  drop.addEventListener("click", async () => {
    if (
      !confirmLoss(
        `Delete the ${dataset.kind} dataset "${dataset.name}" and its ${countText(dataset)}? This cannot be undone.`,
      )
    )
      return;
    try {
      await del(base);
      location.hash = href.session(sid);
    } catch (error) {
      replace(message, problemView(error));
    }
  });

  const tabular = dataset.kind === "tabular";
  const accepts = tabular ? ".csv,.ndjson,.jsonl,.json,.parquet" : ".graphml,.json";
  const importZone = dropZone({
    id: "dataset-import",
    label: `Import into ${dataset.name}`,
    accept: accepts,
    target: (file) => {
      if (/\.zip$/i.test(file.name)) return "A ZIP archive is a whole session: drop it onto the session's page.";
      return { path: `${base}/records`, contentType: contentTypeOf(file) };
    },
    describe: (answer) =>
      `inserted ${answer.inserted ?? 0}, updated ${answer.updated ?? 0}, ignored ${answer.ignored ?? 0}`,
    onDone: () => refreshCounts().catch(() => {}),
  });

  replace(
    main,
    el("h1", {}, el("span", { class: "muted", text: `${dataset.kind} dataset ` }), el("span", { text: dataset.name })),
    el(
      "div",
      { class: "row" },
      tabular
        ? el("a", { class: "button-link", href: href.table(sid, did), text: "Open the table" })
        : el("a", { class: "button-link", href: href.graph(sid, did), text: "Open the graph" }),
      el("a", { class: "button-link", href: href.query(sid), text: "Query" }),
      drop,
    ),
    message,
    counts,
    el("h2", { text: "Schema" }),
    tabular ? tabularSchema(dataset.schema) : graphSchema(dataset.schema),
    importZone,
  );
  await refreshCounts().catch((error) => replace(message, problemView(error)));
}
