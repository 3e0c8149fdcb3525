// The raw-log explorer: /raw_logs filters as a form, keyset paging, and a CSV download made
// from a fetch (with the key in its header) saved through a Blob, so no URL carries the key.

import { getCsv, getJson } from "./api.js";
import { byId, el, showMessage } from "./dom.js";
import * as format from "./format.js";
import { utcIso } from "./state.js";

const FIELDS = {
  start: "log-start",
  end: "log-end",
  method: "log-method",
  status_code: "log-status",
  endpoint: "log-endpoint",
  ip: "log-ip",
  min_process_time: "log-min",
  max_process_time: "log-max",
  limit: "log-limit",
};
// The most rows one /raw_logs call returns; the CSV download asks for that many.
export const CSV_ROW_LIMIT = 1000;

export class Explorer {
  /**
   * `key()` gives the signed-in key; `onFilters(filters)` records the form in the URL;
   * `onError(error)` handles a failed call (auth errors sign the person out).
   */
  constructor({ key, onFilters, onError }) {
    this.key = key;
    this.onFilters = onFilters;
    this.onError = onError;
    this.filters = null;
    this.cursors = [null]; // before_id of each page seen so far; the first page has none
    this.loaded = false;
    this.sequence = 0;
    this.form = byId("log-filters");
    this.body = byId("logs-table").tBodies[0];
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.search();
    });
    byId("log-reset").addEventListener("click", () => {
      this.form.reset();
      this.search();
    });
    byId("log-newest").addEventListener("click", () => this.goTo(0));
    byId("log-newer").addEventListener("click", () => this.goTo(this.cursors.length - 2));
    byId("log-older").addEventListener("click", () => this.older());
    byId("csv-download").addEventListener("click", () => this.downloadCsv());
  }

  /** Put the filters (from the URL) into the form; they apply on the next search. */
  setFilters(filters) {
    for (const [name, id] of Object.entries(FIELDS)) byId(id).value = filters[name];
  }

  readFilters() {
    const filters = {};
    for (const [name, id] of Object.entries(FIELDS)) filters[name] = byId(id).value.trim();
    return filters;
  }

  /** Show the first page unless a search already ran (switching tabs keeps the page). */
  open() {
    if (!this.loaded) this.search();
  }

  search() {
    this.filters = this.readFilters();
    this.onFilters(this.filters);
    this.cursors = [null];
    return this.load();
  }

  reset() {
    this.loaded = false;
    this.cursors = [null];
    this.body.replaceChildren();
    byId("log-summary").textContent = "";
    byId("log-page").textContent = "";
    showMessage(byId("log-error"), "");
  }

  goTo(index) {
    if (index < 0) return;
    this.cursors = this.cursors.slice(0, index + 1);
    this.load();
  }

  older() {
    if (this.lastId === undefined) return;
    this.cursors.push(this.lastId);
    this.load();
  }

  apiParams(filters) {
    return {
      start: utcIso(filters.start),
      end: utcIso(filters.end),
      method: filters.method,
      status_code: filters.status_code,
      endpoint: filters.endpoint,
      ip: filters.ip,
      min_process_time: filters.min_process_time,
      max_process_time: filters.max_process_time,
    };
  }

  problem(filters) {
    const start = utcIso(filters.start);
    const end = utcIso(filters.end);
    if (start && end && Date.parse(start) > Date.parse(end)) return "The start time is after the end time.";
    const min = filters.min_process_time;
    const max = filters.max_process_time;
    if (min !== "" && max !== "" && Number(min) > Number(max)) return "The minimum time is above the maximum.";
    return "";
  }

  async load() {
    const filters = this.filters ?? this.readFilters();
    const problem = this.problem(filters);
    showMessage(byId("log-error"), problem);
    if (problem) return;
    const sequence = ++this.sequence;
    const limit = Number(filters.limit);
    const beforeId = this.cursors[this.cursors.length - 1];
    byId("log-summary").textContent = "Loading…";
    try {
      // One row more than shown tells whether an older page exists.
      const rows = await getJson(
        "raw_logs",
        { ...this.apiParams(filters), limit: limit + 1, before_id: beforeId ?? "" },
        this.key(),
      );
      if (sequence !== this.sequence) return;
      this.loaded = true;
      this.render(rows.slice(0, limit), rows.length > limit, limit);
    } catch (error) {
      if (sequence !== this.sequence) return;
      byId("log-summary").textContent = "";
      this.onError(error, byId("log-error"));
    }
  }

  render(rows, hasOlder, limit) {
    this.lastId = rows.length ? rows[rows.length - 1].id : undefined;
    const page = this.cursors.length;
    const first = (page - 1) * limit + 1;
    byId("log-summary").textContent = rows.length
      ? `Showing ${format.count(rows.length)} logs, newest first.`
      : page === 1
        ? "No logs match these filters."
        : "No older logs.";
    byId("log-page").textContent = rows.length
      ? `Page ${page} · rows ${format.count(first)}–${format.count(first + rows.length - 1)}`
      : `Page ${page}`;
    byId("log-newest").disabled = page === 1;
    byId("log-newer").disabled = page === 1;
    byId("log-older").disabled = !hasOlder;
    this.body.replaceChildren(...rows.map(logRow));
  }

  async downloadCsv() {
    const filters = this.filters ?? this.readFilters();
    const problem = this.problem(filters);
    showMessage(byId("log-error"), problem);
    if (problem) return;
    const button = byId("csv-download");
    button.disabled = true;
    try {
      const blob = await getCsv(
        "raw_logs",
        { ...this.apiParams(filters), limit: CSV_ROW_LIMIT },
        this.key(),
      );
      saveBlob(blob, `raw-logs-${new Date().toISOString().slice(0, 19).replaceAll(":", "")}.csv`);
      byId("log-summary").textContent = `Downloaded the newest ${format.count(CSV_ROW_LIMIT)} matching logs at most, as CSV.`;
    } catch (error) {
      this.onError(error, byId("log-error"));
    } finally {
      button.disabled = false;
    }
  }
}

function text(value) {
  return value === null || value === undefined || value === "" ? format.NOT_AVAILABLE : String(value);
}

function logRow(log) {
  const time = log.process_time ?? log.process_time_ms;
  return el(
    "tr",
    {},
    el("td", { class: "num", text: text(log.id) }),
    el("td", { class: "mono", text: format.utcTime(log.created_at) }),
    el("td", { text: text(log.method) }),
    el("td", { class: "endpoint mono", text: text(log.endpoint) }),
    el("td", { class: log.status_code >= 400 ? "num status-error" : "num", text: text(log.status_code) }),
    el("td", { class: "num", text: format.number(time) }),
    el("td", { class: "mono", text: text(log.ip) }),
    el("td", { class: "mono wrap", text: text(log.path) }),
    el("td", { class: "wrap", text: text(log.user_agent) }),
    el("td", { text: text(log.consumer) }),
  );
}

/** Save a Blob as a file: an object URL on a temporary link, revoked once the download began. */
function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
