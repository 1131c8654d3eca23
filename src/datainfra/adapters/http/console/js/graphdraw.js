// Drawing nodes and relationships with Cytoscape.js: merge what an answer brings, colour by label,
// highlight a path. Labels and properties reach the canvas as text, never as markup.

const PALETTE = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
  "#ff7f0e",
];

export function colourOf(label) {
  let hash = 0;
  for (const ch of String(label || "")) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  return PALETTE[hash % PALETTE.length];
}

function caption(node) {
  const props = node.properties || {};
  const name = props.name ?? props.title ?? props.label;
  return name === undefined || name === null
    ? String(node.id)
    : `${typeof name === "string" ? name : JSON.stringify(name)}`;
}

/** Nodes, relationships and paths found anywhere in a query answer's cells. */
export function graphOfResult(result) {
  const nodes = new Map();
  const edges = new Map();
  const visit = (value, type) => {
    if (!value || typeof value !== "object") return;
    if (Array.isArray(value))
      return value.forEach((v) => visit(v, type && type.startsWith("list<") ? type.slice(5, -1) : type));
    if (
      type === "path" ||
      (Array.isArray(value.nodes) && (Array.isArray(value.relationships) || Array.isArray(value.edges)))
    ) {
      (value.nodes || []).forEach((n) => visit(n, "node"));
      (value.relationships || value.edges || []).forEach((r) => visit(r, "relationship"));
      return;
    }
    if (type === "node" || (value.id !== undefined && Array.isArray(value.labels))) nodes.set(String(value.id), value);
    else if (
      type === "relationship" ||
      (value.id !== undefined && value.source !== undefined && value.target !== undefined && value.type !== undefined)
    )
      edges.set(String(value.id), value);
    else if (type === "map" || type === "any" || type === "list") Object.values(value).forEach((v) => visit(v, null));
  };
  for (const row of result.rows || []) row.forEach((cell, i) => visit(cell, (result.columns[i] || {}).type));
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

export function createGraph(container, { onSelect, onTapNode } = {}) {
  const cy = window.cytoscape({
    container,
    elements: [],
    wheelSensitivity: 0.3,
    maxZoom: 1.6,
    style: [
      {
        selector: "node",
        style: {
          "background-color": "data(colour)",
          label: "data(caption)",
          "font-size": 18,
          color: "#111",
          "text-valign": "bottom",
          "text-margin-y": 4,
          width: 36,
          height: 36,
        },
      },
      {
        selector: "edge",
        style: {
          width: 2,
          "line-color": "#999",
          "target-arrow-color": "#999",
          "target-arrow-shape": "triangle",
          "curve-style": "bezier",
          label: "data(type)",
          "font-size": 14,
          color: "#444",
        },
      },
      {
        selector: ":selected",
        style: { "border-width": 4, "border-color": "#000", "line-color": "#000", "target-arrow-color": "#000" },
      },
      { selector: "node.path", style: { "border-width": 5, "border-color": "#f0a000" } },
      { selector: "edge.path", style: { "line-color": "#f0a000", "target-arrow-color": "#f0a000", width: 5 } },
      { selector: ".endpoint", style: { shape: "diamond", width: 46, height: 46 } },
    ],
  });
  const byId = { nodes: new Map(), edges: new Map() };
  cy.on("tap", "node", (event) => {
    const id = event.target.data("key");
    if (onSelect) onSelect({ kind: "node", item: byId.nodes.get(id) });
    if (onTapNode) onTapNode(id);
  });
  cy.on(
    "tap",
    "edge",
    (event) => onSelect && onSelect({ kind: "relationship", item: byId.edges.get(event.target.data("key")) }),
  );

  function merge(nodes, edges) {
    const added = [];
    for (const node of nodes) {
      const key = String(node.id);
      byId.nodes.set(key, node);
      const data = { caption: caption(node), colour: colourOf((node.labels || [])[0]) };
      const drawn = cy.getElementById(`n:${key}`);
      if (drawn.empty()) added.push({ group: "nodes", data: { id: `n:${key}`, key, ...data } });
      else drawn.data(data); // a node first drawn as a bare relationship end, now known in full
    }
    for (const edge of edges) {
      const key = String(edge.id);
      byId.edges.set(key, edge);
      const source = String(edge.source);
      const target = String(edge.target);
      for (const end of [source, target]) {
        if (!byId.nodes.has(end) && cy.getElementById(`n:${end}`).empty()) {
          byId.nodes.set(end, { id: end, labels: [], properties: {} });
          added.push({ group: "nodes", data: { id: `n:${end}`, key: end, caption: end, colour: colourOf("") } });
        }
      }
      if (cy.getElementById(`e:${key}`).empty()) {
        added.push({
          group: "edges",
          data: { id: `e:${key}`, key, source: `n:${source}`, target: `n:${target}`, type: edge.type },
        });
      }
    }
    if (added.length) {
      cy.add(added);
      cy.layout({
        name: "cose",
        animate: false,
        randomize: true,
        fit: true,
        padding: 40,
        idealEdgeLength: () => 110,
        nodeRepulsion: () => 200000,
        nodeOverlap: 40,
        gravity: 1,
        numIter: 600,
      }).run();
    }
    return added.length;
  }

  function highlight(nodeIds, edgeIds) {
    cy.elements().removeClass("path endpoint");
    nodeIds.forEach((id) => cy.getElementById(`n:${id}`).addClass("path"));
    edgeIds.forEach((id) => cy.getElementById(`e:${id}`).addClass("path"));
  }

  function markEndpoints(ids) {
    cy.nodes().removeClass("endpoint");
    ids.filter(Boolean).forEach((id) => cy.getElementById(`n:${id}`).addClass("endpoint"));
  }

  function select(id) {
    cy.elements().unselect();
    cy.getElementById(`n:${id}`).select();
  }

  return {
    merge,
    highlight,
    markEndpoints,
    select,
    clear: () => {
      cy.elements().remove();
      byId.nodes.clear();
      byId.edges.clear();
    },
    nodes: () => [...byId.nodes.values()],
    edges: () => [...byId.edges.values()],
    node: (id) => byId.nodes.get(String(id)),
    resize: () => cy.resize(),
    destroy: () => cy.destroy(),
    cy,
  };
}
