// The graph view: a node's neighbourhood (depth 1–3, relationship types, direction), expanding a
// node by clicking it, its properties on selection, the shortest path between two chosen nodes.

import { el, replace, field, status } from "./dom.js";
import { get, post, paths } from "./api.js";
import { href } from "./router.js";
import { problemView } from "./problem.js";
import { graphPanel } from "./graphpanel.js";

export async function render(main, { sid, did }) {
  const dataset = await get(paths.dataset(sid, did));
  const base = paths.dataset(sid, did);
  if (dataset.kind !== "graph") {
    location.hash = href.table(sid, did);
    return;
  }
  const types = (dataset.schema.relationship_types || []).map((t) => t.name);
  const message = el("div", { id: "graph-message", "aria-live": "polite" });

  const start = el("input", { id: "start-node", required: true, autocomplete: "off" });
  const depth = el(
    "select",
    { id: "depth" },
    [1, 2, 3].map((d) => el("option", { value: d, text: String(d) })),
  );
  const direction = el(
    "select",
    { id: "direction" },
    ["both", "out", "in"].map((d) => el("option", { value: d, text: d })),
  );
  const typeBoxes = types.map((t) => el("input", { type: "checkbox", value: t, class: "type-filter" }));
  const typeFilter = el(
    "fieldset",
    { class: "types" },
    el("legend", { text: "Relationship types (none checked: all)" }),
    types.length
      ? typeBoxes.map((box) => el("label", { class: "check" }, box, el("span", { text: box.value })))
      : el("span", { class: "muted", text: "(the schema declares none)" }),
  );
  const chosenTypes = () => typeBoxes.filter((b) => b.checked).map((b) => b.value);

  const drawing = el("div", { id: "graph-drawing" });
  let panel = null;

  async function expand(nodeId, hops) {
    try {
      const answer = await get(`${base}/nodes/${encodeURIComponent(nodeId)}/neighbors`, {
        depth: hops,
        direction: direction.value,
        type: chosenTypes(),
      });
      const known = panel.graph.node(nodeId);
      const start = known && known.labels.length ? [] : [await get(`${base}/nodes/${encodeURIComponent(nodeId)}`)];
      const added = panel.merge([...start, ...answer.nodes], answer.edges);
      replace(
        message,
        status(
          `Node ${nodeId}: ${answer.nodes.length} neighbour(s) and ${answer.edges.length} relationship(s) within ${hops} hop(s); ${added} new on the drawing.`,
        ),
      );
    } catch (error) {
      replace(message, problemView(error));
    }
  }

  const walk = el(
    "form",
    { class: "toolbar", "aria-label": "Draw a neighbourhood" },
    field("Start node (key)", start),
    field("Depth", depth),
    field("Direction", direction),
    typeFilter,
    el("button", { type: "submit", text: "Draw neighbourhood" }),
    el("button", { type: "button", class: "secondary", text: "Clear drawing", onclick: () => panel.clear() }),
  );
  walk.addEventListener("submit", async (event) => {
    event.preventDefault();
    panel.clear();
    await expand(start.value.trim(), Number(depth.value));
  });

  const from = el("input", { id: "path-from", autocomplete: "off" });
  const to = el("input", { id: "path-to", autocomplete: "off" });
  const useSelected = (input) => () => {
    const selected = panel.selected();
    if (selected && selected.kind === "node") {
      input.value = selected.item.id;
      panel.graph.markEndpoints([from.value, to.value]);
    } else replace(message, status("Select a node first (click it, or use the node list).", "error"));
  };
  const pathForm = el(
    "form",
    { class: "toolbar", "aria-label": "Shortest path" },
    field("Path from", from),
    el("button", {
      type: "button",
      class: "secondary",
      id: "use-as-from",
      text: "Selected node as start",
      onclick: useSelected(from),
    }),
    field("Path to", to),
    el("button", {
      type: "button",
      class: "secondary",
      id: "use-as-to",
      text: "Selected node as end",
      onclick: useSelected(to),
    }),
    el("button", { type: "submit", text: "Shortest path" }),
  );
  pathForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const request = { source: from.value.trim(), target: to.value.trim(), direction: direction.value };
    if (chosenTypes().length) request.types = chosenTypes();
    try {
      const path = await post(`${base}/algorithms/shortest_path`, request);
      if (!path.found) {
        replace(message, status(`No path from ${request.source} to ${request.target}.`));
        return;
      }
      panel.merge(path.nodes, path.edges);
      panel.graph.highlight(
        path.nodes.map((n) => n.id),
        path.edges.map((e) => e.id),
      );
      panel.graph.markEndpoints([request.source, request.target]);
      replace(
        message,
        status(
          `Shortest path ${request.source} → ${request.target}: ${path.length} hop(s) via ${path.nodes.map((n) => n.id).join(" → ")}.`,
          "ok",
        ),
      );
    } catch (error) {
      replace(message, problemView(error));
    }
  });

  replace(
    main,
    el("h1", {}, el("span", { class: "muted", text: "Graph " }), el("span", { text: dataset.name })),
    walk,
    pathForm,
    message,
    drawing,
  );
  panel = graphPanel({ id: "graph", into: drawing, onNodeActivate: (nodeId) => expand(nodeId, 1) });
  try {
    const first = await get(`${base}/nodes`, { limit: 1 });
    if (first.items.length) {
      start.value = first.items[0].id;
      await expand(first.items[0].id, 1);
    } else
      replace(message, status("This graph has no nodes yet: import a GraphML or JSON file on the dataset's page."));
  } catch (error) {
    replace(message, problemView(error));
  }
  return () => panel.graph.destroy();
}
