// The vault: everything the device keeps besides sealed submissions, encrypted under a key derived
// from the interviewer's PIN and the device secret (WebCrypto PBKDF2-SHA-256, ITERATIONS rounds, a
// random 16-byte salt, then HKDF-SHA-256 with the device secret below;
// AES-256-GCM with a fresh 12-byte IV per write and the record's name as additional data, so one
// record cannot be passed off as another). The key is non-extractable and lives only in this page's
// memory. Records:
//   "lock"                 {salt, iterations, iv, ct}: {token, publicKey, fingerprint, bundle, formId}
//   "draft:FORM"           {iv, ct}: the interview in progress (answers, repeats, once() draws)
//   "questionnaire:FORM"   {iv, ct}: {version, html} for offline use
import { run, VAULT } from "./db.js";

export const ITERATIONS = 600000;
export const MIN_PIN = 8;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const get = (name) => run(VAULT, "readonly", (s) => s.get(name));
export const put = (name, value) => run(VAULT, "readwrite", (s) => s.put(value, name));
export const remove = (name) => run(VAULT, "readwrite", (s) => s.delete(name));
export const clear = () => run(VAULT, "readwrite", (s) => s.clear());

export function newSalt() {
  return crypto.getRandomValues(new Uint8Array(16));
}

// The device secret: 32 random bytes in Cache Storage (one file, unlinked when the cache is deleted),
// mixed into the vault key. IndexedDB (LevelDB) keeps deleted records on disk until a compaction, so
// after a wipe a copy of the encrypted lock may remain in the profile; without the deleted secret it
// cannot be opened even by someone who learns the PIN.
const SECRET_CACHE = "k";
const SECRET_URL = "/.well-known/k";

export async function deviceSecret(create) {
  if (!("caches" in self)) return new Uint8Array(0);
  const cache = await caches.open(SECRET_CACHE);
  if (create) {
    await cache.delete(SECRET_URL);
    const secret = crypto.getRandomValues(new Uint8Array(32));
    await cache.put(SECRET_URL, new Response(secret.slice()));
    return secret;
  }
  const hit = await cache.match(SECRET_URL);
  return hit ? new Uint8Array(await hit.arrayBuffer()) : null;
}

/** The vault key: PBKDF2-SHA-256(PIN, salt, iterations), then HKDF-SHA-256 with the device secret. */
export async function deriveKey(pin, salt, iterations, secret) {
  const raw = encoder.encode(pin.normalize("NFC"));
  let ikm = null;
  try {
    const base = await crypto.subtle.importKey("raw", raw, "PBKDF2", false, ["deriveBits"]);
    const bits = new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, base, 256));
    ikm = new Uint8Array(bits.length + secret.length);
    ikm.set(bits, 0);
    ikm.set(secret, bits.length);
    bits.fill(0);
    const hkdf = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveKey"]);
    return await crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode("quietpoll vault v1") },
      hkdf,
      { name: "AES-GCM", length: 256 },
      false,
      ["encrypt", "decrypt"],
    );
  } finally {
    raw.fill(0);
    if (ikm) ikm.fill(0);
  }
}

export async function seal(key, name, value) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = encoder.encode(JSON.stringify(value));
  try {
    const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: encoder.encode(name) }, key, plain));
    return { iv, ct };
  } finally {
    plain.fill(0);
  }
}

/** The value of record `name` (throws when the key is wrong or the record was altered). */
export async function open(key, name, record) {
  const plain = new Uint8Array(
    await crypto.subtle.decrypt({ name: "AES-GCM", iv: record.iv, additionalData: encoder.encode(name) }, key, record.ct),
  );
  try {
    return JSON.parse(decoder.decode(plain));
  } finally {
    plain.fill(0);
  }
}

export async function putSealedRecord(key, name, value, extra = {}) {
  return put(name, { ...extra, ...(await seal(key, name, value)) });
}

export async function getOpened(key, name) {
  const record = await get(name);
  return record ? open(key, name, record) : undefined;
}
