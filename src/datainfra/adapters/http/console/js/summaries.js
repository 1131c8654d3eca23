// One-line descriptions of datasets: what a confirmation says is lost.

import { get, paths } from "./api.js";

export function countText(dataset) {
  if (dataset.record_count === null || dataset.record_count === undefined) return "count unknown";
  return dataset.kind === "graph" ? `${dataset.record_count} nodes` : `${dataset.record_count} rows`;
}

export function datasetSummary(dataset) {
  return `${dataset.name} (${dataset.kind}, ${countText(dataset)})`;
}

/** The datasets with their counts (the list may leave a count out; each dataset's own GET has it). */
export async function withCounts(sid, datasets) {
  return Promise.all(
    datasets.map(async (d) => {
      if (d.record_count !== null && d.record_count !== undefined) return d;
      try {
        return await get(paths.dataset(sid, d.id));
      } catch (_) {
        return d;
      }
    }),
  );
}
