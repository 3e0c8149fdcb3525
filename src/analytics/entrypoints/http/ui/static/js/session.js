// The signed-in key lives in sessionStorage: this tab only, gone when it closes, never
// written to a URL or a cookie.

const STORAGE_NAME = "analytics.apiKey";

export function savedKey() {
  try {
    return sessionStorage.getItem(STORAGE_NAME);
  } catch {
    return null; // storage disabled: the person signs in again on each load
  }
}

export function saveKey(key) {
  try {
    sessionStorage.setItem(STORAGE_NAME, key);
  } catch {
    // Without storage the key still works for this page view, held in memory only.
  }
}

export function forgetKey() {
  try {
    sessionStorage.removeItem(STORAGE_NAME);
  } catch {
    // nothing stored, nothing to forget
  }
}
