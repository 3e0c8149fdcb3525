// The dashboard page: sign-in, the controls kept in the URL, and loading /dashboard.

import { explain, getJson } from "./api.js";
import { byId, el, show, showMessage } from "./dom.js";
import { Explorer } from "./explorer.js";
import { Overview } from "./overview.js";
import * as session from "./session.js";
import {
  METHODS,
  dashboardParams,
  dashboardWindow,
  queryFromState,
  rangeProblem,
  stateFromQuery,
} from "./state.js";

const REFRESH_MS = 30_000;
const CONTROL_IDS = ["range", "from", "to", "granularity", "endpoint", "method", "top"];

class DashboardPage {
  constructor() {
    this.state = stateFromQuery(window.location.search);
    this.key = session.savedKey();
    this.sequence = 0;
    this.timer = null;
    this.endpoints = new Set();
    this.overview = new Overview({ onEndpoint: (endpoint) => this.filterEndpoint(endpoint) });
    this.explorer = new Explorer({
      key: () => this.key,
      onFilters: (filters) => {
        this.state.logs = filters;
        this.writeUrl();
      },
      onError: (error, box) => this.failed(error, box),
    });
    for (const select of document.querySelectorAll(".method-select")) {
      select.append(...METHODS.map((method) => el("option", { value: method, text: method })));
    }
    byId("snippet").textContent = middlewareSnippet();
    this.bindSignIn();
    this.bindControls();
    this.bindTabs();
    this.showControls();
    this.explorer.setFilters(this.state.logs);
    if (this.key) this.enter(null);
    else this.showSignIn("");
  }

  // ---- signing in and out ----------------------------------------------------------

  bindSignIn() {
    byId("sign-in-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.signIn(byId("api-key").value.trim());
    });
    byId("sign-out").addEventListener("click", () => this.signOut(""));
  }

  showSignIn(message) {
    show(byId("app"), false);
    show(byId("sign-out"), false);
    show(byId("sign-in"), true);
    showMessage(byId("sign-in-error"), message);
    byId("api-key").focus();
  }

  async signIn(key) {
    if (!key) {
      showMessage(byId("sign-in-error"), "Paste an API key first.");
      byId("api-key").focus();
      return;
    }
    const button = byId("sign-in-button");
    button.disabled = true;
    showMessage(byId("sign-in-error"), "");
    const window = dashboardWindow(this.state);
    try {
      // The key is kept only once the server has accepted it for reading.
      const dashboard = await getJson("dashboard", this.dashboardParams(window), key);
      this.key = key;
      session.saveKey(key);
      byId("api-key").value = "";
      this.enter({ dashboard, window });
    } catch (error) {
      showMessage(byId("sign-in-error"), explain(error));
      byId("api-key").select();
    } finally {
      button.disabled = false;
    }
  }

  signOut(message) {
    session.forgetKey();
    this.key = null;
    this.sequence += 1; // answers still on their way are dropped
    this.stopTimer();
    this.overview.clear();
    this.explorer.reset();
    this.showOverviewPart(null);
    this.showSignIn(message);
  }

  enter(preloaded) {
    show(byId("sign-in"), false);
    show(byId("app"), true);
    show(byId("sign-out"), true);
    showMessage(byId("sign-in-error"), "");
    this.selectView(this.state.view, false);
    if (preloaded) this.display(preloaded.dashboard, preloaded.window, ++this.sequence);
    else this.load();
    this.restartTimer();
    byId("main").focus();
  }

  /** A failed call: an auth error ends the session, anything else is shown in `box`. */
  failed(error, box) {
    if (error.isAuthError) {
      this.signOut(explain(error));
      return;
    }
    byId("status").textContent = "";
    showMessage(box, explain(error));
  }

  // ---- controls and the URL ----------------------------------------------------------

  bindControls() {
    const form = byId("controls");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.readControls();
      this.load();
    });
    for (const id of CONTROL_IDS) {
      byId(id).addEventListener("change", () => {
        if (id === "range" && byId("range").value === "custom") prefillCustomRange();
        this.readControls();
        this.load();
      });
    }
    byId("auto-refresh").addEventListener("change", () => {
      this.state.refresh = byId("auto-refresh").checked;
      this.writeUrl();
      this.restartTimer();
    });
    byId("show-all-time").addEventListener("click", () => {
      Object.assign(this.state, { range: "all", endpoint: "", method: "" });
      this.showControls();
      this.load();
    });
    byId("copy-snippet").addEventListener("click", () => copySnippet());
  }

  readControls() {
    for (const id of CONTROL_IDS) this.state[id] = byId(id).value.trim();
    this.state.refresh = byId("auto-refresh").checked;
    this.showControls();
  }

  showControls() {
    for (const id of CONTROL_IDS) byId(id).value = this.state[id];
    byId("auto-refresh").checked = this.state.refresh;
    for (const field of document.querySelectorAll(".custom-range")) show(field, this.state.range === "custom");
    this.writeUrl();
  }

  writeUrl() {
    const query = queryFromState(this.state);
    window.history.replaceState(null, "", `${window.location.pathname}${query}`);
  }

  filterEndpoint(endpoint) {
    this.state.endpoint = endpoint;
    this.showControls();
    this.load();
    byId("endpoint").focus();
  }

  // ---- tabs ----------------------------------------------------------------------------

  bindTabs() {
    const tabs = [byId("tab-overview"), byId("tab-logs")];
    const views = ["overview", "logs"];
    tabs.forEach((tab, i) => {
      tab.addEventListener("click", () => this.selectView(views[i], true));
      tab.addEventListener("keydown", (event) => {
        const moves = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 };
        if (!(event.key in moves)) return;
        event.preventDefault();
        const next = (moves[event.key] + tabs.length) % tabs.length;
        tabs[next].focus();
        this.selectView(views[next], true);
      });
    });
  }

  selectView(view, load) {
    this.state.view = view;
    const logs = view === "logs";
    for (const [tabId, selected] of [["tab-overview", !logs], ["tab-logs", logs]]) {
      const tab = byId(tabId);
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
    }
    show(byId("overview"), !logs);
    show(byId("explorer"), logs);
    this.writeUrl();
    if (logs && this.key) this.explorer.open();
    if (!logs && load && this.overview.dashboard === null && this.key) this.load();
  }

  // ---- loading -------------------------------------------------------------------------

  dashboardParams(window) {
    return dashboardParams(this.state, window);
  }

  async load({ quiet = false } = {}) {
    if (!this.key) return;
    const problem = rangeProblem(this.state);
    showMessage(byId("controls-error"), problem);
    if (problem) return;
    const window = dashboardWindow(this.state);
    const sequence = ++this.sequence;
    if (!quiet) byId("status").textContent = "Loading…";
    try {
      const dashboard = await getJson("dashboard", this.dashboardParams(window), this.key);
      if (sequence === this.sequence) await this.display(dashboard, window, sequence);
    } catch (error) {
      if (sequence === this.sequence) this.failed(error, byId("controls-error"));
    }
  }

  async display(dashboard, window, sequence) {
    showMessage(byId("controls-error"), "");
    for (const row of dashboard.endpoint_stats) this.endpoints.add(row.endpoint);
    byId("endpoint-choices").replaceChildren(
      ...[...this.endpoints].sort().slice(0, 200).map((endpoint) => el("option", { value: endpoint })),
    );
    if (dashboard.summary.total_requests === 0) {
      // Nothing in this view: tell apart a key that never received traffic (show how to
      // send some) from filters that match nothing.
      const anyLog = await getJson("raw_logs", { limit: 1 }, this.key);
      if (sequence !== this.sequence) return;
      this.overview.clear();
      this.showOverviewPart(anyLog.length === 0 ? "empty-state" : "no-match");
    } else {
      this.showOverviewPart("dashboard-content");
      this.overview.render(dashboard, { ...window, granularity: this.state.granularity });
    }
    const granularity = this.overview.dashboard ? this.overview.granularity() : "";
    const time = new Date().toISOString().slice(11, 19);
    byId("status").textContent =
      `Updated ${time} UTC` + (granularity ? ` · one bucket per ${granularity}` : "") +
      (this.state.refresh ? " · refreshing every 30 s" : "");
  }

  showOverviewPart(part) {
    for (const id of ["empty-state", "no-match", "dashboard-content"]) show(byId(id), id === part);
  }

  restartTimer() {
    this.stopTimer();
    if (!this.state.refresh || !this.key) return;
    this.timer = window.setInterval(() => {
      // The explorer is left alone: refreshing it would move the rows someone is reading.
      if (document.hidden || !this.key || this.state.view !== "overview") return;
      this.load({ quiet: true });
    }, REFRESH_MS);
  }

  stopTimer() {
    if (this.timer !== null) window.clearInterval(this.timer);
    this.timer = null;
  }
}

function utcInputValue(ms) {
  return new Date(ms).toISOString().slice(0, 16);
}

/** Starting a custom range from the last 24 hours is more useful than two blank fields. */
function prefillCustomRange() {
  const now = Date.now();
  if (!byId("from").value) byId("from").value = utcInputValue(now - 86_400_000);
  if (!byId("to").value) byId("to").value = utcInputValue(now);
}

/** The three lines that send an app's traffic here. */
export function middlewareSnippet() {
  const apiBase = new URL(".", document.baseURI).href.replace(/\/$/, "");
  return [
    "from client_middleware import AnalyticsMiddleware",
    "app = FastAPI()",
    `app.add_middleware(AnalyticsMiddleware, api_key="YOUR_API_KEY", api_base="${apiBase}")`,
  ].join("\n");
}

async function copySnippet() {
  const result = byId("copy-result");
  try {
    await navigator.clipboard.writeText(byId("snippet").textContent);
    result.textContent = "Copied.";
  } catch {
    result.textContent = "Copying is not allowed here: select the text and copy it.";
  }
}

new DashboardPage();
