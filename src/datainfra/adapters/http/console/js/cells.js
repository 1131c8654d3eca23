// Any JSON value as the text of a cell (never as markup).

export function cellText(value) {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

export function isNull(value) {
  return value === null || value === undefined;
}
