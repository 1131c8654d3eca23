// Entry point: the key gate, the navigation and the hash router.

import { el, replace } from "./dom.js";
import { getKey } from "./key.js";
import { keyForm, keyBox } from "./keygate.js";
import { parseRoute, href } from "./router.js";
import { problemView } from "./problem.js";
import * as sessions from "./sessions.js";
import * as session from "./session.js";
import * as dataset from "./dataset.js";
import * as table from "./table.js";
import * as query from "./query.js";
import * as graph from "./graph.js";

const VIEWS = { sessions, session, dataset, table, query, graph };
const TITLES = {
  sessions: "Sessions",
  session: "Session",
  dataset: "Dataset",
  table: "Table",
  query: "Query",
  graph: "Graph",
};
let cleanup = null;

function nav(route) {
  const links = [el("a", { href: href.sessions(), text: "Sessions" })];
  const { sid, did } = route.params;
  if (sid) {
    links.push(el("a", { href: href.session(sid), text: "Datasets" }));
    links.push(el("a", { href: href.query(sid), text: "Query" }));
  }
  if (did) {
    links.push(el("a", { href: href.table(sid, did), text: "Table" }));
    links.push(el("a", { href: href.graph(sid, did), text: "Graph" }));
  }
  for (const link of links) {
    if (link.getAttribute("href") === (location.hash || "#/")) link.setAttribute("aria-current", "page");
  }
  replace(
    document.getElementById("nav"),
    el(
      "ul",
      {},
      links.map((link) => el("li", {}, link)),
    ),
  );
}

async function show() {
  const main = document.getElementById("main");
  if (cleanup) {
    try {
      cleanup();
    } catch (_) {
      /* a view's cleanup never blocks the next */
    }
    cleanup = null;
  }
  keyBox(document.getElementById("keybox"), show);
  if (!getKey()) {
    replace(document.getElementById("nav"));
    keyForm(main, show);
    return;
  }
  const route = parseRoute(location.hash);
  nav(route);
  document.title = `${TITLES[route.name]} · datainfra console`;
  replace(main, el("p", { text: "Loading…" }));
  try {
    cleanup = (await VIEWS[route.name].render(main, route.params)) || null;
  } catch (error) {
    replace(main, el("h1", { text: TITLES[route.name] }), problemView(error));
  }
}

// The skip link moves focus to the page's content; following its href would change the route.
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  document.getElementById("main").focus();
});
window.addEventListener("hashchange", show);
// A module runs once the document is parsed (after the deferred vendor scripts before it).
show();
