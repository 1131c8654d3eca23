// This tab's queries, newest first (sessionStorage: gone when the tab closes).

const LIMIT = 50;
const storeKey = (sid) => `datainfra.history.${sid}`;

export function readHistory(sid) {
  try {
    return JSON.parse(sessionStorage.getItem(storeKey(sid)) || "[]");
  } catch (_) {
    return [];
  }
}

export function remember(sid, entry) {
  const entries = readHistory(sid).filter(
    (e) => !(e.query === entry.query && e.language === entry.language && e.parameters === entry.parameters),
  );
  entries.unshift({ ...entry, at: new Date().toISOString() });
  sessionStorage.setItem(storeKey(sid), JSON.stringify(entries.slice(0, LIMIT)));
}
