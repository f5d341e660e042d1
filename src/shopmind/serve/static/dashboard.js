// The dashboard: catalogue and event statistics, the active bundle's validation metrics, history.

import { api, reportError } from "./api.js";
import { barChart, dailyChart, formatNumber, hbarChart, lineChart, linkChart } from "./charts.js";
import { byTestId, el } from "./ui.js";

const METRIC = /^([a-z_]+)@(\d+)$/i;
/** Days with events the "Events by day" chart shows at most: ten years of daily activity. */
const DAYS = 3660;

function setStat(id, value) {
  byTestId(id).textContent = typeof value === "number" ? value.toLocaleString("en-US") : value;
  byTestId(id).dataset.value = value;
}

async function renderStats() {
  const stats = await api(`/v1/stats?days=${DAYS}`);
  setStat("stat-items", stats.items);
  setStat("stat-users", stats.users);
  setStat("stat-events", stats.events);
  const byType = Object.entries(stats.events_by_type || {})
    .map(([label, value]) => ({ label, value }))
    .sort((a, b) => b.value - a.value);
  byTestId("chart-events-by-type").replaceChildren(barChart(byType, { label: "events by type" }));
  byTestId("chart-events-by-day").replaceChildren(
    dailyChart(stats.events_by_day || [], { label: "events by day", name: "events" })
  );
  const categories = (stats.top_categories || []).map((c) => ({
    label: Array.isArray(c.category) ? c.category.join(" › ") : c.category,
    value: c.items,
  }));
  byTestId("chart-top-categories").replaceChildren(
    hbarChart(categories, { label: "products per top category" })
  );
  byTestId("stats").dataset.state = "ready";
}

/** The validation metrics of a manifest, as {model: {"ndcg@10": value, ...}} (numbers only). */
function validationMetrics(manifest) {
  const raw = manifest.metrics || (manifest.validation && manifest.validation.metrics) || {};
  const metrics = {};
  for (const [model, values] of Object.entries(raw)) {
    if (!values || typeof values !== "object") continue;
    const numeric = Object.entries(values).filter(
      ([name, value]) => METRIC.test(name) && typeof value === "number"
    );
    if (numeric.length) metrics[model] = Object.fromEntries(numeric);
  }
  return metrics;
}

/** Metric columns ordered by family then K: recall@10, recall@20, ndcg@10, … */
function metricNames(metrics) {
  const names = new Set(Object.values(metrics).flatMap((values) => Object.keys(values)));
  return [...names].sort((a, b) => {
    const [, fa, ka] = a.match(METRIC);
    const [, fb, kb] = b.match(METRIC);
    return fa === fb ? Number(ka) - Number(kb) : fa.localeCompare(fb);
  });
}

function metricsTable(metrics, names) {
  const best = Object.fromEntries(
    names.map((n) => [n, Math.max(...Object.values(metrics).map((v) => v[n] ?? -Infinity))])
  );
  return [
    el("thead", {}, el("tr", {}, el("th", {}, "model"), names.map((n) => el("th", {}, n)))),
    el("tbody", {},
      Object.entries(metrics).map(([model, values]) =>
        el("tr", { dataset: { model } }, el("th", {}, model),
          names.map((n) =>
            el("td", { class: values[n] === best[n] ? "best" : null },
              values[n] === undefined ? "–" : values[n].toFixed(4))
          ))
      )),
  ];
}

function plotByModel(metrics, metric) {
  const data = Object.entries(metrics)
    .filter(([, values]) => values[metric] !== undefined)
    .map(([label, values]) => ({ label, value: values[metric] }));
  byTestId("plot-by-model").replaceChildren(barChart(data, { label: `${metric} by model` }));
  byTestId("plot-by-model").dataset.metric = metric;
}

function plotByK(metrics, family) {
  const series = Object.entries(metrics).map(([name, values]) => ({
    name,
    points: Object.entries(values)
      .map(([metric, y]) => [metric.match(METRIC), y])
      .filter(([m]) => m[1] === family)
      .map(([m, y]) => ({ x: Number(m[2]), y })),
  }));
  byTestId("plot-by-k").replaceChildren(lineChart(series, { label: `${family} by K`, xLabel: "K" }));
  byTestId("plot-by-k").dataset.family = family;
}

function choose(select, options, preferred, onChange) {
  select.replaceChildren(...options.map((o) => el("option", { value: o }, o)));
  select.value = options.includes(preferred) ? preferred : options[0];
  select.onchange = () => onChange(select.value);
  onChange(select.value);
}

async function renderActiveBundle() {
  const section = byTestId("active-bundle");
  let manifest;
  try {
    manifest = await api("/v1/bundles/active");
  } catch (error) {
    if (error.status === 404 || error.status === 503) {
      byTestId("active-bundle-info").textContent =
        "No bundle is active yet: train one (shopmind train, or shopmind demo).";
      setStat("stat-bundle", "none");
      section.dataset.state = "empty";
      return;
    }
    throw error;
  }
  byTestId("active-bundle-version").textContent = manifest.version;
  setStat("stat-bundle", manifest.version);
  const models = manifest.models
    ? (Array.isArray(manifest.models) ? manifest.models : Object.keys(manifest.models))
    : [];
  const data = manifest.data || manifest.snapshot || {};
  const facts = [
    manifest.created ? `created ${new Date(manifest.created).toLocaleString()}` : null,
    models.length ? `models: ${models.map((m) => (typeof m === "string" ? m : m.name)).join(", ")}` : null,
    data.items !== undefined ? `trained on ${formatNumber(data.items)} products` : null,
    data.users !== undefined ? `${formatNumber(data.users)} shoppers` : null,
    data.events !== undefined ? `${formatNumber(data.events)} events` : null,
    manifest.blend ? `blend: ${Object.entries(manifest.blend).map(([m, w]) => `${m} ${w}`).join(", ")}` : null,
  ].filter(Boolean);
  byTestId("active-bundle-info").textContent = facts.join(" · ");

  renderRanker(manifest.ranking);
  const metrics = validationMetrics(manifest);
  const names = metricNames(metrics);
  byTestId("metrics-table").replaceChildren(...metricsTable(metrics, names));
  if (names.length) {
    choose(byTestId("metric-select"), names, "ndcg@10", (m) => plotByModel(metrics, m));
    const families = [...new Set(names.map((n) => n.match(METRIC)[1]))];
    choose(byTestId("family-select"), families, "ndcg", (f) => plotByK(metrics, f));
  } else {
    byTestId("plot-by-model").replaceChildren(barChart([], { label: "no metrics" }));
    byTestId("plot-by-k").replaceChildren(barChart([], { label: "no metrics" }));
  }
  section.dataset.state = "ready";
}

// What the bundle ranks with: the scorer it serves, and (for LightGBM) each feature's share
// of the model's total split gain, the 15 largest.
function renderRanker(ranking) {
  const info = byTestId("ranker-info");
  const plot = byTestId("plot-importances");
  if (!ranking) {
    info.textContent = "This bundle blends its models with fixed weights (trained before the ranker).";
    plot.replaceChildren(hbarChart([], { label: "no ranker" }));
    return;
  }
  const sources = Object.entries(ranking.per_source || {}).map(([s, n]) => `${s} ${n}`).join(", ");
  const served = (ranking.metrics || {})[ranking.scorer] || {};
  const ndcg = served["ndcg@10"] !== undefined ? ` · held-out ndcg@10 ${formatNumber(served["ndcg@10"])}` : "";
  info.textContent = `scorer: ${ranking.scorer}${ndcg} · candidates per source: ${sources}`;
  const importances = Object.entries(ranking.importances || {})
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([label, value]) => ({ label, value }));
  plot.replaceChildren(
    hbarChart(importances, { label: importances.length ? "feature importance (share of gain)" : "no feature importances for this scorer" })
  );
  plot.dataset.state = "ready";
}

function bestScore(metrics, name) {
  const values = Object.entries(validationMetrics({ metrics }))
    .filter(([, v]) => v[name] !== undefined)
    .sort((a, b) => b[1][name] - a[1][name]);
  return values.length ? `${values[0][0]} ${values[0][1][name].toFixed(4)}` : "–";
}

async function renderBundles() {
  const answer = await api("/v1/bundles");
  const table = byTestId("bundles-table");
  table.replaceChildren(
    el("thead", {}, el("tr", {},
      ["version", "created", "models", "best ndcg@10", ""].map((h) => el("th", {}, h)))),
    el("tbody", {},
      (answer.bundles || []).map((b) =>
        el("tr", { class: b.active ? "active" : null, dataset: { testid: "bundle-row", version: b.version, active: String(Boolean(b.active)) } },
          el("td", {}, el("code", {}, b.version)),
          el("td", {}, b.created ? new Date(b.created).toLocaleString() : "–"),
          el("td", {}, (b.models || []).map((m) => (typeof m === "string" ? m : m.name)).join(", ")),
          el("td", {}, bestScore(b.metrics || {}, "ndcg@10")),
          el("td", {}, b.active ? el("span", { class: "badge" }, "active") : ""))
      ))
  );
  if (!(answer.bundles || []).length) {
    table.append(el("tbody", {}, el("tr", {}, el("td", { colspan: 5 }, "No bundle yet."))));
  }
  table.dataset.state = "ready";
}

// The category graph's strongest links: which categories shoppers go on to from which.
async function renderCategoryGraph() {
  const panel = byTestId("category-graph");
  const graph = await api("/v1/categories/graph?limit=14");
  byTestId("category-graph-info").textContent = graph.reason ||
    `The ${graph.edges.length} strongest of the category graph's links (${graph.categories} ` +
    `categories at level ${graph.level || "leaf"}): shoppers in the left category go on to the ` +
    "right one more often than its size explains; thicker lines have a higher lift. Complements " +
    "and the \"Explore new categories\" row follow them.";
  byTestId("chart-category-graph").replaceChildren(linkChart(graph.edges, { label: "category graph" }));
  panel.dataset.state = "ready";
}

for (const [part, what] of [
  [renderStats, "cannot load the statistics"],
  [renderCategoryGraph, "cannot load the category graph"],
  [renderActiveBundle, "cannot load the active bundle"],
  [renderBundles, "cannot load the bundle history"],
]) {
  part().catch((error) => reportError(error, what));
}
