// The segments page: the bundle's segments, their sizes and KPIs, a map, and rule segments.

import { api, reportError } from "./api.js";
import { barChart, scatterChart } from "./charts.js";
import { byTestId, el } from "./ui.js";

const section = byTestId("segments");

function percent(value) {
  return value === null || value === undefined ? "–" : `${(100 * value).toFixed(1)}%`;
}

function show(answer) {
  const scores = Object.entries(answer.scores).map(([k, v]) => `${k}: ${v.toFixed(3)}`).join(", ");
  byTestId("segments-criterion").textContent =
    `${answer.segments.length} segments in bundle ${answer.bundle}, their number chosen by the ` +
    `${answer.criterion} (${scores || "too few shoppers to compare"}).`;
  byTestId("plot-segment-sizes").replaceChildren(
    barChart(answer.segments.map((s) => ({ label: s.id, value: s.size })), { label: "shoppers per segment" })
  );
  byTestId("plot-segment-map").replaceChildren(
    scatterChart(
      answer.map.map(([x, y, group]) => ({ x, y, group })),
      answer.segments.map((s) => `${s.id}: ${s.name}`),
      { label: "shoppers by segment" }
    )
  );
  byTestId("segments-table").querySelector("tbody").replaceChildren(
    ...answer.segments.map((s) =>
      el("tr", { dataset: { testid: "segment-row", segment: s.id } },
        el("td", {}, `${s.id}: ${s.name}`),
        el("td", {}, String(s.size)),
        el("td", {}, percent(s.kpis.conversion)),
        el("td", {}, s.kpis.average_order_value === null ? "–" : s.kpis.average_order_value.toFixed(2)),
        el("td", {}, percent(s.kpis.revenue_share)),
        el("td", { class: "muted" }, s.description))
    )
  );
  byTestId("rules-table").querySelector("tbody").replaceChildren(
    ...answer.rules.map((r) =>
      el("tr", { dataset: { testid: "rule-row", segment: r.id } },
        el("td", {}, r.id), el("td", {}, r.name), el("td", {}, String(r.size)),
        el("td", { class: "muted" }, JSON.stringify(r.rules)))
    )
  );
}

try {
  show(await api("/v1/segments"));
  section.dataset.state = "ready";
} catch (error) {
  byTestId("segments-criterion").textContent =
    error.status === 404 ? "The active bundle holds no segments." : "Cannot load the segments.";
  section.dataset.state = "error";
  reportError(error, "cannot load the segments");
}
