// The table view: server-side pages (following the answer's `next` cursor), sort by clicking a
// column, per-column filters with the API's operators, column selection, inline edit of a cell,
// row delete, and exports of the same filtered, sorted, selected view.

import { el, replace, clear, status, confirmLoss } from "./dom.js";
import { get, call, download, paths } from "./api.js";
import { problemView } from "./problem.js";
import { cellText } from "./cells.js";
import { href } from "./router.js";
import { parseInput } from "./values.js";

const OPERATORS = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", "like", "ilike", "is"];
const RESERVED = new Set([
  "select",
  "sort",
  "limit",
  "offset",
  "cursor",
  "count",
  "all",
  "format",
  "where",
  "label",
  "type",
]);
const PAGE_SIZE = 25;
const EXPORTS = [
  ["csv", "CSV"],
  ["json", "JSON"],
  ["parquet", "Parquet"],
];

export function recordKeyPath(keyColumns, record) {
  return keyColumns.map((c) => encodeURIComponent(cellText(record[c])).replace(/,/g, "%2C")).join(",");
}

export async function render(main, { sid, did }) {
  const dataset = await get(paths.dataset(sid, did));
  const base = paths.dataset(sid, did);
  if (dataset.kind !== "tabular") {
    location.hash = href.graph(sid, did);
    return;
  }
  const schemaColumns = dataset.schema.columns || [];
  const keyColumns =
    dataset.schema.primary_key && dataset.schema.primary_key.length ? dataset.schema.primary_key : ["id"];
  const columns = [...schemaColumns];
  for (const key of keyColumns) {
    if (!columns.some((c) => c.name === key)) columns.unshift({ name: key, type: "integer", nullable: false });
  }
  const typeOf = Object.fromEntries(columns.map((c) => [c.name, c.type]));
  const state = { sort: null, filters: {}, visible: new Set(columns.map((c) => c.name)), pages: [], page: 0 };

  const message = el("div", { id: "table-message", "aria-live": "polite" });
  const info = el("p", { id: "page-info", class: "muted", "aria-live": "polite" });
  const gridHolder = el("div", { class: "grid-scroll" });
  const prev = el("button", { type: "button", id: "prev-page", text: "Previous page" });
  const next = el("button", { type: "button", id: "next-page", text: "Next page" });

  function selectedColumns() {
    return columns.filter((c) => state.visible.has(c.name) || keyColumns.includes(c.name));
  }

  function viewQuery() {
    const query = {};
    const selected = selectedColumns();
    if (selected.length !== columns.length) query.select = selected.map((c) => c.name).join(",");
    if (state.sort) query.sort = `${state.sort.column}:${state.sort.direction}`;
    for (const [column, { op, value }] of Object.entries(state.filters)) {
      query[RESERVED.has(column) ? `where.${column}` : column] = `${op}:${value}`;
    }
    return query;
  }

  async function load(resetPaging = true) {
    if (resetPaging) {
      state.pages = [null];
      state.page = 0;
    }
    const pageUrl = state.pages[state.page];
    try {
      const page = pageUrl
        ? await get(pageUrl)
        : await get(`${base}/records`, { ...viewQuery(), limit: PAGE_SIZE, count: "exact" });
      if (page.total !== null && page.total !== undefined) state.total = page.total;
      state.pages[state.page + 1] = page.next || undefined;
      drawGrid(page.items);
      const first = state.page * PAGE_SIZE + (page.items.length ? 1 : 0);
      const last = state.page * PAGE_SIZE + page.items.length;
      info.textContent = `Rows ${first} to ${last}${state.total !== undefined ? ` of ${state.total}` : ""} (page ${state.page + 1})`;
      prev.disabled = state.page === 0;
      next.disabled = !page.next;
      clear(message);
    } catch (error) {
      replace(message, problemView(error));
    }
  }

  function sortButton(column) {
    const active = state.sort && state.sort.column === column.name;
    const arrow = active ? (state.sort.direction === "asc" ? " ▲" : " ▼") : "";
    return el("button", {
      type: "button",
      class: "sort",
      "aria-label": `Sort by ${column.name}${active ? (state.sort.direction === "asc" ? ", now ascending" : ", now descending") : ""}`,
      text: `${column.name}${arrow}`,
      onclick: () => {
        state.sort =
          active && state.sort.direction === "asc"
            ? { column: column.name, direction: "desc" }
            : { column: column.name, direction: "asc" };
        load();
      },
    });
  }

  function filterCell(column) {
    const current = state.filters[column.name] || { op: "eq", value: "" };
    const op = el(
      "select",
      { "aria-label": `Operator for ${column.name}`, class: "filter-op", "data-column": column.name },
      OPERATORS.map((o) => el("option", { value: o, text: o, selected: o === current.op })),
    );
    const value = el("input", {
      "aria-label": `Filter value for ${column.name}`,
      class: "filter-value",
      "data-column": column.name,
      value: current.value,
      placeholder: "filter",
    });
    value.addEventListener("keydown", (event) => {
      if (event.key === "Enter") applyFilters();
    });
    return el("th", { scope: "col" }, el("div", { class: "filter" }, op, value));
  }

  function applyFilters() {
    state.filters = {};
    for (const input of gridHolder.querySelectorAll("input.filter-value")) {
      const column = input.dataset.column;
      const op = gridHolder.querySelector(`select.filter-op[data-column="${CSS.escape(column)}"]`).value;
      if (input.value !== "") state.filters[column] = { op, value: input.value };
    }
    load();
  }

  function editCell(td, record, column) {
    if (td.querySelector("input")) return;
    const original = record[column.name];
    const input = el("input", {
      "aria-label": `New value for ${column.name}`,
      class: "cell-input",
      value: original === null || original === undefined ? "" : cellText(original),
    });
    const hint = el("span", { class: "sr-only", text: "Enter saves, Escape cancels" });
    replace(td, input, hint);
    input.focus();
    input.select();
    const cancel = () => {
      replace(td, cellText(original));
      td.classList.toggle("null", original === null || original === undefined);
      td.focus();
    };
    input.addEventListener("keydown", async (event) => {
      if (event.key === "Escape") return cancel();
      if (event.key !== "Enter") return;
      event.preventDefault();
      const error = td.querySelector(".cell-error");
      if (error) error.remove();
      const value = parseInput(input.value, typeOf[column.name]);
      try {
        const answer = await call("PATCH", `${base}/records/${recordKeyPath(keyColumns, record)}`, {
          body: { [column.name]: value },
          extraHeaders: { "Content-Type": "application/merge-patch+json" },
        });
        Object.assign(record, answer.body || { [column.name]: value });
        replace(td, cellText(record[column.name]));
        td.classList.toggle("null", record[column.name] === null);
        td.focus();
      } catch (failure) {
        td.append(problemView(failure, "cell-error"));
        input.focus();
      }
    });
  }

  async function deleteRow(tr, record) {
    const key = keyColumns.map((c) => `${c}=${cellText(record[c])}`).join(", ");
    if (!confirmLoss(`Delete the row ${key} from "${dataset.name}"? This cannot be undone.`)) return;
    try {
      await call("DELETE", `${base}/records/${recordKeyPath(keyColumns, record)}`);
      replace(message, status(`Row ${key} deleted.`));
      await load(false);
    } catch (error) {
      tr.lastChild.append(problemView(error, "cell-error"));
    }
  }

  function drawGrid(items) {
    const shown = selectedColumns();
    const head = el(
      "thead",
      {},
      el(
        "tr",
        {},
        shown.map((c) => {
          const sorted =
            state.sort && state.sort.column === c.name
              ? state.sort.direction === "asc"
                ? "ascending"
                : "descending"
              : null;
          return el(
            "th",
            { scope: "col", "aria-sort": sorted },
            sortButton(c),
            el("span", { class: "type", text: c.type }),
          );
        }),
        el("th", { scope: "col", text: "Row" }),
      ),
      el(
        "tr",
        { class: "filters" },
        shown.map(filterCell),
        el("th", {}, el("button", { type: "button", id: "apply-filters", text: "Filter", onclick: applyFilters })),
      ),
    );
    const body = el(
      "tbody",
      {},
      items.map((record) => {
        const tr = el("tr");
        for (const column of shown) {
          const value = record[column.name];
          const editable = !keyColumns.includes(column.name);
          const td = el("td", {
            class: value === null || value === undefined ? "null" : null,
            "data-column": column.name,
            tabindex: editable ? 0 : null,
            title: editable ? "Double-click or Enter to edit" : null,
          });
          td.textContent = cellText(value);
          if (editable) {
            td.addEventListener("dblclick", () => editCell(td, record, column));
            td.addEventListener("keydown", (event) => {
              if (event.key === "Enter" && event.target === td) editCell(td, record, column);
            });
          }
          tr.append(td);
        }
        const key = keyColumns.map((c) => cellText(record[c])).join(", ");
        tr.append(
          el(
            "td",
            { class: "actions" },
            el("button", {
              type: "button",
              class: "danger small",
              "aria-label": `Delete row ${key}`,
              text: "Delete",
              onclick: () => deleteRow(tr, record),
            }),
          ),
        );
        return tr;
      }),
    );
    replace(
      gridHolder,
      el(
        "table",
        { class: "grid data", id: "records" },
        el("caption", { class: "sr-only", text: `Records of ${dataset.name}` }),
        head,
        body,
      ),
    );
  }

  prev.addEventListener("click", () => {
    if (state.page > 0) {
      state.page -= 1;
      load(false);
    }
  });
  next.addEventListener("click", () => {
    if (state.pages[state.page + 1]) {
      state.page += 1;
      load(false);
    }
  });

  const picker = el(
    "details",
    { class: "columns-picker" },
    el("summary", { text: "Columns" }),
    el(
      "fieldset",
      {},
      el("legend", { text: "Columns to show" }),
      columns.map((c) => {
        const box = el("input", {
          type: "checkbox",
          checked: true,
          disabled: keyColumns.includes(c.name),
          "data-column": c.name,
        });
        box.addEventListener("change", () => {
          if (box.checked) state.visible.add(c.name);
          else state.visible.delete(c.name);
          load();
        });
        return el("label", { class: "check" }, box, el("span", { text: c.name }));
      }),
    ),
  );

  const exports = el(
    "div",
    { class: "row", role: "group", "aria-label": "Export this view" },
    el("span", { class: "muted", text: "Export this view:" }),
    EXPORTS.map(([format, label]) =>
      el("button", {
        type: "button",
        class: "secondary",
        id: `export-${format}`,
        text: label,
        onclick: async () => {
          try {
            const size = await download(`${base}/export`, { ...viewQuery(), format }, `${dataset.name}.${format}`);
            replace(message, status(`${label} export downloaded (${size} bytes).`));
          } catch (error) {
            replace(message, el("p", { text: `${label} export failed:` }), problemView(error));
          }
        },
      }),
    ),
  );

  replace(
    main,
    el("h1", {}, el("span", { class: "muted", text: "Table " }), el("span", { text: dataset.name })),
    el("div", { class: "toolbar" }, picker, exports),
    message,
    gridHolder,
    el("div", { class: "row pager" }, prev, info, next),
  );
  await load();
}
