// Small SVG charts drawn from API values. Colours come from CSS classes (the CSP forbids
// inline styles); hover titles and an aria-label carry the exact numbers.

import { el, svg } from "./dom.js";
import * as format from "./format.js";

const HEIGHT = 220;
const MARGIN = { top: 12, right: 12, bottom: 28, left: 52 };
const Y_TICKS = 4;
const MIN_WIDTH = 260;
const TICK_SPACING_PX = 96;
const DOTS_UP_TO = 60;

/** A round step so that `ticks` steps cover `max` (1, 2, 2.5, 5 × a power of ten). */
export function niceStep(max, ticks = Y_TICKS, integers = false) {
  if (!(max > 0)) return 1;
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * power).find((s) => s >= raw) ?? 10 * power;
  return integers ? Math.max(1, Math.ceil(step)) : step;
}

function frame(container, label) {
  const width = Math.max(MIN_WIDTH, Math.floor(container.clientWidth || 600));
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${HEIGHT}`,
    width,
    height: HEIGHT,
    role: "img",
    "aria-label": label,
  });
  const plot = {
    left: MARGIN.left,
    top: MARGIN.top,
    width: width - MARGIN.left - MARGIN.right,
    height: HEIGHT - MARGIN.top - MARGIN.bottom,
  };
  return { root, plot };
}

function yAxis(root, plot, max, integers) {
  const step = niceStep(max, Y_TICKS, integers);
  const top = step * Y_TICKS;
  for (let i = 0; i <= Y_TICKS; i += 1) {
    const value = step * i;
    const y = plot.top + plot.height - (value / top) * plot.height;
    root.append(
      svg("line", { class: "grid-line", x1: plot.left, x2: plot.left + plot.width, y1: y, y2: y }),
      svg("text", { x: plot.left - 6, y: y + 4, "text-anchor": "end", text: format.axis(value) }),
    );
  }
  root.append(
    svg("line", {
      class: "axis-line",
      x1: plot.left,
      x2: plot.left + plot.width,
      y1: plot.top + plot.height,
      y2: plot.top + plot.height,
    }),
  );
  return (value) => plot.top + plot.height - (value / top) * plot.height;
}

/** A short axis label for a bucket; the date is added where the day changes. */
function tickText(point, previous, granularity) {
  if (Number.isNaN(point.t)) return point.label;
  const iso = new Date(point.t).toISOString();
  if (granularity === "minute" || granularity === "hour") {
    const time = iso.slice(11, 16);
    const sameDay = previous !== null && !Number.isNaN(previous.t) &&
      new Date(previous.t).toISOString().slice(0, 10) === iso.slice(0, 10);
    return sameDay ? time : `${iso.slice(5, 10)} ${time}`;
  }
  if (granularity === "month") return iso.slice(0, 7);
  return iso.slice(5, 10);
}

function xAxis(root, plot, points, granularity) {
  const slot = plot.width / points.length;
  const every = Math.max(1, Math.ceil(points.length / Math.max(1, Math.floor(plot.width / TICK_SPACING_PX))));
  let previous = null;
  for (let i = 0; i < points.length; i += every) {
    const x = plot.left + slot * (i + 0.5);
    const anchor = i === 0 && slot < 40 ? "start" : "middle";
    root.append(
      svg("text", {
        x: anchor === "start" ? plot.left : x,
        y: plot.top + plot.height + 18,
        "text-anchor": anchor,
        text: tickText(points[i], previous, granularity),
      }),
    );
    previous = points[i];
  }
  return slot;
}

function hoverTargets(root, plot, points, slot, describe) {
  points.forEach((point, i) => {
    root.append(
      svg(
        "rect",
        { class: "hover-target", x: plot.left + slot * i, y: plot.top, width: slot, height: plot.height },
        svg("title", { text: describe(point) }),
      ),
    );
  });
}

function emptyChart(container, text) {
  container.replaceChildren(el("p", { class: "chart-empty", text }));
}

/** Errors in a bucket, back from its error rate (percent, two decimals) and request count. */
export function errorsIn(row) {
  return Math.min(row.requests, Math.round((row.requests * row.error_rate) / 100));
}

/** Requests per bucket as bars, the errors stacked on top in the error colour. */
export function requestsChart(container, points, granularity) {
  if (points.length === 0) return emptyChart(container, "No requests in this range.");
  const peak = points.reduce((best, p) => (p.row && p.row.requests > (best?.row.requests ?? -1) ? p : best), null);
  const total = points.reduce((sum, p) => sum + (p.row ? p.row.requests : 0), 0);
  const label =
    `Requests over time by ${granularity}: ${format.count(total)} requests in ${points.length} buckets` +
    (peak ? `, peak ${format.count(peak.row.requests)} at ${peak.label}` : "");
  const { root, plot } = frame(container, label);
  const y = yAxis(root, plot, peak ? peak.row.requests : 0, true);
  const slot = xAxis(root, plot, points, granularity);
  const barWidth = slot >= 4 ? slot * 0.78 : slot;
  points.forEach((point, i) => {
    if (!point.row || point.row.requests === 0) return;
    const errors = errorsIn(point.row);
    const x = plot.left + slot * i + (slot - barWidth) / 2;
    const yTotal = y(point.row.requests);
    const yErrors = y(errors);
    const base = plot.top + plot.height;
    root.append(svg("rect", { class: "bar-ok", x, y: yTotal, width: barWidth, height: base - yTotal }));
    if (errors > 0) {
      root.append(svg("rect", { class: "bar-err", x, y: yTotal, width: barWidth, height: base - yErrors }));
    }
  });
  hoverTargets(root, plot, points, slot, (point) =>
    point.row
      ? `${point.label}: ${format.count(point.row.requests)} requests, ` +
        `${format.count(errorsIn(point.row))} errors (${format.percent(point.row.error_rate)})`
      : `${point.label}: no requests`,
  );
  container.replaceChildren(root);
}

function linePath(points, slot, plot, y, key) {
  let path = "";
  let drawing = false;
  points.forEach((point, i) => {
    const value = point.row ? point.row[key] : null;
    if (value === null || value === undefined) {
      drawing = false;
      return;
    }
    const x = plot.left + slot * (i + 0.5);
    path += `${drawing ? "L" : "M"}${x.toFixed(1)},${y(value).toFixed(1)}`;
    drawing = true;
  });
  return path;
}

function lineDots(root, points, slot, plot, y, key, cls) {
  const has = (i) => points[i]?.row && points[i].row[key] !== null && points[i].row[key] !== undefined;
  points.forEach((point, i) => {
    if (!has(i)) return;
    const isolated = !has(i - 1) && !has(i + 1);
    if (points.length > DOTS_UP_TO && !isolated) return;
    root.append(svg("circle", { class: cls, cx: plot.left + slot * (i + 0.5), cy: y(point.row[key]), r: 2.5 }));
  });
}

/** Average and p95 response time per bucket as two lines, broken where a bucket is empty. */
export function latencyChart(container, points, granularity) {
  const values = points.flatMap((p) => (p.row ? [p.row.avg_time, p.row.p95_time] : []));
  const known = values.filter((v) => v !== null && v !== undefined);
  if (known.length === 0) return emptyChart(container, "No response times in this range.");
  const max = Math.max(...known);
  const label = `Response time by ${granularity}, average and p95, highest ${format.ms(max)}`;
  const { root, plot } = frame(container, label);
  const y = yAxis(root, plot, max, false);
  const slot = xAxis(root, plot, points, granularity);
  root.append(
    svg("path", { class: "line-avg", d: linePath(points, slot, plot, y, "avg_time") }),
    svg("path", { class: "line-p95", d: linePath(points, slot, plot, y, "p95_time") }),
  );
  lineDots(root, points, slot, plot, y, "avg_time", "dot-avg");
  lineDots(root, points, slot, plot, y, "p95_time", "dot-p95");
  hoverTargets(root, plot, points, slot, (point) =>
    point.row
      ? `${point.label}: average ${format.ms(point.row.avg_time)}, p95 ${format.ms(point.row.p95_time)}`
      : `${point.label}: no requests`,
  );
  container.replaceChildren(root);
}

/** A percentage length for SVG attributes, clamped to [0, 100]. */
function pct(value) {
  return `${Math.max(0, Math.min(100, value)).toFixed(3)}%`;
}

/** A bar's length in percent of the longest; a non-zero value always shows a sliver. */
function barShare(value, max) {
  return value > 0 ? Math.max(1, (100 * value) / max) : 0;
}

/**
 * Labelled horizontal bars, one per item ({label, value, fill}); bar lengths are relative
 * to the largest value, the text shows the value and its share of `total`.
 */
export function barList(container, items, total, { emptyText = "Nothing to show.", mono = false } = {}) {
  if (items.length === 0) return emptyChart(container, emptyText);
  const max = Math.max(...items.map((item) => item.value));
  const list = el(
    "ul",
    { class: "bar-list" },
    items.map((item) =>
      el(
        "li",
        { class: "bar-row" },
        el("span", { class: mono ? "bar-label mono" : "bar-label", title: item.label, text: item.label }),
        svg(
          "svg",
          { "aria-hidden": "true", focusable: "false", preserveAspectRatio: "none" },
          svg("rect", { class: "bar-track", x: 0, y: 0, width: "100%", height: "100%", rx: 3 }),
          svg("rect", { class: item.fill ?? "fill-accent", x: 0, y: 0, width: pct(barShare(item.value, max)), height: "100%", rx: 3 }),
        ),
        el(
          "span",
          { class: "bar-value" },
          format.count(item.value),
          " ",
          el("span", { class: "muted", text: `(${format.share(item.value, total)})` }),
        ),
      ),
    ),
  );
  container.replaceChildren(list);
}

export function statusClass(code) {
  const first = String(code).charAt(0);
  return ["1", "2", "3", "4", "5"].includes(first) ? `${first}xx` : "other";
}

/** Status codes: one strip split by class (2xx/3xx/4xx/5xx), then a bar per code. */
export function statusChart(container, statusCodes) {
  const entries = Object.entries(statusCodes).map(([code, n]) => ({ code, n, cls: statusClass(code) }));
  if (entries.length === 0) return emptyChart(container, "No requests in this range.");
  const total = entries.reduce((sum, e) => sum + e.n, 0);
  const classes = new Map();
  for (const entry of entries) classes.set(entry.cls, (classes.get(entry.cls) ?? 0) + entry.n);
  const ordered = [...classes.entries()].sort(([a], [b]) => a.localeCompare(b));
  const strip = svg("svg", {
    class: "class-strip",
    role: "img",
    preserveAspectRatio: "none",
    "aria-label": "Status classes: " + ordered.map(([cls, n]) => `${cls} ${format.count(n)}`).join(", "),
  });
  let offset = 0;
  for (const [cls, n] of ordered) {
    const width = (100 * n) / total;
    strip.append(
      svg("rect", { class: `fill-${cls}`, x: pct(offset), y: 0, width: pct(width), height: "100%" },
        svg("title", { text: `${cls}: ${format.count(n)} (${format.share(n, total)})` })),
    );
    offset += width;
  }
  const legend = el(
    "ul",
    { class: "legend class-legend" },
    ordered.map(([cls, n]) =>
      el("li", {}, el("span", { class: `swatch class-${cls}` }), `${cls} ${format.count(n)} (${format.share(n, total)})`),
    ),
  );
  const codes = el("div");
  barList(
    codes,
    entries.map((e) => ({ label: e.code, value: e.n, fill: `fill-${e.cls}` })),
    total,
  );
  container.replaceChildren(strip, legend, codes);
}
