// Sessions: list, create, drop (the confirmation names the datasets lost with it).

import { el, replace, field, status, confirmLoss } from "./dom.js";
import { get, post, del, paths } from "./api.js";
import { href } from "./router.js";
import { problemView } from "./problem.js";
import { datasetSummary, withCounts } from "./summaries.js";

export async function render(main) {
  const list = el("div");
  const message = el("div", { "aria-live": "polite" });
  const name = el("input", { id: "new-session-name", required: true, maxlength: 200 });
  const form = el(
    "form",
    { class: "inline-form", "aria-label": "Create a session" },
    field("New session name", name),
    el("button", { type: "submit", text: "Create session" }),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const created = await post(paths.sessions(), { name: name.value });
      name.value = "";
      replace(message, status(`Session "${created.name}" created.`));
      await refresh();
    } catch (error) {
      replace(message, problemView(error));
    }
  });

  async function drop(session) {
    let datasets = [];
    try {
      datasets = await withCounts(session.id, (await get(paths.datasets(session.id))).items);
    } catch (error) {
      replace(message, problemView(error));
      return;
    }
    const lost = datasets.length
      ? `its ${datasets.length} dataset(s) and all their data: ${datasets.map(datasetSummary).join("; ")}`
      : "it holds no datasets";
    if (!confirmLoss(`Delete session "${session.name}"? This also deletes ${lost}. This cannot be undone.`)) return;
    try {
      await del(paths.session(session.id));
      replace(message, status(`Session "${session.name}" deleted.`));
      await refresh();
    } catch (error) {
      replace(message, problemView(error));
    }
  }

  async function refresh() {
    const sessions = (await get(paths.sessions())).items;
    if (!sessions.length) {
      replace(list, el("p", { class: "muted", text: "No sessions yet: create one above." }));
      return;
    }
    const rows = sessions.map((s) =>
      el(
        "tr",
        {},
        el("th", { scope: "row" }, el("a", { href: href.session(s.id), text: s.name })),
        el("td", { text: s.description || "" }),
        el("td", { text: s.created_at }),
        el(
          "td",
          {},
          el("a", { class: "button-link", href: href.query(s.id), text: "Query" }),
          " ",
          el("button", {
            type: "button",
            class: "danger",
            "aria-label": `Delete session ${s.name}`,
            text: "Delete",
            onclick: () => drop(s),
          }),
        ),
      ),
    );
    replace(
      list,
      el(
        "table",
        { class: "grid" },
        el("caption", { class: "sr-only", text: "Your sessions" }),
        el(
          "thead",
          {},
          el(
            "tr",
            {},
            ["Name", "Description", "Created", "Actions"].map((h) => el("th", { scope: "col", text: h })),
          ),
        ),
        el("tbody", {}, rows),
      ),
    );
  }

  replace(main, el("h1", { text: "Sessions" }), form, message, list);
  await refresh();
}
