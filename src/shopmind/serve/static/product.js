// A product page: details, "Similar items" and "Goes with" (clicking one records a view).

import { api, notice, reportError, sendAction } from "./api.js";
import { byTestId, currentShopper, fillRow, formatCategory, formatPrice, el, swatch } from "./ui.js";

const K = 12;
const article = byTestId("product");
const itemId = article.dataset.itemId;
const userId = currentShopper();
// The request id of the list this page was opened from (its cart and purchase carry it).
const openedFrom = new URLSearchParams(window.location.search).get("from");

// "Add to cart" and "Buy": the shopper's next steps, recorded as their events (the online
// metrics attribute them to the list that showed the item, within the attribution window).
function setUpActions(item) {
  const actions = byTestId("product-actions");
  actions.hidden = !userId;
  if (!userId) return;
  for (const [testid, type, done] of [
    ["add-to-cart", "add_to_cart", "Added to the cart"],
    ["buy", "purchase", "Bought"],
  ]) {
    byTestId(testid).onclick = async () => {
      try {
        const price = type === "purchase" ? item.price : null;
        await sendAction(userId, item.item_id, type, price, openedFrom);
        notice(`${done}: ${item.title || item.item_id}`, "info");
        actions.dataset.last = type;
      } catch (error) {
        reportError(error, `cannot record ${type.replaceAll("_", " ")}`);
      }
    };
  }
}

function showItem(item) {
  setUpActions(item);
  document.title = `${item.title} · shopmind`;
  byTestId("product-title").textContent = item.title || item.item_id;
  byTestId("product-category").textContent = formatCategory(item.category);
  byTestId("product-brand").textContent = item.brand ? `by ${item.brand}` : "";
  byTestId("product-price").textContent = formatPrice(item.price, item.currency);
  byTestId("product-availability").textContent =
    item.available === false ? "Currently unavailable" : "In stock";
  byTestId("product-description").textContent = item.description || "";
  const attributes = Object.entries(item.attributes || {}).filter(
    ([, value]) => value !== null && typeof value !== "object"
  );
  byTestId("product-attributes").replaceChildren(
    ...attributes.flatMap(([name, value]) => [el("dt", {}, name), el("dd", {}, String(value))])
  );
  article.querySelector(".product-visual").style.background = swatch(item.category);
}

async function render() {
  if (userId) {
    byTestId("product-shopper").textContent = `· shopping as ${userId}`;
    byTestId("back-to-storefront").href += `?user=${encodeURIComponent(userId)}`;
  }
  try {
    showItem(await api(`/v1/items/${encodeURIComponent(itemId)}`));
    article.dataset.state = "ready";
  } catch (error) {
    byTestId("product-title").textContent = error.status === 404 ? "No such product" : "…";
    article.dataset.state = "error";
    reportError(error, `cannot load product ${itemId}`);
  }
  byTestId("row-complementary-anchor").textContent = byTestId("product-title").textContent;
  await Promise.all([
    loadRow("similar", "similar items"),
    loadRow("complementary", "what goes with this item"),
  ]);
}

// One item-anchored row: /v1/items/{id}/{kind} into #row-{kind}.
async function loadRow(kind, what) {
  const row = byTestId(`row-${kind}`);
  try {
    const who = userId ? `&user_id=${encodeURIComponent(userId)}` : "";
    const answer = await api(`/v1/items/${encodeURIComponent(itemId)}/${kind}?k=${K}${who}`);
    fillRow(byTestId(`row-${kind}-items`), byTestId(`row-${kind}-reason`), answer, userId);
    row.dataset.state = "ready";
  } catch (error) {
    row.dataset.state = "error";
    reportError(error, `cannot load ${what}`);
  }
}

await render();
