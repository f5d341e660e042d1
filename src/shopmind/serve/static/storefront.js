// The storefront: pick a shopper, show "Recommended for you" and "Because you viewed …".
//
// It works with the storefront's key (read + ingest). Listing shoppers and reading their events
// back needs the admin scope: without it the shopper is typed in, and the rows about what they
// did come from the views this browser recorded.

import { ROOT, api, notice, reportError, sendSearch, viewsSentFrom } from "./api.js";
import {
  byTestId,
  currentShopper,
  el,
  fillRow,
  productUrl,
  recentShoppers,
  rememberShopper,
} from "./ui.js";

const K = 12;
const SHOPPERS_LISTED = 200;
// What the row heading says about the shopper's latest event, by event type.
const VERBS = {
  view: "viewed",
  click: "viewed",
  add_to_cart: "added to your cart",
  wishlist: "saved",
  purchase: "bought",
  rating: "rated",
};

const select = byTestId("shopper-select");
let rendering = 0;

// Whether this key may read shoppers' data (the list, their events): the admin scope.
let canReadShoppers = true;

function addShopper(id) {
  if (id && ![...select.options].some((o) => o.value === id)) {
    select.append(el("option", { value: id }, id));
  }
}

async function loadShoppers() {
  const chosen = currentShopper();
  try {
    const answer = await api(`/v1/users?limit=${SHOPPERS_LISTED}&offset=0`, { optional: true });
    const ids = answer.users.map((u) => u.user_id);
    if (chosen && !ids.includes(chosen)) ids.unshift(chosen);
    ids.forEach(addShopper);
    byTestId("shopper-info").textContent =
      answer.total > answer.users.length
        ? `${answer.total.toLocaleString()} shoppers (the first ${answer.users.length} listed)`
        : `${answer.total.toLocaleString()} shoppers`;
  } catch (error) {
    if (error.lacksScope) {
      canReadShoppers = false;
      [chosen, ...recentShoppers()].forEach(addShopper);
      byTestId("shopper-info").textContent =
        "This key may not list shoppers (that needs the admin scope): type a shopper's id.";
    } else {
      reportError(error, "cannot list the shoppers");
    }
  }
  if (chosen) select.value = chosen;
  select.dataset.state = "ready";
}

/** A shopper's latest events: from the API, or (without the admin scope) this browser's views. */
async function shopperEvents(userId) {
  if (!canReadShoppers) return viewsSentFrom(userId);
  try {
    return (await api(`/v1/users/${encodeURIComponent(userId)}/events?limit=50`, { optional: true }))
      .events;
  } catch (error) {
    if (error.status === 404) return []; // nothing stored about them yet
    if (!error.lacksScope) throw error;
    canReadShoppers = false;
    return viewsSentFrom(userId);
  }
}

function setRowState(row, state) {
  row.dataset.state = state;
}

async function renderRecommended(userId) {
  const row = byTestId("row-recommended");
  setRowState(row, "loading");
  row.hidden = false;
  const answer = await api(
    `/v1/users/${encodeURIComponent(userId)}/recommendations?k=${K}`
  );
  fillRow(byTestId("row-recommended-items"), byTestId("row-recommended-reason"), answer, userId);
  row.dataset.bundle = answer.bundle || "";
  setRowState(row, "ready");
}

// Categories the shopper has not been in that the category graph links to theirs.
async function renderExplore(userId) {
  const row = byTestId("row-explore");
  setRowState(row, "loading");
  const answer = await api(`/v1/users/${encodeURIComponent(userId)}/cross-category?k=${K}`);
  fillRow(byTestId("row-explore-items"), byTestId("row-explore-reason"), answer, userId);
  row.hidden = false;
  setRowState(row, answer.items.length ? "ready" : "empty");
}

async function renderBecause(userId, events) {
  const row = byTestId("row-because");
  const last = events.find((e) => e.item_id && VERBS[e.type]);
  if (!last) {
    row.hidden = true;
    row.dataset.itemId = "";
    setRowState(row, "empty");
    return;
  }
  setRowState(row, "loading");
  const [item, similar] = await Promise.all([
    api(`/v1/items/${encodeURIComponent(last.item_id)}`).catch(() => ({ item_id: last.item_id })),
    api(`/v1/items/${encodeURIComponent(last.item_id)}/similar?k=${K}&user_id=${encodeURIComponent(userId)}`),
  ]);
  const title = byTestId("row-because-title");
  title.replaceChildren(
    `Because you ${VERBS[last.type]} `,
    el("a", { href: productUrl(last.item_id, userId), dataset: { testid: "row-because-item" } },
      item.title || last.item_id)
  );
  row.dataset.itemId = last.item_id;
  fillRow(byTestId("row-because-items"), byTestId("row-because-reason"), similar, userId);
  row.hidden = false;
  setRowState(row, "ready");
}

async function renderHistory(events) {
  const row = byTestId("row-history");
  const recent = events.filter((e) => e.item_id).slice(0, 5);
  const titles = await Promise.all(
    recent.map((e) =>
      api(`/v1/items/${encodeURIComponent(e.item_id)}`)
        .then((item) => item.title || e.item_id)
        .catch(() => e.item_id)
    )
  );
  byTestId("history-list").replaceChildren(
    ...recent.map((e, i) =>
      el("li", { dataset: { testid: "history-event", itemId: e.item_id, type: e.type } },
        el("span", { class: "event-type" }, e.type.replaceAll("_", " ")), " ", titles[i],
        e.timestamp ? el("span", { class: "muted" }, ` · ${new Date(e.timestamp).toLocaleString()}`) : null)
    )
  );
  row.hidden = recent.length === 0;
}

async function render() {
  const userId = select.value;
  const run = ++rendering;
  notice("");
  byTestId("storefront-hint").hidden = Boolean(userId);
  for (const id of ["row-recommended", "row-because", "row-history"]) {
    if (!userId) byTestId(id).hidden = true;
  }
  const profileLink = byTestId("profile-link");
  profileLink.hidden = !userId;
  profileLink.href = userId ? `${ROOT}/shopper/${encodeURIComponent(userId)}` : "#";
  if (!userId) return;
  document.body.dataset.render = "loading";
  try {
    const events = await shopperEvents(userId);
    if (run !== rendering) return;
    await Promise.all([
      renderRecommended(userId),
      renderBecause(userId, events),
      renderExplore(userId),
      renderHistory(events),
    ]);
  } catch (error) {
    reportError(error, "cannot load the recommendations");
  }
  // Tests (and anyone watching) can tell a finished drawing of the latest shopper from a stale one.
  if (run === rendering) document.body.dataset.render = "ready";
}

// Each result's reason, with how much of its score came from the words, the meaning and the
// shopper's own history.
function withShares(item) {
  const shares = (item.explanation && item.explanation.sources) || {};
  const parts = [["lexical", "words"], ["semantic", "meaning"], ["personal", "you"]]
    .filter(([key]) => shares[key] > 0)
    .map(([key, label]) => `${label} ${Math.round(100 * shares[key])}%`);
  return { ...item, reason: parts.length ? `${item.reason} (${parts.join(", ")})` : item.reason };
}

async function runSearch(query) {
  const row = byTestId("row-search");
  const userId = select.value;
  row.hidden = false;
  setRowState(row, "loading");
  const who = userId ? `&user_id=${encodeURIComponent(userId)}` : "";
  try {
    const answer = await api(`/v1/search?q=${encodeURIComponent(query)}&k=${K}${who}`);
    const read = answer.interpretation;
    byTestId("row-search-title").textContent = `Results for “${query}”`;
    byTestId("search-interpretation").textContent = read ? `Read as: ${read.summary}` : "";
    fillRow(
      byTestId("row-search-items"),
      byTestId("row-search-reason"),
      { ...answer, items: answer.items.map(withShares) },
      userId,
      { testid: "search-result", context: { placement: "search", query } }
    );
    setRowState(row, answer.items.length ? "ready" : "empty");
    if (userId) {
      // The search and what it showed feed the shopper's profile (their interests).
      sendSearch(userId, query, answer.items.map((i) => i.item_id)).catch(() => {});
    }
  } catch (error) {
    setRowState(row, "error");
    reportError(error, "cannot search");
  }
}

byTestId("search-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const query = byTestId("search-input").value.trim();
  if (query) runSearch(query);
});

function choose(userId) {
  rememberShopper(userId);
  const url = new URL(window.location.href);
  if (userId) url.searchParams.set("user", userId);
  else url.searchParams.delete("user");
  window.history.replaceState(null, "", url);
  render();
}

select.addEventListener("change", () => choose(select.value));

// Any shopper by id: a new one gets trending items, a known one their own rows.
byTestId("shopper-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = byTestId("shopper-input");
  const userId = input.value.trim();
  if (!userId) return;
  addShopper(userId);
  select.value = userId;
  input.value = "";
  choose(userId);
});

// Coming back with the browser's Back button may restore the page from its cache: the shopper's
// rows must reflect the view they just made, so draw them again.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) render();
});

await loadShoppers();
await render();
