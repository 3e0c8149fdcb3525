// Time buckets of the dashboard's time series, as the API labels them (all UTC):
// minute `YYYY-MM-DDTHH:MM`, hour `YYYY-MM-DDTHH:00`, day `YYYY-MM-DD`,
// week the Monday's `YYYY-MM-DD`, month `YYYY-MM`.
// The API returns only buckets that have requests; charts need the empty ones too, so a
// quiet hour shows as zero instead of being skipped.

export const GRANULARITIES = ["minute", "hour", "day", "week", "month"];

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const STEPS = { minute: MINUTE, hour: HOUR, day: DAY, week: 7 * DAY };
// More buckets than this are drawn as they come, without the empty ones in between.
export const MAX_FILLED_BUCKETS = 2000;

const LABEL = /^(\d{4})-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2}))?)?$/;

/** The UTC start (ms) of the bucket a label names; NaN if it is not a bucket label. */
export function parseLabel(text) {
  const match = LABEL.exec(String(text));
  if (match === null) return Number.NaN;
  const [, year, month, day = "1", hour = "0", minute = "0"] = match;
  return Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute));
}

export function bucketStart(ms, granularity) {
  if (granularity in STEPS && granularity !== "week") {
    return ms - (((ms % STEPS[granularity]) + STEPS[granularity]) % STEPS[granularity]);
  }
  const moment = new Date(ms);
  if (granularity === "month") return Date.UTC(moment.getUTCFullYear(), moment.getUTCMonth(), 1);
  const dayStart = bucketStart(ms, "day");
  const daysSinceMonday = (moment.getUTCDay() + 6) % 7;
  return dayStart - daysSinceMonday * DAY;
}

export function nextBucket(ms, granularity) {
  if (granularity === "month") {
    const moment = new Date(ms);
    return Date.UTC(moment.getUTCFullYear(), moment.getUTCMonth() + 1, 1);
  }
  return ms + STEPS[granularity];
}

export function labelOf(ms, granularity) {
  const iso = new Date(ms).toISOString();
  switch (granularity) {
    case "minute":
      return iso.slice(0, 16);
    case "hour":
      return `${iso.slice(0, 13)}:00`;
    case "month":
      return iso.slice(0, 7);
    default:
      return iso.slice(0, 10);
  }
}

/** The granularity the labels were made with, for an API answer that does not say. */
export function inferGranularity(rows) {
  const labels = rows.map((row) => String(row.timestamp));
  if (labels.length === 0) return "day";
  if (labels[0].length === 7) return "month";
  if (labels[0].includes("T")) return labels.every((l) => l.endsWith(":00")) && labels.length > 1 ? "hour" : "minute";
  const starts = labels.map(parseLabel);
  const mondays = starts.every((ms) => new Date(ms).getUTCDay() === 1);
  const weekly = starts.every((ms, i) => i === 0 || (ms - starts[i - 1]) % (7 * DAY) === 0);
  return labels.length > 1 && mondays && weekly ? "week" : "day";
}

/**
 * Every bucket from the range's start (or the first row) to its end (or the last row), each
 * with the API's row or null. `endMs` is exclusive. Falls back to the rows alone when the
 * span is too long or a label does not fit the granularity.
 */
export function fillSeries(rows, granularity, startMs = null, endMs = null) {
  const plain = rows.map((row) => ({ t: parseLabel(row.timestamp), label: String(row.timestamp), row }));
  if (!(granularity in STEPS) && granularity !== "month") return plain;
  if (plain.some((point) => Number.isNaN(point.t))) return plain;
  const bounds = plain.map((point) => point.t);
  if (startMs !== null) bounds.push(bucketStart(startMs, granularity));
  if (endMs !== null && endMs > (startMs ?? -Infinity)) bounds.push(bucketStart(endMs - 1, granularity));
  if (bounds.length === 0) return [];
  const first = Math.min(...bounds);
  const last = Math.max(...bounds);
  const byLabel = new Map(plain.map((point) => [point.label, point.row]));
  const filled = [];
  for (let t = first; t <= last; t = nextBucket(t, granularity)) {
    if (filled.length >= MAX_FILLED_BUCKETS) return plain;
    const label = labelOf(t, granularity);
    filled.push({ t, label, row: byLabel.get(label) ?? null });
  }
  const placed = filled.filter((point) => point.row !== null).length;
  return placed === plain.length ? filled : plain;
}
