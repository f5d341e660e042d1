// The JSON API as the pages use it: one fetch wrapper (API key, errors), the key panel, ids,
// and the views this browser sent (a key without the admin scope cannot read them back).

const KEY_STORAGE = "shopmind.apiKey";
const VIEWS_STORAGE = "shopmind.views.";
const VIEWS_KEPT = 20;
export const ROOT = document.body.dataset.root || "";

// What the key panel says: which key to paste (see the README's scopes table).
const WHICH_KEY =
  "Paste the storefront's key: one listed in both SHOPMIND_READ_KEYS and SHOPMIND_INGEST_KEYS " +
  "(the read and ingest scopes: recommendations, products, stats, and recording views). An " +
  "admin key works too, but do not give one to a browser you do not control: it can list, " +
  "export and delete shoppers. The key is kept in this browser and sent as the X-API-Key header.";

export class ApiError extends Error {
  constructor(status, message, body = null) {
    super(message);
    this.status = status;
    this.body = body;
  }

  /** A 403 for a key the API knows that lacks the scope (not an unknown key). */
  get lacksScope() {
    return this.status === 403 && Boolean(this.body && this.body.held && this.body.held.length);
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

/**
 * Call the API; JSON in and out. Throws ApiError, and opens the key panel on 401/403 unless
 * ``optional`` is set and the key is one the API knows that lacks the scope (the caller copes).
 */
export async function api(path, { method = "GET", body, keepalive = false, optional = false } = {}) {
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
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { detail: text };
  }
  if (response.status === 401 || response.status === 403) {
    const refused = new ApiError(
      response.status,
      response.status === 401 ? "API key needed" : "API key refused",
      data
    );
    if (optional && refused.lacksScope) throw refused;
    const why = data && typeof data.detail === "string" ? ` (${data.detail})` : "";
    showKeyPanel(
      response.status === 401
        ? `This shopmind API needs a key (401). ${WHICH_KEY}`
        : `The API key kept in this browser is not accepted for this request (403${why}). ` +
            WHICH_KEY
    );
    throw refused;
  }
  if (!response.ok) {
    const detail = data && data.detail !== undefined ? data.detail : response.statusText;
    throw new ApiError(
      response.status,
      typeof detail === "string" ? detail : JSON.stringify(detail),
      data
    );
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

/** Record that a shopper viewed an item (``context``: e.g. the search it came from); resolves
 * once the API has stored it. */
export async function sendView(userId, itemId, context = null) {
  // No timestamp: the server stamps the event with its own clock, not the browser's.
  const event = { event_id: newEventId(), user_id: userId, item_id: itemId, type: "view" };
  if (context) event.context = context;
  const answer = await api("/v1/events", {
    method: "POST",
    body: { events: [event] },
    keepalive: true,
    optional: true, // a key without the ingest scope: the caller says so on the next page
  });
  rememberView(userId, itemId);
  return answer;
}

/**
 * Record what a shopper was shown: one impression event per answer (its request id is the
 * event id, so drawing the same answer twice records it once). Clicks on its items carry the
 * request id too, so the online metrics can tell what each list led to.
 */
export async function sendImpression(userId, answer) {
  if (!userId || !answer || !answer.request_id || !(answer.items || []).length) return null;
  const context = {
    request_id: answer.request_id,
    placement: answer.placement,
    items: answer.items.map((i) => i.item_id),
    bundle: answer.bundle,
  };
  if (answer.experiment) {
    context.experiment = answer.experiment;
    context.arm = answer.arm;
  }
  const event = {
    event_id: `impression-${answer.request_id}`,
    user_id: userId,
    type: "impression",
    context,
  };
  return api("/v1/events", { method: "POST", body: { events: [event] }, keepalive: true, optional: true });
}

/** Record a shopper's purchase-path step on a product (add_to_cart, purchase), with the
 * request id of the list the product was opened from when there is one (else the attribution
 * window links it to the list that showed it). */
export async function sendAction(userId, itemId, type, value = null, requestId = null) {
  const event = { event_id: newEventId(), user_id: userId, item_id: itemId, type };
  if (value !== null && value !== undefined) event.value = value;
  if (requestId) event.context = { request_id: requestId };
  return api("/v1/events", { method: "POST", body: { events: [event] } });
}

/** Record a shopper's search and the results shown (it feeds their profile's interests). */
export async function sendSearch(userId, query, shown) {
  const event = {
    event_id: newEventId(),
    user_id: userId,
    type: "search",
    query,
    context: { placement: "search", shown },
  };
  return api("/v1/events", { method: "POST", body: { events: [event] }, optional: true });
}

/**
 * The views this browser recorded for a shopper, newest first, as events: what the storefront
 * shows when its key (read + ingest) may not read a shopper's events back (that is admin's).
 */
export function viewsSentFrom(userId) {
  try {
    const views = JSON.parse(localStorage.getItem(VIEWS_STORAGE + userId) || "[]");
    return Array.isArray(views) ? views : [];
  } catch {
    return [];
  }
}

function rememberView(userId, itemId) {
  const view = { item_id: itemId, type: "view", timestamp: new Date().toISOString() };
  const views = [view, ...viewsSentFrom(userId)].slice(0, VIEWS_KEPT);
  try {
    localStorage.setItem(VIEWS_STORAGE + userId, JSON.stringify(views));
  } catch {
    // Storage disabled: the rows show what the API lets this key read.
  }
}

/** Show a message in the page's notice bar (kind: "info" | "error"); empty text hides it. */
export function notice(text, kind = "error") {
  const bar = document.getElementById("notice");
  if (!bar) return;
  bar.textContent = text || "";
  bar.className = `notice ${kind}`;
  bar.hidden = !text;
}

const CARRIED_NOTICE = "shopmind.notice";

/** Show ``text`` in the notice bar of the next page this tab opens (a link is being followed). */
export function carryNotice(text) {
  try {
    sessionStorage.setItem(CARRIED_NOTICE, text);
  } catch {
    // Storage disabled: the message is lost with the page.
  }
}

function showCarriedNotice() {
  let text = null;
  try {
    text = sessionStorage.getItem(CARRIED_NOTICE);
    sessionStorage.removeItem(CARRIED_NOTICE);
  } catch {
    return;
  }
  if (text) notice(text);
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
showCarriedNotice();
