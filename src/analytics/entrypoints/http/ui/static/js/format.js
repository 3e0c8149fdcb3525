// How numbers from the API are written on the page. The API already rounds times (ms) and
// rates (%) to two decimals; these only add grouping and units, never change a value.

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const compact = new Intl.NumberFormat(undefined, { notation: "compact", maximumFractionDigits: 1 });

export const NOT_AVAILABLE = "–";

export function count(value) {
  return value === null || value === undefined ? NOT_AVAILABLE : integer.format(value);
}

export function number(value) {
  return value === null || value === undefined ? NOT_AVAILABLE : decimal.format(value);
}

export function ms(value) {
  return value === null || value === undefined ? NOT_AVAILABLE : `${decimal.format(value)} ms`;
}

export function percent(value) {
  return value === null || value === undefined ? NOT_AVAILABLE : `${decimal.format(value)} %`;
}

export function axis(value) {
  return Math.abs(value) >= 10000 ? compact.format(value) : decimal.format(value);
}

/** Share of a total in percent, rounded to one decimal, for labels next to counts. */
export function share(part, total) {
  if (!(total > 0)) return NOT_AVAILABLE;
  const rounded = Math.round((1000 * part) / total) / 10;
  // A handful among thousands is not "0 %".
  return rounded === 0 && part > 0 ? `<${decimal.format(0.1)} %` : `${decimal.format(rounded)} %`;
}

/** An ISO timestamp from the API shown in UTC as `2024-02-07 08:00:00.123`. */
export function utcTime(iso) {
  // A time without an offset is UTC for the API, but local time for Date(): say so.
  const text = String(iso);
  const moment = new Date(/(Z|[+-]\d\d:?\d\d)$/i.test(text) ? text : `${text}Z`);
  if (Number.isNaN(moment.getTime())) return text;
  return moment.toISOString().replace("T", " ").replace(/\.000Z$|Z$/, "");
}
