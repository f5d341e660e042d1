// Small SVG charts drawn by hand: horizontal/vertical bars and lines with axes and labels.

const SVG = "http://www.w3.org/2000/svg";
export const PALETTE = ["#3b6fd8", "#e07a2e", "#2e9e6a", "#c2417a", "#7d5bd6", "#9a8a2a", "#2a9ab0", "#6b6b6b"];

function svgEl(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  if (text !== undefined) node.textContent = String(text);
  return node;
}

function svgRoot(width, height, label) {
  return svgEl("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width: "100%",
    role: "img",
    "aria-label": label,
    class: "plot",
  });
}

function niceMax(value, integer = false) {
  if (integer && value <= 4) return 4;
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

export function formatNumber(value) {
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString();
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) < 1 ? value.toFixed(4) : value.toFixed(2);
}

function empty(label) {
  const root = svgRoot(400, 60, label);
  root.append(svgEl("text", { x: 200, y: 34, "text-anchor": "middle", class: "muted" }, "no data"));
  return root;
}

/** The SVG root and its plot area, with four horizontal grid lines labelled 0 … ``top``. */
function framedPlot(width, height, label, margin, inner, top) {
  const root = svgRoot(width, height, label);
  const plot = svgEl("g", { transform: `translate(${margin.left},${margin.top})` });
  root.append(plot);
  for (let i = 0; i <= 4; i++) {
    const y = inner.h - (inner.h * i) / 4;
    plot.append(svgEl("line", { x1: 0, x2: inner.w, y1: y, y2: y, class: "grid" }));
    plot.append(svgEl("text", { x: -6, y: y + 4, "text-anchor": "end", class: "tick" },
      formatNumber((top * i) / 4)));
  }
  return { root, plot };
}

/**
 * Vertical bars, one per datum ({label, value}); each bar carries data-label and data-value.
 */
export function barChart(data, { label = "chart", height = 220, colors = PALETTE } = {}) {
  if (!data.length) return empty(label);
  const width = Math.max(360, data.length * 72 + 60);
  const margin = { top: 22, right: 12, bottom: 44, left: 56 };
  const inner = { w: width - margin.left - margin.right, h: height - margin.top - margin.bottom };
  const top = niceMax(Math.max(...data.map((d) => d.value)), data.every((d) => Number.isInteger(d.value)));
  const { root, plot } = framedPlot(width, height, label, margin, inner, top);
  const band = inner.w / data.length;
  const barWidth = Math.min(44, band * 0.7);
  data.forEach((d, i) => {
    const h = (inner.h * Math.max(0, d.value)) / top;
    const x = i * band + (band - barWidth) / 2;
    const bar = svgEl("rect", {
      x, y: inner.h - h, width: barWidth, height: h,
      fill: colors[i % colors.length], class: "bar",
      "data-label": d.label, "data-value": d.value,
    });
    bar.append(svgEl("title", {}, `${d.label}: ${formatNumber(d.value)}`));
    plot.append(bar);
    plot.append(svgEl("text", { x: x + barWidth / 2, y: inner.h - h - 5, "text-anchor": "middle", class: "value" },
      formatNumber(d.value)));
    plot.append(svgEl("text", { x: x + barWidth / 2, y: inner.h + 16, "text-anchor": "middle", class: "tick" },
      String(d.label).replaceAll("_", " ").slice(0, 14)));
  });
  return root;
}

/** Horizontal bars for long labels (e.g. categories). */
export function hbarChart(data, { label = "chart", color = PALETTE[0] } = {}) {
  if (!data.length) return empty(label);
  const row = 24;
  const margin = { top: 8, right: 60, bottom: 8, left: 240 };
  const width = 1000;
  const height = margin.top + margin.bottom + data.length * row;
  const top = Math.max(...data.map((d) => d.value)) || 1;
  const root = svgRoot(width, height, label);
  const inner = width - margin.left - margin.right;
  data.forEach((d, i) => {
    const y = margin.top + i * row;
    const w = (inner * d.value) / top;
    root.append(svgEl("text", { x: margin.left - 8, y: y + 16, "text-anchor": "end", class: "tick" },
      String(d.label).length > 34 ? `${String(d.label).slice(0, 33)}…` : d.label));
    const bar = svgEl("rect", { x: margin.left, y: y + 4, width: w, height: row - 8, fill: color,
      class: "bar", "data-label": d.label, "data-value": d.value });
    bar.append(svgEl("title", {}, `${d.label}: ${formatNumber(d.value)}`));
    root.append(bar);
    root.append(svgEl("text", { x: margin.left + w + 6, y: y + 16, class: "value" }, formatNumber(d.value)));
  });
  return root;
}

/**
 * Lines over a numeric or ordinal x: series = [{name, points: [{x, y}]}]. Each series is a
 * <g class="series" data-series=name> with a path and its points; a legend names them.
 */
export function lineChart(
  series,
  { label = "chart", xLabel = "", height = 240, ordinalX = false, width = 460 } = {}
) {
  const points = series.flatMap((s) => s.points);
  if (!points.length) return empty(label);
  const xs = [...new Set(points.map((p) => p.x))];
  if (!ordinalX) xs.sort((a, b) => a - b);
  const margin = { top: 16, right: 120, bottom: 40, left: 56 };
  const inner = { w: width - margin.left - margin.right, h: height - margin.top - margin.bottom };
  const top = niceMax(Math.max(...points.map((p) => p.y)), points.every((p) => Number.isInteger(p.y)));
  const xAt = (x) => (xs.length === 1 ? inner.w / 2 : (inner.w * xs.indexOf(x)) / (xs.length - 1));
  const yAt = (y) => inner.h - (inner.h * y) / top;
  const { root, plot } = framedPlot(width, height, label, margin, inner, top);
  const every = Math.ceil(xs.length / 8);
  xs.forEach((x, i) => {
    if (i % every !== 0 && i !== xs.length - 1) return;
    plot.append(svgEl("text", { x: xAt(x), y: inner.h + 16, "text-anchor": "middle", class: "tick" }, x));
  });
  if (xLabel) {
    plot.append(svgEl("text", { x: inner.w / 2, y: inner.h + 34, "text-anchor": "middle", class: "axis" }, xLabel));
  }
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const group = svgEl("g", { class: "series", "data-series": s.name });
    const ordered = [...s.points].sort((a, b) => xs.indexOf(a.x) - xs.indexOf(b.x));
    const d = ordered.map((p, j) => `${j ? "L" : "M"}${xAt(p.x)},${yAt(p.y)}`).join(" ");
    group.append(svgEl("path", { d, fill: "none", stroke: color, "stroke-width": 2 }));
    for (const p of ordered.length <= 40 ? ordered : []) {
      const dot = svgEl("circle", { cx: xAt(p.x), cy: yAt(p.y), r: 3.5, fill: color, class: "point",
        "data-x": p.x, "data-y": p.y });
      dot.append(svgEl("title", {}, `${s.name} @${p.x}: ${formatNumber(p.y)}`));
      group.append(dot);
    }
    plot.append(group);
    const ly = 8 + i * 18;
    root.append(svgEl("rect", { x: width - margin.right + 12, y: ly, width: 12, height: 12, fill: color }));
    root.append(svgEl("text", { x: width - margin.right + 30, y: ly + 10, class: "tick" }, s.name));
  });
  return root;
}
