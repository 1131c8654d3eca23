// A drawn graph with what makes it usable without a mouse: a legend of label colours, a list of
// the drawn nodes (each a button acting as a click on the node) and the selection's properties.

import { el, replace } from "./dom.js";
import { cellText } from "./cells.js";
import { createGraph, colourOf } from "./graphdraw.js";

export function propertiesView(selection) {
  if (!selection || !selection.item)
    return el("p", { class: "muted", text: "Select a node or a relationship to see its properties." });
  const item = selection.item;
  const list = el("dl", { class: "props" });
  const add = (name, value) => list.append(el("dt", { text: name }), el("dd", { text: cellText(value) }));
  add(selection.kind === "node" ? "node" : "relationship", item.id);
  if (selection.kind === "node") add("labels", (item.labels || []).join(", "));
  else {
    add("type", item.type);
    add("from → to", `${item.source} → ${item.target}`);
  }
  for (const [name, value] of Object.entries(item.properties || {})) add(name, value);
  return list;
}

/** Built inside `into` (already in the document: Cytoscape measures its container when it starts). */
export function graphPanel({ id, into, onNodeActivate }) {
  const canvas = el("div", { id: `${id}-canvas`, class: "graph-canvas", role: "img", "aria-label": "Graph drawing" });
  const legend = el("ul", { class: "legend", "aria-label": "Colours by label" });
  const nodeList = el("ul", { class: "node-list", id: `${id}-nodes`, "aria-label": "Drawn nodes" });
  const props = el("div", { id: `${id}-properties`, class: "properties", "aria-live": "polite" }, propertiesView(null));
  let selected = null;

  const element = el(
    "div",
    { class: "graph-panel" },
    canvas,
    el(
      "aside",
      { class: "graph-side" },
      el("h2", { text: "Selection" }),
      props,
      el("h2", { text: "Labels" }),
      legend,
      el("h2", { text: "Nodes" }),
      nodeList,
    ),
  );

  replace(into, element);

  const graph = createGraph(canvas, {
    onSelect: (selection) => {
      selected = selection;
      replace(props, propertiesView(selection));
      refreshList();
    },
    onTapNode: (nodeId) => onNodeActivate && onNodeActivate(nodeId),
  });

  function refreshList() {
    const nodes = graph.nodes();
    const labels = [...new Set(nodes.flatMap((n) => (n.labels || []).slice(0, 1)))].sort();
    replace(
      legend,
      labels.map((label) =>
        el("li", {}, el("span", { class: "swatch", "data-colour": colourOf(label) }), el("span", { text: label })),
      ),
    );
    for (const swatch of legend.querySelectorAll(".swatch")) swatch.style.backgroundColor = swatch.dataset.colour;
    replace(
      nodeList,
      nodes.map((node) =>
        el(
          "li",
          {},
          el("button", {
            type: "button",
            class: "node-button",
            "data-node": node.id,
            "aria-pressed":
              selected && selected.kind === "node" && String(selected.item.id) === String(node.id) ? "true" : "false",
            text: `${cellText(node.id)}${node.labels && node.labels.length ? ` (${node.labels.join(", ")})` : ""}`,
            onclick: () => {
              selected = { kind: "node", item: node };
              graph.select(node.id);
              replace(props, propertiesView(selected));
              if (onNodeActivate) onNodeActivate(node.id);
              refreshList();
            },
          }),
        ),
      ),
    );
    canvas.setAttribute(
      "aria-label",
      `Graph drawing: ${nodes.length} nodes, ${graph.edges().length} relationships (the list beside it holds the same nodes)`,
    );
  }

  return {
    element,
    graph,
    merge: (nodes, edges) => {
      const added = graph.merge(nodes, edges);
      refreshList();
      return added;
    },
    clear: () => {
      graph.clear();
      selected = null;
      replace(props, propertiesView(null));
      refreshList();
    },
    selected: () => selected,
    refresh: refreshList,
  };
}
