// Building elements. User data only ever enters the page as text (textContent / attribute values),
// never as markup: nothing in the console parses a string as HTML.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "text") {
      node.textContent = String(value);
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else if (value === true) {
      node.setAttribute(name, "");
    } else {
      node.setAttribute(name, String(value));
    }
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

export function replace(node, ...children) {
  clear(node);
  return append(node, children);
}

/** A labelled form control: <label>text <control></label>. */
export function field(labelText, control, extra = {}) {
  return el("label", { class: extra.class || "field" }, el("span", { text: labelText }), control);
}

/** A status line read out by screen readers when it changes. */
export function status(text = "", kind = "info") {
  return el("p", { class: `status ${kind}`, role: kind === "error" ? "alert" : "status", text });
}

/** Ask before losing data; the message names what is lost. */
export function confirmLoss(message) {
  return window.confirm(message);
}
