// DOM helpers shared by the pages: elements, product cards, the chosen shopper.

import { ROOT, carryNotice, sendImpression, sendView } from "./api.js";

const SHOPPER_STORAGE = "shopmind.shopper";
const RECENT_STORAGE = "shopmind.shoppers";

/** Create an element: el("a", {href: "/", class: "x", dataset: {testid: "y"}}, "text", child). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function formatPrice(price, currency) {
  if (price === null || price === undefined || Number.isNaN(Number(price))) return "";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: currency || "EUR" }).format(
      Number(price)
    );
  } catch {
    return `${Number(price).toFixed(2)} ${currency || ""}`.trim();
  }
}

export function formatCategory(category) {
  if (Array.isArray(category)) return category.join(" › ");
  return category || "";
}

/** A stable hue per top-level category, so cards of one department look alike. */
function hue(text) {
  let h = 0;
  for (const ch of String(text || "")) h = (h * 31 + ch.codePointAt(0)) % 360;
  return h;
}

export function swatch(category) {
  const top = Array.isArray(category) ? category[0] : category;
  return `hsl(${hue(top)} 55% 88%)`;
}

/** The shopper the storefront is showing, from ?user= or the last one chosen. */
export function currentShopper() {
  const fromUrl = new URLSearchParams(window.location.search).get("user");
  if (fromUrl) return fromUrl;
  try {
    return localStorage.getItem(SHOPPER_STORAGE) || "";
  } catch {
    return "";
  }
}

export function rememberShopper(userId) {
  try {
    if (userId) {
      localStorage.setItem(SHOPPER_STORAGE, userId);
      const recent = [userId, ...recentShoppers().filter((id) => id !== userId)].slice(0, 20);
      localStorage.setItem(RECENT_STORAGE, JSON.stringify(recent));
    } else {
      localStorage.removeItem(SHOPPER_STORAGE);
    }
  } catch {
    // Storage disabled: the shopper stays in the URL only.
  }
}

/** The shoppers chosen in this browser, latest first (for a key that may not list them). */
export function recentShoppers() {
  try {
    const ids = JSON.parse(localStorage.getItem(RECENT_STORAGE) || "[]");
    return Array.isArray(ids) ? ids.filter((id) => typeof id === "string" && id) : [];
  } catch {
    return [];
  }
}

export function productUrl(itemId, userId, requestId = null) {
  const params = new URLSearchParams();
  if (userId) params.set("user", userId);
  // The list the product was opened from: its cart and purchase carry the list's request id.
  if (requestId) params.set("from", requestId);
  const query = params.toString() ? `?${params}` : "";
  return `${ROOT}/product/${encodeURIComponent(itemId)}${query}`;
}

/**
 * A product card linking to the product page. When a shopper is chosen, a click first stores a
 * view event for them (so their next rows change), then opens the page.
 */
export function productCard(item, userId, { testid = "product-card", context = null } = {}) {
  const link = el(
    "a",
    {
      class: "card",
      href: productUrl(item.item_id, userId, context && context.request_id),
      dataset: { testid, itemId: item.item_id },
    },
    el("div", { class: "card-visual", style: `background:${swatch(item.category)}` },
      el("span", {}, (formatCategory(item.category).split(" › ").pop() || "").slice(0, 18))),
    el("div", { class: "card-title", dataset: { testid: "card-title" } }, item.title || item.item_id),
    el("div", { class: "card-meta" },
      el("span", { class: "card-price" }, formatPrice(item.price, item.currency)),
      item.brand ? el("span", { class: "card-brand" }, item.brand) : null),
    item.reason
      ? el("div", { class: "card-reason", dataset: { testid: "card-reason" } }, item.reason)
      : null,
    item.models && item.models.length
      ? el("div", { class: "card-models muted", title: `score ${Number(item.score).toFixed(4)}` },
          item.models.join(" + "))
      : null
  );
  link.addEventListener("click", async (event) => {
    if (!userId || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    link.classList.add("busy");
    try {
      await sendView(userId, item.item_id, context);
    } catch (error) {
      const detail = error.body && error.body.detail ? error.body.detail : error.message;
      carryNotice(`The view was not recorded: ${detail}`);
    }
    window.location.assign(link.href);
  });
  return link;
}

/** Fill a row's card container (and its reason line) from an API answer with items. */
export function fillRow(container, reasonLine, answer, userId, options = {}) {
  // A click on a card carries the answer's request id and the card's place (what it led to).
  const listed = answer.request_id
    ? { request_id: answer.request_id, placement: answer.placement }
    : {};
  container.replaceChildren(
    ...answer.items.map((item, i) =>
      productCard(item, userId, {
        ...options,
        context: { ...(options.context || {}), ...listed, position: i + 1 },
      })
    )
  );
  container.dataset.requestId = answer.request_id || "";
  // What was shown, recorded for the online metrics (a key without ingest: not recorded).
  sendImpression(userId, answer).catch(() => {});
  const reason = answer.reason || (answer.items.length ? "" : "Nothing to show here yet.");
  if (reasonLine) {
    reasonLine.textContent = reason;
    reasonLine.hidden = !reason;
  }
}

export function byTestId(id) {
  return document.querySelector(`[data-testid="${id}"]`);
}
