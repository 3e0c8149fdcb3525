// The overview tab: cards, charts and tables, all drawn from one /dashboard answer.

import { fillSeries, inferGranularity, GRANULARITIES } from "./buckets.js";
import { barList, latencyChart, requestsChart, statusChart } from "./charts.js";
import { byId, el } from "./dom.js";
import * as format from "./format.js";

// How each card writes its value: the number, then its unit in a smaller type.
const CARD_FORMATS = {
  total_requests: [format.count, ""],
  unique_ips: [format.count, ""],
  avg_response_time: [format.number, "ms"],
  p50_response_time: [format.number, "ms"],
  p95_response_time: [format.number, "ms"],
  p99_response_time: [format.number, "ms"],
  error_rate: [format.number, "%"],
};

const SORTERS = {
  endpoint: (row) => row.endpoint,
  requests: (row) => row.requests,
  avg_time: (row) => row.avg_time,
  p95_time: (row) => row.p95_time,
  errors_count: (row) => row.errors_count,
  error_percent: (row) => errorPercent(row),
};

export function errorPercent(row) {
  return row.requests > 0 ? Math.round((10000 * row.errors_count) / row.requests) / 100 : null;
}

export class Overview {
  /** `onEndpoint(endpoint)` is called when a person picks an endpoint in the table. */
  constructor({ onEndpoint }) {
    this.onEndpoint = onEndpoint;
    this.dashboard = null;
    this.window = null;
    this.sort = { key: "requests", descending: true };
    this.table = byId("endpoints-table");
    this.setUpSorting();
    this.resizeTimer = null;
    this.lastWidth = 0;
    new ResizeObserver(() => this.redrawChartsSoon()).observe(byId("requests-chart"));
  }

  /** Show a /dashboard answer; `window` is {granularity, startMs, endMs} of what was asked. */
  render(dashboard, window) {
    this.dashboard = dashboard;
    this.window = window;
    this.renderCards(dashboard.summary);
    this.renderCharts();
    barList(
      byId("methods-chart"),
      Object.entries(dashboard.method_usage).map(([method, n]) => ({ label: method, value: n })),
      dashboard.summary.total_requests,
    );
    statusChart(byId("status-chart"), dashboard.status_codes);
    this.renderEndpoints();
    barList(
      byId("ips-chart"),
      dashboard.top_ips.map((row) => ({ label: row.ip, value: row.requests })),
      dashboard.summary.total_requests,
      { emptyText: "No client IPs were recorded.", mono: true },
    );
  }

  clear() {
    this.dashboard = null;
    for (const card of document.querySelectorAll(".card")) {
      card.querySelector(".card-value").replaceChildren();
      card.removeAttribute("data-value");
    }
    for (const id of ["requests-chart", "latency-chart", "methods-chart", "status-chart", "ips-chart"]) {
      byId(id).replaceChildren();
    }
    this.table.tBodies[0].replaceChildren();
  }

  renderCards(summary) {
    for (const card of document.querySelectorAll(".card[data-metric]")) {
      const metric = card.dataset.metric;
      const value = summary[metric];
      const [write, unit] = CARD_FORMATS[metric];
      const known = value !== null && value !== undefined;
      card.querySelector(".card-value").replaceChildren(
        write(value),
        ...(unit && known ? [" ", el("span", { class: "unit", text: unit })] : []),
      );
      // The API's own value, for people (and tests) who want the exact number.
      card.dataset.value = value === null || value === undefined ? "" : String(value);
      card.title = value === null || value === undefined ? "no data" : String(value);
    }
    byId("min-max").textContent =
      `min ${format.ms(summary.min_response_time)} · max ${format.ms(summary.max_response_time)}`;
    document.querySelector('.card[data-metric="error_rate"]').classList.toggle("bad", summary.error_rate >= 5);
  }

  granularity() {
    const answered = this.dashboard.granularity;
    if (GRANULARITIES.includes(answered)) return answered;
    if (GRANULARITIES.includes(this.window.granularity)) return this.window.granularity;
    return inferGranularity(this.dashboard.time_series);
  }

  renderCharts() {
    if (this.dashboard === null) return;
    const granularity = this.granularity();
    const points = fillSeries(this.dashboard.time_series, granularity, this.window.startMs, this.window.endMs);
    requestsChart(byId("requests-chart"), points, granularity);
    latencyChart(byId("latency-chart"), points, granularity);
    this.lastWidth = byId("requests-chart").clientWidth;
  }

  redrawChartsSoon() {
    clearTimeout(this.resizeTimer);
    this.resizeTimer = setTimeout(() => {
      if (byId("requests-chart").clientWidth !== this.lastWidth) this.renderCharts();
    }, 150);
  }

  setUpSorting() {
    for (const th of this.table.tHead.rows[0].cells) {
      const key = th.dataset.key;
      const button = el("button", { type: "button", class: "sort-button", text: th.textContent });
      button.addEventListener("click", () => {
        const descending = this.sort.key === key ? !this.sort.descending : th.dataset.type !== "text";
        this.sort = { key, descending };
        this.renderEndpoints();
      });
      th.replaceChildren(button);
    }
  }

  renderEndpoints() {
    const { key, descending } = this.sort;
    for (const th of this.table.tHead.rows[0].cells) {
      if (th.dataset.key === key) th.setAttribute("aria-sort", descending ? "descending" : "ascending");
      else th.removeAttribute("aria-sort");
    }
    const rows = [...(this.dashboard?.endpoint_stats ?? [])];
    rows.sort((a, b) => compare(SORTERS[key](a), SORTERS[key](b), descending));
    const body = this.table.tBodies[0];
    if (rows.length === 0) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "muted", text: "No endpoints in this range." })));
      return;
    }
    body.replaceChildren(
      ...rows.map((row) =>
        el(
          "tr",
          {},
          el(
            "td",
            { class: "endpoint" },
            el("button", {
              type: "button",
              class: "link-button",
              title: `Show only ${row.endpoint}`,
              text: row.endpoint,
              onclick: () => this.onEndpoint(row.endpoint),
            }),
          ),
          el("td", { class: "num", text: format.count(row.requests) }),
          el("td", { class: "num", text: format.number(row.avg_time) }),
          el("td", { class: "num", text: format.number(row.p95_time) }),
          el("td", { class: "num", text: format.count(row.errors_count) }),
          el("td", { class: "num", text: format.percent(errorPercent(row)) }),
        ),
      ),
    );
  }
}

/** Order two values; missing values (null) always go last. */
function compare(a, b, descending) {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  const order = typeof a === "string" ? a.localeCompare(b) : a - b;
  return descending ? -order : order;
}
