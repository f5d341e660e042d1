// Small SVG charts drawn by hand: bars, lines and daily counts over a time axis, with axes whose
// labels are measured so that they never overlap. Each chart's <svg> is data-testid="plot", its
// axis labels "x-tick" / "y-tick" (with data-value), its lines "line".

import { dayNumber, formatDay, isoDay, timeTicks } from "./timeaxis.js";

const SVG = "http://www.w3.org/2000/svg";
export const PALETTE = ["#3b6fd8", "#e07a2e", "#2e9e6a", "#c2417a", "#7d5bd6", "#9a8a2a", "#2a9ab0", "#6b6b6b"];
/** Space between two axis labels at least, in SVG units. */
const LABEL_GAP = 12;

const INTEGER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const FRACTION = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 3 });
const DECIMAL = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
const COMPACT = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

/** A number as people read it: "12,345", "0.75", "0.123", "3.14". */
export function formatNumber(value) {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return INTEGER.format(value);
  return Math.abs(value) < 1 ? FRACTION.format(value) : DECIMAL.format(value);
}

/** An axis number: like formatNumber, thousands and more abbreviated ("1.2k", "3.4M"). */
export function formatTick(value) {
  return Math.abs(value) >= 1000 ? COMPACT.format(value).replace("K", "k") : formatNumber(value);
}

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
    "data-testid": "plot",
  });
}

function empty(label) {
  const root = svgRoot(400, 60, label);
  root.setAttribute("width", 400); // drawn at its own size: "no data" is a note, not a headline
  root.append(svgEl("text", { x: 200, y: 34, "text-anchor": "middle", class: "muted" }, "no data"));
  return root;
}

/**
 * A y scale from 0 with about four steps: a round step (1, 2, 2.5 or 5 × 10ⁿ; whole for counts;
 * no 2.5 below 0.025, which would print four decimals) and its top.
 */
function niceScale(max, integer) {
  if (!(max > 0)) return integer ? { top: 4, step: 1 } : { top: 1, step: 0.25 };
  const raw = max / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const steps = [1, 2, power >= 0.01 ? 2.5 : 2, 5, 10]
    .map((m) => m * power)
    .filter((s) => !integer || Number.isInteger(s));
  const step = integer ? Math.max(1, steps.find((s) => s >= raw) ?? 1) : steps.find((s) => s >= raw);
  return { top: step * Math.ceil(max / step - 1e-9), step };
}

/** The SVG root and its plot area, with horizontal grid lines labelled 0 … top. */
function framedPlot(width, height, label, margin, inner, scale) {
  const root = svgRoot(width, height, label);
  const plot = svgEl("g", { transform: `translate(${margin.left},${margin.top})` });
  root.append(plot);
  const count = Math.round(scale.top / scale.step);
  for (let i = 0; i <= count; i++) {
    const value = i * scale.step;
    const y = inner.h - (inner.h * i) / count;
    plot.append(svgEl("line", { x1: 0, x2: inner.w, y1: y, y2: y, class: "grid" }));
    plot.append(svgEl("text", {
      x: -6, y: y + 4, "text-anchor": "end", class: "tick", "data-testid": "y-tick", "data-value": value,
    }, formatTick(value)));
  }
  return { root, plot };
}

/** Widths of texts drawn with ``cls`` in a chart, in SVG units (measured in a hidden SVG). */
function textWidths(texts, cls = "tick") {
  const probe = svgEl("svg", { class: "plot", width: 0, height: 0, style: "position:absolute;visibility:hidden" });
  document.body.append(probe);
  try {
    return texts.map((text) => {
      const node = svgEl("text", { class: cls }, text);
      probe.append(node);
      // An estimate where nothing is laid out (no fonts): ~0.6 em per character at 11px.
      return node.getComputedTextLength() || text.length * 6.6;
    });
  } finally {
    probe.remove();
  }
}

/**
 * Axis labels ([{x, text, ...}]) centred on their x but kept inside [0, width]; null when two
 * would come closer than LABEL_GAP (the caller then thins them).
 */
function placeLabels(labels, width) {
  const widths = textWidths(labels.map((l) => l.text));
  const placed = labels.map((l, i) => {
    const half = widths[i] / 2;
    return { ...l, tickX: l.x, x: Math.min(Math.max(l.x, half), width - half), half };
  });
  const overlaps = placed.some((l, i) => i > 0 && l.x - l.half < placed[i - 1].x + placed[i - 1].half + LABEL_GAP);
  return overlaps ? null : placed;
}

/** Every label, or every 2nd, 3rd, … (always the first) until they fit. */
function thinnedLabels(labels, width) {
  for (let every = 1; every <= labels.length; every++) {
    const placed = placeLabels(labels.filter((_, i) => i % every === 0), width);
    if (placed) return placed;
  }
  return [];
}

function drawXLabels(plot, placed, innerH) {
  for (const l of placed) {
    plot.append(svgEl("line", { x1: l.tickX, x2: l.tickX, y1: innerH, y2: innerH + 4, class: "grid" }));
    plot.append(svgEl("text", {
      x: l.x, y: innerH + 16, "text-anchor": "middle", class: "tick", "data-testid": "x-tick", "data-value": l.value,
    }, l.text));
  }
}

const round = (v) => Math.round(v * 100) / 100;

/**
 * Vertical bars, one per datum ({label, value}); each bar carries data-label and data-value.
 * A datum with numbers ``low`` and ``high`` (e.g. a 95% interval) gets a whisker from one to
 * the other: a <line class="interval"> with data-label, data-low and data-high.
 */
export function barChart(data, { label = "chart", height = 220, colors = PALETTE } = {}) {
  if (!data.length) return empty(label);
  const width = Math.max(360, data.length * 72 + 60);
  const margin = { top: 22, right: 12, bottom: 44, left: 56 };
  const inner = { w: width - margin.left - margin.right, h: height - margin.top - margin.bottom };
  const hasInterval = (d) => Number.isFinite(d.low) && Number.isFinite(d.high);
  const top = Math.max(...data.map((d) => (hasInterval(d) ? Math.max(d.value, d.high) : d.value)));
  const scale = niceScale(top, data.every((d) => Number.isInteger(d.value) && !hasInterval(d)));
  const { root, plot } = framedPlot(width, height, label, margin, inner, scale);
  const band = inner.w / data.length;
  const barWidth = Math.min(44, band * 0.7);
  data.forEach((d, i) => {
    const h = (inner.h * Math.max(0, d.value)) / scale.top;
    const x = i * band + (band - barWidth) / 2;
    const bar = svgEl("rect", {
      x, y: inner.h - h, width: barWidth, height: h,
      fill: colors[i % colors.length], class: "bar",
      "data-label": d.label, "data-value": d.value,
    });
    const interval = hasInterval(d) ? ` (${formatNumber(d.low)} to ${formatNumber(d.high)})` : "";
    bar.append(svgEl("title", {}, `${d.label}: ${formatNumber(d.value)}${interval}`));
    plot.append(bar);
    let above = h;
    if (interval) {
      const cx = x + barWidth / 2;
      const [yLow, yHigh] = [d.low, d.high].map((v) => inner.h - (inner.h * Math.max(0, v)) / scale.top);
      plot.append(svgEl("line", {
        x1: cx, x2: cx, y1: round(yLow), y2: round(yHigh), stroke: "#333", "stroke-width": 1.5,
        class: "interval", "data-label": d.label, "data-low": d.low, "data-high": d.high,
      }));
      for (const y of [yLow, yHigh]) {
        plot.append(svgEl("line", { x1: cx - 5, x2: cx + 5, y1: round(y), y2: round(y), stroke: "#333", "stroke-width": 1.5 }));
      }
      above = Math.max(h, inner.h - yHigh);
    }
    plot.append(svgEl("text", { x: x + barWidth / 2, y: inner.h - above - 5, "text-anchor": "middle", class: "value" },
      formatNumber(d.value)));
    plot.append(svgEl("text", { x: x + barWidth / 2, y: inner.h + 16, "text-anchor": "middle", class: "tick" },
      String(d.label).replaceAll("_", " ").slice(0, 14)));
  });
  return root;
}

/** Horizontal bars for long labels (e.g. categories). */
export function hbarChart(data, { label = "chart", color = PALETTE[0], width = 1000, left = 240 } = {}) {
  if (!data.length) return empty(label);
  const row = 24;
  const margin = { top: 8, right: 60, bottom: 8, left };
  const height = margin.top + margin.bottom + data.length * row;
  const top = Math.max(...data.map((d) => d.value)) || 1;
  const root = svgRoot(width, height, label);
  const inner = width - margin.left - margin.right;
  data.forEach((d, i) => {
    const y = margin.top + i * row;
    const w = (inner * d.value) / top;
    root.append(svgEl("text", { x: margin.left - 8, y: y + 16, "text-anchor": "end", class: "tick" },
      String(d.label).length > left / 7 ? `${String(d.label).slice(0, Math.floor(left / 7) - 1)}…` : d.label));
    const bar = svgEl("rect", { x: margin.left, y: y + 4, width: w, height: row - 8, fill: color,
      class: "bar", "data-label": d.label, "data-value": d.value });
    bar.append(svgEl("title", {}, `${d.label}: ${formatNumber(d.value)}`));
    root.append(bar);
    root.append(svgEl("text", { x: margin.left + w + 6, y: y + 16, class: "value" }, formatNumber(d.value)));
  });
  return root;
}

/**
 * Lines over a numeric x (e.g. K), its values evenly spaced: series = [{name, points: [{x, y}]}].
 * Each series is a <g class="series" data-series=name> with a path and its points; a legend
 * names them.
 */
export function lineChart(series, { label = "chart", xLabel = "", height = 240, width = 460 } = {}) {
  const points = series.flatMap((s) => s.points);
  if (!points.length) return empty(label);
  const xs = [...new Set(points.map((p) => p.x))].sort((a, b) => a - b);
  const margin = { top: 16, right: 120, bottom: 40, left: 56 };
  const inner = { w: width - margin.left - margin.right, h: height - margin.top - margin.bottom };
  const scale = niceScale(Math.max(...points.map((p) => p.y)), points.every((p) => Number.isInteger(p.y)));
  const xAt = (x) => (xs.length === 1 ? inner.w / 2 : (inner.w * xs.indexOf(x)) / (xs.length - 1));
  const yAt = (y) => inner.h - (inner.h * y) / scale.top;
  const { root, plot } = framedPlot(width, height, label, margin, inner, scale);
  drawXLabels(plot, thinnedLabels(xs.map((x) => ({ x: xAt(x), text: formatTick(x), value: x })), inner.w), inner.h);
  if (xLabel) {
    plot.append(svgEl("text", { x: inner.w / 2, y: inner.h + 34, "text-anchor": "middle", class: "axis" }, xLabel));
  }
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const group = svgEl("g", { class: "series", "data-series": s.name });
    const ordered = [...s.points].sort((a, b) => a.x - b.x);
    const d = ordered.map((p, j) => `${j ? "L" : "M"}${round(xAt(p.x))},${round(yAt(p.y))}`).join(" ");
    group.append(svgEl("path", { d, fill: "none", stroke: color, "stroke-width": 2, "data-testid": "line" }));
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

/**
 * Counts per UTC day ([{day: "2026-03-05", count}], days without any left out) as one line over
 * a time axis with date, month or year ticks for the range.
 *
 * A day left out between two listed ones had a count of zero, and the line says so: it drops to
 * zero the day after and rises the day before, so a gap of months reads as months of nothing
 * instead of one slope joining the days either side of it.
 *
 * ``integer`` false: the values are fractions (a rate per day), the y axis is not whole numbers.
 */
export function dailyChart(days, { label = "chart", name = "events", width = 520, height = 280, color = PALETTE[0], integer = true } = {}) {
  if (!days.length) return empty(label);
  const points = days.map((d) => ({ day: dayNumber(d.day), y: d.count })).sort((a, b) => a.day - b.day);
  const first = points[0].day;
  const last = points[points.length - 1].day;
  const margin = { top: 16, right: 24, bottom: 32, left: 56 };
  const inner = { w: width - margin.left - margin.right, h: height - margin.top - margin.bottom };
  const scale = niceScale(Math.max(...points.map((p) => p.y)), integer);
  const xAt = (day) => (last === first ? inner.w / 2 : (inner.w * (day - first)) / (last - first));
  const yAt = (y) => inner.h - (inner.h * y) / scale.top;
  const { root, plot } = framedPlot(width, height, label, margin, inner, scale);
  const ticks = timeTicks(first, last, (candidates) =>
    placeLabels(candidates.map((t) => ({ ...t, x: xAt(t.day), value: isoDay(t.day) })), inner.w));
  drawXLabels(plot, ticks, inner.h);

  const line = [];
  points.forEach((p, i) => {
    const gap = i ? p.day - points[i - 1].day : 1;
    if (gap > 1) line.push({ day: points[i - 1].day + 1, y: 0 });
    if (gap > 2) line.push({ day: p.day - 1, y: 0 });
    line.push(p);
  });
  const group = svgEl("g", { class: "series", "data-series": name });
  const d = line.map((p, j) => `${j ? "L" : "M"}${round(xAt(p.day))},${round(yAt(p.y))}`).join(" ");
  group.append(svgEl("path", {
    d, fill: "none", stroke: color, "stroke-width": 1.5, "stroke-linejoin": "round", "data-testid": "line",
  }));
  for (const p of points.length <= 40 ? points : []) {
    const dot = svgEl("circle", { cx: xAt(p.day), cy: yAt(p.y), r: 3, fill: color, class: "point",
      "data-x": isoDay(p.day), "data-y": p.y });
    dot.append(svgEl("title", {}, `${formatDay(p.day)}: ${formatNumber(p.y)} ${name}`));
    group.append(dot);
  }
  plot.append(group);
  return root;
}

/**
 * Points on two axes, coloured by group: points = [{x, y, group}], names = group labels. Each
 * point is a <circle class="point" data-group=…>; a legend names the groups.
 */
export function scatterChart(points, names, { label = "chart", width = 520, height = 360 } = {}) {
  if (!points.length) return empty(label);
  const margin = { top: 12, right: 12, bottom: 12, left: 12 };
  const root = svgRoot(width, height + 22 * Math.ceil(names.length / 2), label);
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const sx = (v) => margin.left + ((v - x0) / (x1 - x0 || 1)) * (width - margin.left - margin.right);
  const sy = (v) => margin.top + (1 - (v - y0) / (y1 - y0 || 1)) * (height - margin.top - margin.bottom);
  for (const p of points) {
    root.append(svgEl("circle", {
      cx: round(sx(p.x)), cy: round(sy(p.y)), r: 3, class: "point",
      fill: PALETTE[p.group % PALETTE.length], "fill-opacity": 0.7, "data-group": p.group,
    }));
  }
  names.forEach((name, i) => {
    const x = 12 + (i % 2) * (width / 2);
    const y = height + 16 + 22 * Math.floor(i / 2);
    root.append(svgEl("rect", { x, y: y - 10, width: 12, height: 12, fill: PALETTE[i % PALETTE.length] }));
    root.append(svgEl("text", { x: x + 18, y, class: "tick", "data-testid": "legend" },
      String(name).length > 40 ? `${String(name).slice(0, 39)}…` : name));
  });
  return root;
}

/**
 * The category graph's strongest links: source categories on the left, targets on the right,
 * one line per edge, thicker for a higher lift. Labels are the categories' last level (the whole
 * path in a tooltip); each line is data-testid="graph-edge" with data-source / data-target.
 */
export function linkChart(edges, { label = "chart", width = 760 } = {}) {
  if (!edges.length) return empty(label);
  const short = (path) => {
    const name = String(path).split(" > ").pop();
    return name.length > 34 ? `${name.slice(0, 33)}…` : name;
  };
  const sources = [...new Set(edges.map((e) => e.source))];
  const targets = [...new Set(edges.map((e) => e.target))];
  const row = 26;
  const height = 16 + row * Math.max(sources.length, targets.length);
  const root = svgRoot(width, height, label);
  const [left, right] = [Math.round(width * 0.36), Math.round(width * 0.64)];
  const y = (list, name) => 16 + row * list.indexOf(name) + (row * (Math.max(sources.length, targets.length) - list.length)) / 2;
  const top = Math.max(...edges.map((e) => e.lift));
  for (const e of edges) {
    const line = svgEl("line", {
      x1: left + 6, y1: round(y(sources, e.source) - 4), x2: right - 6, y2: round(y(targets, e.target) - 4),
      stroke: PALETTE[sources.indexOf(e.source) % PALETTE.length], "stroke-opacity": 0.75,
      "stroke-width": round(1 + 5 * (e.lift / (top || 1))), "data-testid": "graph-edge",
      "data-source": e.source, "data-target": e.target,
    });
    line.append(svgEl("title", {}, `${e.source} → ${e.target}: lift ${formatNumber(e.lift)}, ` +
      `P(target | source) ${formatNumber(e.confidence)}, ${formatNumber(e.support)} shoppers`));
    root.append(line);
  }
  for (const [list, x, anchor] of [[sources, left, "end"], [targets, right, "start"]]) {
    for (const name of list) {
      const text = svgEl("text", { x, y: round(y(list, name)), class: "tick", "text-anchor": anchor,
        "data-testid": "graph-node", "data-category": name }, short(name));
      text.append(svgEl("title", {}, name));
      root.append(text);
    }
  }
  return root;
}
