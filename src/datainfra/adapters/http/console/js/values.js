// Text typed into a cell → the JSON value the column's type takes. Text that is not such a value
// goes to the server as typed, so the user sees the API's own problem document next to the cell.

export function parseInput(text, type) {
  if (text === "") return type === "text" ? "" : null;
  switch (type) {
    case "integer":
    case "float": {
      const number = Number(text);
      return Number.isFinite(number) ? number : text;
    }
    case "boolean":
      return /^(true|false)$/i.test(text) ? text.toLowerCase() === "true" : text;
    case "json":
      try {
        return JSON.parse(text);
      } catch (_) {
        return text;
      }
    default:
      return text;
  }
}
