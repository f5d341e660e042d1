// The dashboard: catalogue and event statistics, the online figures and experiments, the active
// bundle's validation metrics, history.

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

/** The retrain guard's decision on a bundle: activated or kept inactive, and why. */
function guardDecision(decision) {
  if (!decision) return "–";
  const activated = Boolean(decision.activate);
  return el("div", { dataset: { testid: "bundle-decision", activate: String(activated) }, title: decision.why || "" },
    el("span", { class: activated ? "badge" : null }, activated ? "activated" : "kept inactive"),
    decision.why ? el("div", { class: "muted", dataset: { testid: "bundle-decision-why" } }, decision.why) : null);
}

async function renderBundles() {
  const answer = await api("/v1/bundles");
  const table = byTestId("bundles-table");
  table.replaceChildren(
    el("thead", {}, el("tr", {},
      ["version", "created", "models", "best ndcg@10", "guard", ""].map((h) => el("th", {}, h)))),
    el("tbody", {},
      (answer.bundles || []).map((b) =>
        el("tr", { class: b.active ? "active" : null, dataset: { testid: "bundle-row", version: b.version, active: String(Boolean(b.active)) } },
          el("td", {}, el("code", {}, b.version)),
          el("td", {}, b.created ? new Date(b.created).toLocaleString() : "–"),
          el("td", {}, (b.models || []).map((m) => (typeof m === "string" ? m : m.name)).join(", ")),
          el("td", {}, bestScore(b.metrics || {}, "ndcg@10")),
          el("td", { style: "white-space: normal; min-width: 16rem" }, guardDecision(b.decision)),
          el("td", {}, b.active ? el("span", { class: "badge" }, "active") : ""))
      ))
  );
  if (!(answer.bundles || []).length) {
    table.append(el("tbody", {}, el("tr", {}, el("td", { colspan: 6 }, "No bundle yet."))));
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

// --- the online loop: what was shown, what came of it, and the experiments ------------------

/** A rate as a percentage ("4.2%"); "–" when there is none (nothing shown). */
function percent(value) {
  return value === null || value === undefined ? "–" : `${formatNumber(100 * value)}%`;
}

function figure(value) {
  return value === null || value === undefined ? "–" : formatNumber(value);
}

/** A table cell showing ``value`` formatted, with the raw value as data-value (none if null). */
function valueCell(col, value, text, attrs = {}) {
  const dataset = { col };
  if (value !== null && value !== undefined) dataset.value = value;
  return el("td", { ...attrs, dataset: { ...dataset, ...(attrs.dataset || {}) } }, text);
}

const ONLINE_COLUMNS = [
  ["impressions", "impressions", figure],
  ["clicks", "clicks", figure],
  ["ctr", "CTR", percent],
  ["atc_rate", "add-to-cart rate", percent],
  ["cvr", "conversion rate", percent],
  ["revenue_per_impression", "revenue per impression", figure],
];
const OUTCOME_NAMES = { click: "clicks", view: "views", add_to_cart: "add-to-carts", purchase: "purchases" };
const METRIC_NAMES = {
  ctr: "CTR",
  atc_rate: "add-to-cart rate",
  cvr: "conversion rate",
  revenue_per_impression: "revenue per impression",
};
/** The metrics that are rates (shown as percentages; differences in percentage points). */
const RATES = new Set(["ctr", "atc_rate", "cvr"]);

function onlineTable(groups) {
  return [
    el("thead", {}, el("tr", {}, el("th", {}, "key"), ONLINE_COLUMNS.map(([, title]) => el("th", {}, title)))),
    el("tbody", {},
      groups.map((g) =>
        el("tr", { dataset: { key: g.key } }, el("th", {}, g.key),
          ONLINE_COLUMNS.map(([name, , format]) => valueCell(name, g[name], format(g[name])))))),
  ];
}

/** How the outcomes were attributed, as "12 clicks carrying the list's request id · …". */
function attributedLine(attributed, windowHours) {
  const how = {
    request: "carrying the list's request id",
    window: `within ${formatNumber(windowHours)} h of an impression of the item`,
    unattributed: "not attributed to any list",
  };
  const entries = Object.entries(attributed || {}).filter(([, n]) => n > 0).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return ["No clicks, carts or purchases attributed to the lists shown yet."];
  const parts = entries.map(([key, n]) => {
    const [type, way] = key.split(".");
    return el("span", { dataset: { testid: "attributed", key, value: n } },
      `${formatNumber(n)} ${OUTCOME_NAMES[type] || type} ${how[way] || way}`);
  });
  return ["Outcomes: ", parts.flatMap((part, i) => (i ? [" · ", part] : [part]))];
}

let onlineDrawn = 0;

/** The online figures grouped ``by``: the table, the CTR chart and the attribution counts. */
async function renderOnline(by) {
  const panel = byTestId("online");
  const drawing = ++onlineDrawn;
  panel.dataset.state = "loading";
  const metrics = await api(`/v1/metrics/online?by=${encodeURIComponent(by)}`);
  if (drawing !== onlineDrawn) return; // another grouping was asked for meanwhile
  const groups = metrics.groups || [];
  const shown = groups.reduce((sum, g) => sum + g.impressions, 0);
  byTestId("online-info").textContent =
    `Items shown from ${new Date(metrics.since).toLocaleString()} to ${new Date(metrics.until).toLocaleString()} ` +
    `(the last 7 days): ${formatNumber(shown)} impressions in ` +
    `${formatNumber(groups.reduce((sum, g) => sum + g.lists, 0))} lists. Rates are per item shown; ` +
    `a cart or purchase counts for a list up to ${formatNumber(metrics.window_hours)} h after it.`;
  byTestId("online-empty").hidden = shown > 0;
  byTestId("online-body").hidden = shown === 0;
  byTestId("online-table").replaceChildren(...onlineTable(groups));
  const ctr = groups.filter((g) => g.ctr !== null && g.ctr !== undefined).map((g) => ({ label: g.key, value: g.ctr }));
  byTestId("chart-online-ctr").replaceChildren(barChart(ctr, { label: `CTR by ${by}` }));
  byTestId("online-attributed").replaceChildren(...attributedLine(metrics.attributed, metrics.window_hours).flat());
  panel.dataset.by = by;
  panel.dataset.impressions = shown;
  panel.dataset.state = "ready";
}

/** Impressions or CTR per day (the last 7 days). */
async function renderOnlineDaily() {
  const chart = byTestId("chart-online-daily");
  const metrics = await api("/v1/metrics/online?by=day");
  const draw = (metric) => {
    const days = (metrics.groups || [])
      .filter((g) => g[metric] !== null && g[metric] !== undefined)
      .map((g) => ({ day: g.key, count: g[metric] }));
    const name = metric === "ctr" ? "CTR" : "impressions";
    chart.replaceChildren(dailyChart(days, { label: `${name} by day`, name, integer: metric !== "ctr" }));
    chart.dataset.metric = metric;
    chart.dataset.state = "ready";
  };
  const select = byTestId("online-daily-metric");
  select.onchange = () => draw(select.value);
  draw(select.value);
}

function setUpOnline() {
  const select = byTestId("online-by");
  select.value = "placement";
  select.onchange = () => renderOnline(select.value).catch((error) => reportError(error, "cannot load the online figures"));
  return renderOnline(select.value);
}

/** A rate and, on a second line, its 95% interval: "4.2%" / "3.1% to 5.3%". */
function estimateCell(col, metric, estimate) {
  const format = RATES.has(metric) ? percent : figure;
  const dataset = { col };
  for (const key of ["value", "low", "high"]) {
    if (estimate && estimate[key] !== null && estimate[key] !== undefined) dataset[key] = estimate[key];
  }
  if (!estimate || estimate.value === null || estimate.value === undefined) return el("td", { dataset }, "–");
  const interval = estimate.low !== null && estimate.high !== null
    ? el("div", { class: "muted", title: "95% interval" }, `${format(estimate.low)} to ${format(estimate.high)}`)
    : null;
  return el("td", { dataset }, format(estimate.value), interval);
}

/** The difference from the control: "+1.2 pp (+15%)" for a rate. */
function difference(versus) {
  if (!versus || versus.difference === null) return "–";
  const sign = (v) => (v > 0 ? "+" : "");
  const rate = RATES.has(versus.metric);
  const diff = rate ? `${sign(versus.difference)}${formatNumber(100 * versus.difference)} pp`
    : `${sign(versus.difference)}${formatNumber(versus.difference)}`;
  const relative = versus.relative !== null ? ` (${sign(versus.relative)}${formatNumber(100 * versus.relative)}%)` : "";
  return `${diff}${relative}`;
}

function moreNeeded(versus) {
  if (!versus) return "";
  if (versus.more_impressions === null || versus.more_impressions === undefined) return "no difference seen yet";
  if (versus.more_impressions === 0) return "enough impressions";
  return `${formatNumber(versus.more_impressions)} more impressions needed`;
}

/** One arm's row; ``act(path, what)`` calls an admin endpoint (null: the experiment has ended). */
function armRow(experiment, arm, index, act) {
  const versus = arm.versus_control;
  const running = experiment.status === "running" && !arm.stopped;
  const base = `/v1/admin/experiments/${encodeURIComponent(experiment.id)}/arms/${encodeURIComponent(arm.name)}`;
  const buttons = running && act
    ? [
        index > 0
          ? el("button", { type: "button", class: "secondary", dataset: { testid: "arm-stop" },
              onclick: () => act(`${base}/stop`, `cannot stop the arm ${arm.name}`) }, "Stop")
          : null,
        el("button", { type: "button", dataset: { testid: "arm-promote" },
          onclick: () => act(`${base}/promote`, `cannot promote the arm ${arm.name}`, true) }, "Promote"),
      ]
    : [];
  const metric = experiment.metric;
  return el("tr", {
    dataset: { testid: "arm-row", arm: arm.name, stopped: String(Boolean(arm.stopped)), control: String(index === 0) },
    class: arm.stopped ? "muted" : null,
  },
  el("th", { style: "white-space: normal; max-width: 12rem" }, arm.name,
    el("div", { class: "muted", style: "font-weight: normal", dataset: { testid: "arm-serves" } },
      index === 0 ? "the control: " : "",
      arm.bundle ? ["bundle ", el("code", { style: "word-break: break-all" }, arm.bundle)] : "the active bundle",
      arm.rules ? [", rules ", el("code", {}, arm.rules)] : ", the active rules")),
  valueCell("share", arm.share, percent(arm.share)),
  valueCell("impressions", arm.impressions, figure(arm.impressions)),
  estimateCell("ctr", "ctr", (arm.metrics || {}).ctr),
  metric !== "ctr" ? estimateCell(metric, metric, (arm.metrics || {})[metric]) : null,
  valueCell("difference", versus ? versus.difference : null, index === 0 ? "control" : difference(versus)),
  valueCell("p_value", versus ? versus.p_value : null, versus ? figure(versus.p_value) : ""),
  el("td", { dataset: { col: "verdict", ...(versus ? { significant: String(versus.significant) } : {}) } },
    versus ? (versus.significant ? "significant" : "not yet") : ""),
  valueCell("more", versus ? versus.more_impressions : null, moreNeeded(versus), { style: "white-space: normal" }),
  el("td", { dataset: { col: "state" } },
    arm.stopped
      ? el("span", { class: "muted", dataset: { testid: "arm-stopped" },
          title: `stopped ${new Date(arm.stopped).toLocaleString()}${arm.stopped_why ? `: ${arm.stopped_why}` : ""}` },
        "stopped")
      : null,
    buttons.length
      ? el("span", { style: "display: flex; flex-wrap: wrap; justify-content: flex-end; gap: 0.4rem" }, buttons)
      : null));
}

function armsTable(results, act) {
  const experiment = results.experiment;
  const metric = experiment.metric;
  const headers = [
    "arm (what it serves)", "share", "impressions", "CTR (95% interval)",
    metric !== "ctr" ? `${METRIC_NAMES[metric] || metric} (95% interval)` : null,
    `vs control (${METRIC_NAMES[metric] || metric})`, "p-value", "decision", "to decide", "",
  ].filter((h) => h !== null);
  return [
    el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
    el("tbody", {}, results.arms.map((arm, i) => armRow(experiment, arm, i, act))),
  ];
}

/** The running experiment (or the last one's decision) with its arms' figures and controls. */
async function renderExperiments() {
  const panel = byTestId("experiments");
  const listed = await api("/v1/experiments");
  const experiments = listed.experiments || [];
  const running = listed.running ? experiments.find((e) => e.id === listed.running) : null;
  const last = running ? null : experiments.find((e) => e.status === "ended");
  const shown = running || last;
  const info = byTestId("experiment-info");
  const decision = byTestId("experiment-decision");
  const actions = byTestId("experiment-actions");
  actions.replaceChildren();
  decision.hidden = true;
  if (!running) {
    info.textContent = "No experiment is running" +
      (last ? "." : ": start one with POST /v1/admin/experiments (an admin key).");
  }
  if (!shown) {
    byTestId("arms-table").replaceChildren();
    byTestId("chart-arms").replaceChildren();
    byTestId("chart-arms-title").hidden = true;
    panel.dataset.status = "none";
    delete panel.dataset.experiment;
    panel.dataset.state = "ready";
    return;
  }
  const results = await api(`/v1/experiments/${encodeURIComponent(shown.id)}`);
  const experiment = results.experiment;
  const where = experiment.placements.length ? experiment.placements.join(", ") : "every placement";
  const about = `${experiment.name} (${experiment.id}), started ${new Date(experiment.created).toLocaleString()}, ` +
    `on ${where}, judged on ${METRIC_NAMES[experiment.metric] || experiment.metric}`;
  if (running) {
    info.textContent = `Running: ${about}. Each treatment arm is compared with the control, the first.`;
  } else {
    decision.textContent = `The last one, ${about}, ended ${new Date(experiment.ended).toLocaleString()}: ` +
      `${experiment.decision || "no decision recorded"}.`;
    decision.hidden = false;
  }

  const act = running
    ? async (path, what, promoted = false) => {
        for (const button of panel.querySelectorAll("button")) button.disabled = true;
        panel.dataset.state = "loading";
        try {
          await api(path, { method: "POST" });
        } catch (error) {
          reportError(error, what);
        }
        if (promoted) {
          // The promoted arm's bundle may be the active one now.
          renderActiveBundle().catch((error) => reportError(error, "cannot load the active bundle"));
          renderBundles().catch((error) => reportError(error, "cannot load the bundle history"));
        }
        await renderExperiments().catch((error) => reportError(error, "cannot load the experiments"));
      }
    : null;
  byTestId("arms-table").replaceChildren(...armsTable(results, act));
  if (running) {
    actions.replaceChildren(el("button", {
      type: "button", class: "secondary", dataset: { testid: "experiment-end" },
      onclick: () => act(`/v1/admin/experiments/${encodeURIComponent(experiment.id)}/end`, "cannot end the experiment"),
    }, "End the experiment"), el("span", { class: "muted" },
      "Stop sends an arm's shoppers back to the active bundle; Promote makes an arm's bundle and " +
      "rules the active ones and ends the experiment (both need an admin key)."));
  }
  const ctr = results.arms
    .map((arm) => ({ arm, estimate: (arm.metrics || {}).ctr }))
    .filter(({ estimate }) => estimate && estimate.value !== null)
    .map(({ arm, estimate }) => ({ label: arm.name, value: estimate.value, low: estimate.low, high: estimate.high }));
  byTestId("chart-arms-title").hidden = false;
  byTestId("chart-arms").replaceChildren(barChart(ctr, { label: "CTR per arm" }));
  panel.dataset.status = experiment.status;
  panel.dataset.experiment = experiment.id;
  panel.dataset.state = "ready";
}

for (const [part, what] of [
  [renderStats, "cannot load the statistics"],
  [setUpOnline, "cannot load the online figures"],
  [renderOnlineDaily, "cannot load the online figures by day"],
  [renderExperiments, "cannot load the experiments"],
  [renderCategoryGraph, "cannot load the category graph"],
  [renderActiveBundle, "cannot load the active bundle"],
  [renderBundles, "cannot load the bundle history"],
]) {
  part().catch((error) => reportError(error, what));
}
