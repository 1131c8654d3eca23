// The API key: typed once per browser tab, kept in sessionStorage (never a URL, never a cookie).

const STORE_KEY = "datainfra.apiKey";

export function getKey() {
  return sessionStorage.getItem(STORE_KEY) || "";
}

export function setKey(key) {
  sessionStorage.setItem(STORE_KEY, key.trim());
}

export function forgetKey() {
  sessionStorage.removeItem(STORE_KEY);
}
