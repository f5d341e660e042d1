// A shopper's page: their profile from GET /v1/users/{id}/profile.

import { api, reportError } from "./api.js";
import { hbarChart, barChart } from "./charts.js";
import { byTestId, el } from "./ui.js";

const section = byTestId("profile");
const userId = section.dataset.userId;

function percent(value) {
  return value === null || value === undefined ? "–" : `${Math.round(100 * value)}%`;
}

function show(profile) {
  document.title = `${userId} · shopmind`;
  const a = profile.activity;
  byTestId("profile-title").textContent = userId;
  byTestId("profile-summary").textContent =
    `${a.lifecycle.replace("_", " ")} · ${Object.values(a.events).reduce((s, n) => s + n, 0)} events · ` +
    `${a.sessions} sessions · last seen ${a.recency_days === null ? "never" : `${a.recency_days.toFixed(1)} days`} ` +
    `before ${profile.as_of.slice(0, 10)}`;
  byTestId("profile-segment").textContent = profile.segment
    ? `Segment: ${profile.segment.name} (${profile.segment.id})`
    : "Segment: none yet";
  const top = (profile.categories[0] || { affinities: [] }).affinities;
  byTestId("plot-categories").replaceChildren(
    hbarChart(top.map((x) => ({ label: x.name, value: Math.round(1000 * x.share) / 10 })), {
      label: "category affinity (% of attention)", width: 520, left: 180,
    })
  );
  byTestId("category-reasons").replaceChildren(...top.slice(0, 3).map((x) => el("li", {}, x.because)));
  byTestId("plot-brands").replaceChildren(
    hbarChart(profile.brands.slice(0, 8).map((x) => ({ label: x.name, value: Math.round(1000 * x.share) / 10 })), {
      label: "brand affinity (% of attention)", width: 520, left: 140,
    })
  );
  const price = profile.price;
  byTestId("profile-price").textContent =
    price.percentile === null
      ? "No priced items yet."
      : `${price.band}: at the ${Math.round(price.percentile)}th percentile of their categories' prices` +
        (price.sensitivity === null ? "" : ` · buys ${price.sensitivity > 0 ? "below" : "above"} what they browse`);
  const meter = byTestId("price-meter").querySelector("span");
  meter.style.width = `${price.percentile === null ? 0 : price.percentile}%`;
  meter.dataset.value = price.percentile === null ? "" : String(price.percentile);
  byTestId("profile-activity").textContent =
    `first ${a.first_at ? a.first_at.slice(0, 10) : "–"}, last ${a.last_at ? a.last_at.slice(0, 10) : "–"} · ` +
    `${a.purchases} purchase${a.purchases === 1 ? "" : "s"}` + (a.monetary === null ? "" : ` worth ${a.monetary.toFixed(2)}`);
  byTestId("plot-events").replaceChildren(
    barChart(Object.entries(a.events).map(([type, n]) => ({ label: type, value: n })), { label: "events by type" })
  );
  const f = a.funnel;
  byTestId("profile-funnel").textContent =
    `viewed ${f.viewed} → carted ${f.carted} (${percent(f.view_to_cart)}) → bought ${f.purchased} ` +
    `(${percent(f.cart_to_purchase)} of carts)`;
  byTestId("interest-tags").replaceChildren(
    ...(profile.interests.length
      ? profile.interests.map((i) =>
          el("span", { class: "tag", dataset: { testid: "interest" } },
            `${i.category || "interest"}: ${i.tags.join(", ")} (${percent(i.share)})`)
        )
      : [el("span", { class: "muted" }, "No interests yet (the bundle has no text model, or no items with text).")])
  );
}

try {
  show(await api(`/v1/users/${encodeURIComponent(userId)}/profile`));
  section.dataset.state = "ready";
} catch (error) {
  byTestId("profile-title").textContent = error.status === 404 ? `No shopper ${userId}` : userId;
  section.dataset.state = "error";
  reportError(error, `cannot load the profile of ${userId}`);
}
