// Asking for the API key (or registering a new user) before any page calls the API.

import { el, replace, field, status } from "./dom.js";
import { setKey, getKey, forgetKey } from "./key.js";
import { problemView } from "./problem.js";

export function keyForm(main, onReady) {
  const input = el("input", {
    id: "api-key",
    type: "password",
    autocomplete: "off",
    required: true,
    spellcheck: "false",
  });
  const message = el("div", { "aria-live": "polite" });
  const form = el(
    "form",
    { class: "card", "aria-labelledby": "key-title" },
    el("h1", { id: "key-title", text: "Your API key" }),
    el("p", { text: "The key stays in this tab only (sessionStorage) and is sent as the X-API-Key header." }),
    field("API key", input),
    el("div", { class: "row" }, el("button", { type: "submit", text: "Use this key" })),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    setKey(input.value);
    onReady();
  });
  const register = el("button", { type: "button", class: "secondary", text: "Register a new user" });
  register.addEventListener("click", async () => {
    register.disabled = true;
    try {
      const response = await fetch("/users", { method: "POST" });
      const body = await response.json();
      if (!response.ok) throw { problem: { status: response.status, ...body } };
      setKey(body.api_key);
      replace(
        message,
        status("A new user was registered and its key is in use in this tab. Keep a copy of it:"),
        el("code", { class: "newkey", text: body.api_key }),
        el("button", { type: "button", text: "Continue", onclick: onReady }),
      );
    } catch (error) {
      replace(message, problemView(error));
    } finally {
      register.disabled = false;
    }
  });
  replace(main, form, el("div", { class: "card" }, el("p", { text: "No key yet?" }), register, message));
  input.focus();
}

export function keyBox(box, onForget) {
  if (!getKey()) return replace(box);
  const forget = el("button", { type: "button", class: "secondary", text: "Forget key" });
  forget.addEventListener("click", () => {
    forgetKey();
    onForget();
  });
  replace(box, el("span", { class: "muted", text: "Key set for this tab" }), " ", forget);
}
