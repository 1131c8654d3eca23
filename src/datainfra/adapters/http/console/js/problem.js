// An RFC 9457 problem document shown as text: title, detail and every member naming what is at fault.

import { el } from "./dom.js";

const SHOWN = new Set(["type", "title", "status", "detail", "instance"]);

export function problemView(error, extraClass = "") {
  const problem = error && error.problem ? error.problem : { title: "Error", detail: String(error) };
  const box = el("div", { class: `problem ${extraClass}`.trim(), role: "alert" });
  box.append(el("strong", { text: `${problem.status ? problem.status + " " : ""}${problem.title || "Error"}` }));
  if (problem.detail) box.append(el("span", { class: "detail", text: ` ${problem.detail}` }));
  const members = Object.entries(problem).filter(([name]) => !SHOWN.has(name));
  if (members.length) {
    const list = el("dl", { class: "members" });
    for (const [name, value] of members) {
      list.append(
        el("dt", { text: name }),
        el("dd", { text: typeof value === "string" ? value : JSON.stringify(value) }),
      );
    }
    box.append(list);
  }
  return box;
}
