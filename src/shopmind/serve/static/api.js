// The JSON API as the pages use it: one fetch wrapper (API key, errors), the key panel, ids.

const KEY_STORAGE = "shopmind.apiKey";
export const ROOT = document.body.dataset.root || "";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export function apiKey() {
  try {
    return localStorage.getItem(KEY_STORAGE) || "";
  } catch {
    return "";
  }
}

function storeKey(key) {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage disabled: the key lives until the page is left.
  }
}

/** Call the API; JSON in and out. Throws ApiError (and opens the key panel on 401/403). */
export async function api(path, { method = "GET", body, keepalive = false } = {}) {
  const headers = { Accept: "application/json" };
  const key = apiKey();
  if (key) headers["X-API-Key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(ROOT + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      keepalive,
    });
  } catch (error) {
    throw new ApiError(0, `cannot reach the shopmind API (${error.message})`);
  }
  if (response.status === 401 || response.status === 403) {
    showKeyPanel(
      response.status === 401
        ? "This shopmind API needs a key (401). Type one of its API keys below: it is kept in " +
            "this browser and sent as the X-API-Key header."
        : "The API key kept in this browser is not accepted for this request (403). " +
            "Type another key below."
    );
    throw new ApiError(response.status, response.status === 401 ? "API key needed" : "API key refused");
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text };
  }
  if (!response.ok) {
    const detail = data && data.detail !== undefined ? data.detail : response.statusText;
    throw new ApiError(response.status, typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return data;
}

/** A random event id: crypto.randomUUID where the context is secure, else a v4 UUID by hand. */
export function newEventId() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  if (globalThis.crypto && typeof crypto.getRandomValues === "function") {
    crypto.getRandomValues(bytes);
  } else {
    for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Record that a shopper viewed an item; resolves once the API has stored it. */
export function sendView(userId, itemId) {
  // No timestamp: the server stamps the event with its own clock, not the browser's.
  const event = { event_id: newEventId(), user_id: userId, item_id: itemId, type: "view" };
  return api("/v1/events", { method: "POST", body: { events: [event] }, keepalive: true });
}

/** Show a message in the page's notice bar (kind: "info" | "error"); empty text hides it. */
export function notice(text, kind = "error") {
  const bar = document.getElementById("notice");
  if (!bar) return;
  bar.textContent = text || "";
  bar.className = `notice ${kind}`;
  bar.hidden = !text;
}

/** Report an error from the API in the notice bar, unless the key panel already explains it. */
export function reportError(error, what) {
  if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return;
  notice(`${what}: ${error.message}`);
}

function showKeyPanel(message) {
  const panel = document.getElementById("key-panel");
  if (!panel) return;
  if (message) document.getElementById("key-message").textContent = message;
  panel.hidden = false;
  document.getElementById("key-input").focus();
}

function setUpKeyPanel() {
  const panel = document.getElementById("key-panel");
  if (!panel) return;
  document.getElementById("key-toggle").addEventListener("click", () => {
    panel.hidden = !panel.hidden;
  });
  document.getElementById("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    storeKey(document.getElementById("key-input").value.trim());
    window.location.reload();
  });
  document.getElementById("key-clear").addEventListener("click", () => {
    storeKey("");
    document.getElementById("key-input").value = "";
    window.location.reload();
  });
  document.getElementById("key-input").value = apiKey();
}

setUpKeyPanel();
