// Sealing one interview exactly as src/quietpoll/collect/envelope.py (wire format v1):
// HPKE base mode, DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305, padded to a bucket (the
// form's envelope size when the page gives one, so every submission of a form has one length),
// info = "quietpoll submission v1" || 0x00 || SHA-256(uint16 len F || F || uint16 len I || I), aad empty,
// wire = 0x01 || enc || ct, sent as base64url without '='.
import { CipherSuite, HkdfSha256 } from "@hpke/core";
import { DhkemX25519HkdfSha256 } from "@hpke/dhkem-x25519";
import { Chacha20Poly1305 } from "@hpke/chacha20poly1305";

export const BUCKETS = [1024, 4096, 16384, 65536, 262144, 1048576];
export const VERSION = 0x01;
const encoder = new TextEncoder();
const LABEL = encoder.encode("quietpoll submission v1");

// size: the form's envelope size (a bucket; quietpoll.collect.sizing): every submission of the form is
// padded to exactly it, and a payload that does not fit is refused, never sealed larger. Without it:
// the smallest bucket that holds the payload.
export function pad(plaintext, size) {
  const need = plaintext.length + 4;
  if (size !== undefined) {
    if (!BUCKETS.includes(size)) throw new Error(`the envelope size must be a bucket, got ${size}`);
    if (need > size) throw new Error(`the interview is too large for this form's envelope: ${plaintext.length} bytes of answers`);
  }
  for (const bucket of size !== undefined ? [size] : BUCKETS) {
    if (need <= bucket) {
      const out = new Uint8Array(bucket); // zero-filled
      new DataView(out.buffer).setUint32(0, plaintext.length, false);
      out.set(plaintext, 4);
      return out;
    }
  }
  throw new Error(`the interview is too large: ${plaintext.length} bytes of answers`);
}

function idBytes(value, what) {
  if (typeof value !== "string") throw new Error(`${what} must be text`);
  const raw = encoder.encode(value);
  if (raw.length < 1 || raw.length > 256) throw new Error(`${what} must be 1 to 256 bytes`);
  return raw;
}

export function idsBytes(formId, instanceId) {
  const f = idBytes(formId, "form_id");
  const i = idBytes(instanceId, "instance_id");
  const out = new Uint8Array(2 + f.length + 2 + i.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, f.length, false);
  out.set(f, 2);
  view.setUint16(2 + f.length, i.length, false);
  out.set(i, 4 + f.length);
  return out;
}

export async function infoFor(formId, instanceId) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", idsBytes(formId, instanceId)));
  const info = new Uint8Array(LABEL.length + 1 + digest.length);
  info.set(LABEL, 0);
  info[LABEL.length] = 0;
  info.set(digest, LABEL.length + 1);
  return info;
}

export function b64url(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function b64decode(text) {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function checkJson(value) {
  if (typeof value === "number" && !Number.isFinite(value)) throw new Error("NaN and Infinity are not JSON");
  if (value && typeof value === "object") for (const v of Object.values(value)) checkJson(v);
}

const suite = new CipherSuite({
  kem: new DhkemX25519HkdfSha256(),
  kdf: new HkdfSha256(),
  aead: new Chacha20Poly1305(),
});

/** Seal `payload` (a plain object) for the study's public key (standard base64 of 32 raw bytes). */
export async function seal(publicKeyB64, formId, instanceId, payload, size) {
  if (!payload || typeof payload !== "object" || Array.isArray(payload)) throw new Error("payload must be an object");
  checkJson(payload);
  const raw = b64decode(publicKeyB64);
  if (raw.length !== 32) throw new Error("the study public key must be 32 bytes");
  const info = await infoFor(formId, instanceId);
  const padded = pad(encoder.encode(JSON.stringify(payload)), size);
  try {
    const recipientPublicKey = await suite.kem.deserializePublicKey(raw.buffer);
    const sender = await suite.createSenderContext({ recipientPublicKey, info: info.buffer });
    const ct = new Uint8Array(await sender.seal(padded.buffer));
    const enc = new Uint8Array(sender.enc);
    const wire = new Uint8Array(1 + enc.length + ct.length);
    wire[0] = VERSION;
    wire.set(enc, 1);
    wire.set(ct, 1 + enc.length);
    return b64url(wire);
  } finally {
    padded.fill(0); // the readable copy of the answers does not outlive the seal
  }
}
