// Hash routes (#/s/<session>/d/<dataset>/table ...): the page never reloads and no key or value of
// the user's ever goes into a request URL because of the route.

const ROUTES = [
  [/^#\/s\/([^/]+)\/d\/([^/]+)\/table$/, "table", ["sid", "did"]],
  [/^#\/s\/([^/]+)\/d\/([^/]+)\/graph$/, "graph", ["sid", "did"]],
  [/^#\/s\/([^/]+)\/d\/([^/]+)$/, "dataset", ["sid", "did"]],
  [/^#\/s\/([^/]+)\/query$/, "query", ["sid"]],
  [/^#\/s\/([^/]+)$/, "session", ["sid"]],
];

export function parseRoute(hash) {
  for (const [pattern, name, keys] of ROUTES) {
    const match = pattern.exec(hash);
    if (match) {
      const params = {};
      keys.forEach((key, i) => (params[key] = decodeURIComponent(match[i + 1])));
      return { name, params };
    }
  }
  return { name: "sessions", params: {} };
}

export const href = {
  sessions: () => "#/",
  session: (sid) => `#/s/${encodeURIComponent(sid)}`,
  dataset: (sid, did) => `#/s/${encodeURIComponent(sid)}/d/${encodeURIComponent(did)}`,
  table: (sid, did) => `#/s/${encodeURIComponent(sid)}/d/${encodeURIComponent(did)}/table`,
  graph: (sid, did) => `#/s/${encodeURIComponent(sid)}/d/${encodeURIComponent(did)}/graph`,
  query: (sid) => `#/s/${encodeURIComponent(sid)}/query`,
};
