// Enrolment, unlocking and the quick wipe's storage part. The enrolment path carries a one-time code
// in its fragment (#e=CODE), never the token: the code is taken out of the URL at once and exchanged
// (POST, no-store, no referrer) for the token, which is kept only inside the vault's "lock" record,
// encrypted under the PIN key, with the study key and the bundle digest it pins.
import * as vault from "./vault.js";
import { dropDb } from "./db.js";
import { config, msg, say, alertEnrol, setEnrolment } from "./page.js";

const TOKEN_RE = /^[A-Za-z0-9._~+/=-]{1,256}$/;
const CODE_RE = /^[A-Za-z0-9_-]{22}$/;

// the unlocked session: the PIN key (non-extractable) and the lock's content; null when locked
export let session = null;

function takeCode() {
  const match = /^#e=([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (!location.hash) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return match ? match[1] : "";
}

export async function fingerprint(publicKeyB64) {
  const raw = Uint8Array.from(atob(publicKeyB64), (c) => c.charCodeAt(0));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", raw));
  return [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("").replace(/(.{4})(?!$)/g, "$1-");
}

export const pinsMatch = () => session && session.lock.publicKey === config.publicKey && session.lock.bundle === config.bundle;

function askPin(mode, onPin, onUnlocked) {
  const pinForm = document.getElementById("qp-pin");
  const input = pinForm.querySelector("input[name=pin]");
  const error = document.getElementById("qp-pin-error");
  document.getElementById("qp-pin-label").textContent = mode === "choose" ? msg().choosePin(vault.MIN_PIN) : msg().enterPin;
  pinForm.hidden = false;
  input.focus();
  const fail = (text) => {
    error.textContent = text;
    error.hidden = !text;
  };
  pinForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const pin = input.value;
    if (pin.length < vault.MIN_PIN) return fail(msg().pinShort(vault.MIN_PIN));
    const button = pinForm.querySelector("button[type=submit]");
    button.disabled = true;
    fail("");
    say(msg().unlocking);
    try {
      const problem = await onPin(pin);
      if (problem) {
        say("");
        return fail(problem);
      }
      input.value = "";
      pinForm.remove(); // the page keeps no PIN field once unlocked
      await onUnlocked();
    } finally {
      button.disabled = false;
    }
  });
}

async function enrolWith(code, pin) {
  let response;
  try {
    response = await fetch(config.enrol, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code }),
      cache: "no-store",
      credentials: "omit",
      referrerPolicy: "no-referrer",
    });
  } catch (e) {
    return msg().unreachable;
  }
  if (!response.ok) {
    setEnrolment("refused", msg().notEnrolled);
    alertEnrol(msg().revoked);
    return msg().revoked;
  }
  const { token } = await response.json();
  if (!TOKEN_RE.test(token || "")) return msg().revoked;
  const salt = vault.newSalt();
  const key = await vault.deriveKey(pin, salt, vault.ITERATIONS, await vault.deviceSecret(true));
  const lock = { token, publicKey: config.publicKey, fingerprint: await fingerprint(config.publicKey), bundle: config.bundle, formId: config.formId };
  await vault.clear(); // a previous enrolment's records were under another key
  await vault.putSealedRecord(key, "lock", lock, { salt, iterations: vault.ITERATIONS });
  session = { key, lock };
  // ask the browser not to evict this origin's storage (unsent interviews) under storage pressure
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  alertEnrol("");
  say(msg().enrolled);
  return "";
}

async function unlockWith(record, pin) {
  const secret = await vault.deviceSecret(false);
  if (!secret) {
    setEnrolment("none", msg().notEnrolled); // the device secret is gone (wiped or cleared): enrol again
    return msg().notEnrolled;
  }
  const key = await vault.deriveKey(pin, record.salt, record.iterations, secret);
  try {
    session = { key, lock: await vault.open(key, "lock", record) };
  } catch (e) {
    return msg().wrongPin;
  }
  say("");
  return "";
}

export async function saveLock() {
  const record = await vault.get("lock");
  await vault.putSealedRecord(session.key, "lock", session.lock, { salt: record.salt, iterations: record.iterations });
}

/** Enrol (a code in the URL) or unlock (a lock in the vault); `onUnlocked` runs after the PIN. */
export async function boot(onUnlocked) {
  const code = takeCode();
  const record = await vault.get("lock");
  if (code !== null && !CODE_RE.test(code)) {
    setEnrolment(record ? "locked" : "refused", record ? msg().locked : msg().notEnrolled);
    alertEnrol(msg().revoked);
    if (!record) return;
  } else if (code) {
    setEnrolment("enrolling", msg().enrolling);
    return askPin("choose", (pin) => enrolWith(code, pin), onUnlocked);
  }
  if (record) {
    setEnrolment("locked", msg().locked);
    return askPin("unlock", (pin) => unlockWith(record, pin), onUnlocked);
  }
  setEnrolment("none", msg().notEnrolled);
}

export async function revoked() {
  session.lock.token = null; // revoked: the interviews stay sealed here until re-enrolment
  await saveLock();
  setEnrolment("enrolled", msg().revokedShort);
}

/** Forget the session and remove the device's storage: the vault (or, with `everything`, the whole
 *  database and the unsent interviews in it), every cache entry and cache (the device secret with
 *  them), local and session storage, and the service worker. */
export async function wipeStorage(everything) {
  session = null;
  try {
    localStorage.clear();
    sessionStorage.clear();
  } catch (e) {
    /* storage disabled */
  }
  if (everything) await dropDb();
  else await vault.clear();
  if ("caches" in self) {
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) await cache.delete(request); // entry files go at once
      await caches.delete(name);
    }
  }
  if ("serviceWorker" in navigator) for (const r of await navigator.serviceWorker.getRegistrations()) await r.unregister();
}
