// Where in the query text a problem points: a member of the problem document (position, offset,
// line/column) or the "at offset N" / "line L, column C" its detail names.

export function problemPosition(problem, text) {
  if (!problem) return null;
  if (Number.isInteger(problem.line))
    return { line: problem.line, column: Number.isInteger(problem.column) ? problem.column : 1 };
  for (const name of ["position", "offset", "index_in_query"]) {
    if (Number.isInteger(problem[name])) return lineColumn(text, problem[name]);
  }
  const detail = String(problem.detail || "");
  let match = /line (\d+), column (\d+)/i.exec(detail);
  if (match) return { line: Number(match[1]), column: Number(match[2]) };
  match = /(?:at|offset|position|index|character)\s+(\d+)/i.exec(detail);
  if (match) return lineColumn(text, Number(match[1]));
  return null;
}

function lineColumn(text, offset) {
  const before = text.slice(0, offset);
  const lines = before.split("\n");
  return { line: lines.length, column: lines[lines.length - 1].length + 1, offset };
}
