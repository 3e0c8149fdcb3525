// Calls to the JSON API. The key travels only in the X-API-Key header: never in a URL, so
// it stays out of server logs, browser history and Referer headers.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }

  get isAuthError() {
    return this.status === 401 || this.status === 403;
  }
}

/** What to tell a person about a failed call, in words that say what to do next. */
export function explain(error) {
  if (!(error instanceof ApiError)) return `Something went wrong: ${error.message}`;
  switch (error.status) {
    case 0:
      return "The analytics server cannot be reached. Check that it is running, then try again.";
    case 401:
      return "This API key is not valid for this server (wrong, incomplete or revoked). " +
        "Paste the whole key that POST /generate_key returned.";
    case 403:
      return "This is an ingest-only key: it can send logs but cannot read them. " +
        "Sign in with the full key it was created from.";
    case 413:
      return "The request was too large for the server.";
    case 422:
      return `The server did not accept these filters: ${error.message}`;
    default:
      return `The server answered with an error (${error.status}): ${error.message}`;
  }
}

/** `path?query` with empty values left out; `path` is relative to the page (/ui → /path). */
export function withQuery(path, params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "") continue;
    query.set(name, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

async function send(path, params, key, accept) {
  let response;
  try {
    response = await fetch(withQuery(path, params), {
      headers: { "X-API-Key": key, Accept: accept },
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch (error) {
    throw new ApiError(0, error.message);
  }
  if (!response.ok) throw new ApiError(response.status, await detailOf(response));
  return response;
}

async function detailOf(response) {
  try {
    const body = await response.json();
    return describeDetail(body.detail);
  } catch {
    return response.statusText || "no details";
  }
}

function describeDetail(detail) {
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    // FastAPI validation errors: [{loc: [...], msg: "..."}]
    return detail
      .map((item) => {
        const where = Array.isArray(item?.loc) ? item.loc.filter((p) => p !== "query").join(".") : "";
        return where ? `${where}: ${item?.msg ?? ""}` : String(item?.msg ?? "");
      })
      .join("; ");
  }
  return detail === undefined ? "no details" : JSON.stringify(detail);
}

export async function getJson(path, params, key) {
  const response = await send(path, params, key, "application/json");
  return response.json();
}

export async function getCsv(path, params, key) {
  const response = await send(path, params, key, "text/csv");
  return response.blob();
}
