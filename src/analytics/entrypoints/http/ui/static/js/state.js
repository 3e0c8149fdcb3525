// What the page shows, kept in the URL query so a view can be bookmarked and shared.
// The API key is never part of it.

import { GRANULARITIES } from "./buckets.js";

export const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"];
export const RANGE_SPANS = { "1h": 3_600_000, "24h": 86_400_000, "7d": 604_800_000, "30d": 2_592_000_000 };
const RANGES = [...Object.keys(RANGE_SPANS), "all", "custom"];
const TOPS = ["5", "10", "25", "50", "100"];
const PAGE_SIZES = ["25", "50", "100", "250", "500"];
const VIEWS = ["overview", "logs"];

export const DEFAULT_STATE = Object.freeze({
  range: "24h",
  from: "",
  to: "",
  granularity: "",
  endpoint: "",
  method: "",
  top: "10",
  refresh: false,
  view: "overview",
  logs: Object.freeze({
    start: "",
    end: "",
    method: "",
    status_code: "",
    endpoint: "",
    ip: "",
    min_process_time: "",
    max_process_time: "",
    limit: "50",
  }),
});

// Query names of the raw-log filters, prefixed so they never clash with the overview's.
const LOG_PARAMS = {
  start: "log_start",
  end: "log_end",
  method: "log_method",
  status_code: "log_status",
  endpoint: "log_endpoint",
  ip: "log_ip",
  min_process_time: "log_min",
  max_process_time: "log_max",
  limit: "log_limit",
};

const LOCAL_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/;
const DECIMAL = /^\d+(\.\d+)?$/;

function oneOf(value, allowed, fallback) {
  return allowed.includes(value) ? value : fallback;
}

function matching(value, pattern) {
  return value !== null && pattern.test(value) ? value : "";
}

/** The state a URL query describes; anything unknown or malformed falls back to the default. */
export function stateFromQuery(search) {
  const query = new URLSearchParams(search);
  const get = (name) => query.get(name) ?? "";
  const status = get(LOG_PARAMS.status_code);
  return {
    range: oneOf(get("range"), RANGES, DEFAULT_STATE.range),
    from: matching(query.get("from"), LOCAL_TIME),
    to: matching(query.get("to"), LOCAL_TIME),
    granularity: oneOf(get("granularity"), GRANULARITIES, ""),
    endpoint: get("endpoint").slice(0, 2048),
    method: oneOf(get("method"), METHODS, ""),
    top: oneOf(get("top"), TOPS, DEFAULT_STATE.top),
    refresh: get("refresh") === "1",
    view: oneOf(get("view"), VIEWS, DEFAULT_STATE.view),
    logs: {
      start: matching(query.get(LOG_PARAMS.start), LOCAL_TIME),
      end: matching(query.get(LOG_PARAMS.end), LOCAL_TIME),
      method: oneOf(get(LOG_PARAMS.method), METHODS, ""),
      status_code: /^[1-5]\d\d$/.test(status) ? status : "",
      endpoint: get(LOG_PARAMS.endpoint).slice(0, 2048),
      ip: get(LOG_PARAMS.ip).slice(0, 64),
      min_process_time: matching(query.get(LOG_PARAMS.min_process_time), DECIMAL),
      max_process_time: matching(query.get(LOG_PARAMS.max_process_time), DECIMAL),
      limit: oneOf(get(LOG_PARAMS.limit), PAGE_SIZES, DEFAULT_STATE.logs.limit),
    },
  };
}

/** The URL query for a state: only what differs from the defaults. */
export function queryFromState(state) {
  const query = new URLSearchParams();
  const put = (name, value, fallback) => {
    if (value !== fallback) query.set(name, value);
  };
  put("range", state.range, DEFAULT_STATE.range);
  if (state.range === "custom") {
    put("from", state.from, "");
    put("to", state.to, "");
  }
  put("granularity", state.granularity, "");
  put("endpoint", state.endpoint, "");
  put("method", state.method, "");
  put("top", state.top, DEFAULT_STATE.top);
  if (state.refresh) query.set("refresh", "1");
  put("view", state.view, DEFAULT_STATE.view);
  for (const [field, name] of Object.entries(LOG_PARAMS)) {
    put(name, state.logs[field], DEFAULT_STATE.logs[field]);
  }
  const text = query.toString();
  return text ? `?${text}` : "";
}

/** A `datetime-local` value, read as UTC, as the ISO time the API takes; "" if blank or invalid. */
export function utcIso(localValue) {
  if (!localValue) return "";
  const moment = new Date(`${localValue}Z`);
  return Number.isNaN(moment.getTime()) ? "" : moment.toISOString();
}

/** The time window of the overview: API parameters and the bounds charts are filled to. */
export function dashboardWindow(state, now = Date.now()) {
  if (state.range in RANGE_SPANS) {
    const startMs = now - RANGE_SPANS[state.range];
    return { start: new Date(startMs).toISOString(), end: "", startMs, endMs: now };
  }
  if (state.range === "custom") {
    const start = utcIso(state.from);
    const end = utcIso(state.to);
    return {
      start,
      end,
      startMs: start ? Date.parse(start) : null,
      endMs: end ? Date.parse(end) : start ? now : null,
    };
  }
  return { start: "", end: "", startMs: null, endMs: null };
}

/** Query parameters of /dashboard for a state. */
export function dashboardParams(state, window) {
  return {
    start: window.start,
    end: window.end,
    granularity: state.granularity,
    endpoint: state.endpoint,
    method: state.method,
    top: state.top,
  };
}

/** Why a custom range cannot be asked for, or "" if it can. */
export function rangeProblem(state) {
  if (state.range !== "custom") return "";
  const start = utcIso(state.from);
  const end = utcIso(state.to);
  if (!start && !end) return "Pick a start or an end time for the custom range.";
  if (start && end && Date.parse(start) > Date.parse(end)) return "The start of the range is after its end.";
  return "";
}
