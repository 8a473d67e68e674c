// quietpoll's form page: enrolment, live skip logic and checks, sealing, the encrypted outbox.
import { seal } from "./seal.js";
import { compile, evaluate } from "./expr.js";
import { putSealed, removeSealed, allSealed } from "./outbox.js";

const TOKEN_KEY = "quietpoll.token";
const TOKEN_RE = /^[A-Za-z0-9._~+/=-]{1,256}$/;

// 1. Enrolment: ?token=... is a credential; keep it and take it out of the URL and history at once.
(function enrol() {
  const params = new URLSearchParams(location.search);
  if (!params.has("token")) return;
  const token = params.get("token");
  params.delete("token");
  if (TOKEN_RE.test(token)) localStorage.setItem(TOKEN_KEY, token);
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
})();

const MESSAGES = {
  en: {
    required: "This question is required.",
    constraint: "This answer is not allowed.",
    number: "Enter a number.",
    integer: "Enter a whole number.",
    fix: "Please correct the marked questions.",
    sealing: "Encrypting…",
    saved: "Saved encrypted on this device. Sending…",
    sent: "Sent.",
    pending: (n) => `${n} encrypted interview(s) waiting to be sent.`,
    offline: (n) => `Offline: ${n} encrypted interview(s) will be sent when a connection returns.`,
    unenrolled: (n) => `${n} encrypted interview(s) waiting: this browser is not enrolled (open the link with your token).`,
    failed: "Could not encrypt the interview.",
  },
  ko: {
    required: "필수 질문입니다.",
    constraint: "허용되지 않는 답입니다.",
    number: "숫자를 입력하십시오.",
    integer: "정수를 입력하십시오.",
    fix: "표시된 질문을 고쳐 주십시오.",
    sealing: "암호화 중…",
    saved: "이 기기에 암호화하여 저장했습니다. 전송 중…",
    sent: "전송했습니다.",
    pending: (n) => `암호화된 면접 ${n}건이 전송을 기다리고 있습니다.`,
    offline: (n) => `오프라인: 암호화된 면접 ${n}건은 연결되면 전송됩니다.`,
    unenrolled: (n) => `암호화된 면접 ${n}건 대기 중: 이 브라우저는 등록되지 않았습니다 (토큰 링크를 여십시오).`,
    failed: "면접을 암호화하지 못했습니다.",
  },
};

const root = document.getElementById("quietpoll");
const form = document.getElementById("qp-form");
const statusEl = document.getElementById("qp-status");
const config = {
  formId: root.dataset.formId,
  publicKey: root.dataset.publicKey,
  api: root.dataset.api || "/api/v1/submissions",
};
let lang = root.dataset.lang || "";

function msg() {
  const code = (document.querySelector(`[data-set-lang="${CSS.escape(lang)}"]`) || root).dataset.code || "en";
  return MESSAGES[code] || MESSAGES.en;
}
function say(text) {
  statusEl.textContent = text;
}

// 2. Language switch: every label exists in each language; show one.
function setLanguage(name) {
  lang = name;
  for (const el of root.querySelectorAll("[data-lang]")) el.hidden = el.dataset.lang !== name;
  for (const b of root.querySelectorAll("[data-set-lang]")) b.setAttribute("aria-pressed", String(b.dataset.setLang === name));
  const active = root.querySelector(`[data-set-lang="${CSS.escape(name)}"]`);
  if (active && active.dataset.code) document.documentElement.lang = active.dataset.code;
}
for (const b of root.querySelectorAll("[data-set-lang]")) b.addEventListener("click", () => setLanguage(b.dataset.setLang));

// 3. Questions, their expressions compiled once.
const questions = [...form.querySelectorAll(".q")].map((el) => {
  let groupRelevant = [];
  try {
    groupRelevant = JSON.parse(el.dataset.groupRelevant || "[]");
  } catch (e) {
    groupRelevant = [];
  }
  const required = el.dataset.required || "";
  return {
    el,
    name: el.dataset.name,
    type: el.dataset.type,
    relevantText: [el.dataset.relevant, ...groupRelevant].filter(Boolean),
    relevant: [el.dataset.relevant, ...groupRelevant].filter(Boolean).map(compile),
    constraint: compile(el.dataset.constraint),
    required: required === "true" ? true : required ? compile(required) : false,
    constraintMessage: el.dataset.constraintMessage || "",
    errorEl: el.querySelector(".err"),
    isRelevant: true,
  };
});
const byName = new Map(questions.filter((q) => q.type !== "note").map((q) => [q.name, q]));
const NUMERIC = new Set(["integer", "decimal"]);

function rawValue(q) {
  if (q.type === "note") return "";
  if (q.type === "select_one") {
    const c = q.el.querySelector("input:checked");
    return c ? c.value : "";
  }
  if (q.type === "select_multiple") return [...q.el.querySelectorAll("input:checked")].map((c) => c.value).join(" ");
  const input = q.el.querySelector("input, textarea");
  return input ? input.value : "";
}

function context(current) {
  return {
    lookup(name) {
      const q = byName.get(name);
      if (!q) return undefined;
      return { value: q.isRelevant ? rawValue(q) : "", numeric: NUMERIC.has(q.type) };
    },
    current: current ? { value: rawValue(current), numeric: NUMERIC.has(current.type) } : null,
  };
}

// Skip logic: a question is shown unless one of its (group) relevance expressions is known to be false.
function updateRelevance() {
  for (const q of questions) {
    const results = q.relevant.map((tree) => (tree ? evaluate(tree, context(null)) : null));
    q.isRelevant = !results.includes(false);
    q.relevanceKnown = !results.includes(null); // unsupported relevance: shown, and left unchecked
    q.el.hidden = !q.isRelevant;
  }
  for (const fs of form.querySelectorAll("fieldset.group")) {
    fs.hidden = ![...fs.querySelectorAll(".q")].some((el) => !el.hidden);
  }
}

function check(q) {
  if (!q.isRelevant || q.type === "note" || !q.relevanceKnown) return "";
  const m = msg();
  const value = rawValue(q);
  const input = q.el.querySelector("input");
  if (input && input.type === "number" && input.validity.badInput) return m.number;
  if (value.trim() === "") {
    const required = q.required === true ? true : q.required ? evaluate(q.required, context(q)) : false;
    return required === true ? m.required : "";
  }
  if (q.type === "integer" && !/^[-+]?\d+$/.test(value.trim())) return m.integer;
  if (q.type === "decimal" && !Number.isFinite(Number(value))) return m.number;
  if (q.constraint && evaluate(q.constraint, context(q)) === false) return q.constraintMessage || m.constraint;
  return "";
}

function show(q, error) {
  if (!q.errorEl) return;
  q.errorEl.textContent = error;
  q.errorEl.hidden = !error;
  q.el.classList.toggle("invalid", Boolean(error));
  for (const input of q.el.querySelectorAll("input, textarea")) {
    if (error) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

function onEdit(event) {
  updateRelevance();
  const el = event.target.closest(".q");
  const q = el && questions.find((x) => x.el === el);
  if (q) show(q, check(q));
  for (const other of questions) if (!other.isRelevant) show(other, "");
}
form.addEventListener("input", onEdit);
form.addEventListener("change", onEdit);

function answers() {
  const out = {};
  for (const q of questions) {
    if (!q.isRelevant || q.type === "note") continue;
    const value = rawValue(q);
    if (value.trim() === "") continue;
    if (q.type === "integer") out[q.name] = parseInt(value, 10);
    else if (q.type === "decimal") out[q.name] = Number(value);
    else out[q.name] = value;
  }
  return out;
}

// 4. The outbox: send what waits, delete what the server has.
let flushing = false;
async function flush() {
  if (flushing) return;
  flushing = true;
  try {
    let waiting = await allSealed();
    const token = localStorage.getItem(TOKEN_KEY);
    if (waiting.length && !token) return say(msg().unenrolled(waiting.length));
    for (const record of waiting) {
      let response;
      try {
        response = await fetch(config.api, {
          method: "POST",
          headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
          body: JSON.stringify({ form_id: record.form_id, instance_id: record.instance_id, ciphertext: record.ciphertext }),
          cache: "no-store",
          credentials: "omit",
          referrerPolicy: "no-referrer",
        });
      } catch (e) {
        break; // offline: keep everything, try again on "online" or the next page load
      }
      if (response.status === 201 || response.status === 200) await removeSealed(record.instance_id);
    }
    waiting = await allSealed();
    if (!waiting.length) say(msg().sent);
    else say(navigator.onLine ? msg().pending(waiting.length) : msg().offline(waiting.length));
  } finally {
    flushing = false;
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  updateRelevance();
  let first = null;
  for (const q of questions) {
    const error = check(q);
    show(q, error);
    if (error && !first) first = q;
  }
  if (first) {
    say(msg().fix);
    const input = first.el.querySelector("input, textarea");
    (input || first.el).focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  say(msg().sealing);
  try {
    const instanceId = "uuid:" + crypto.randomUUID();
    const ciphertext = await seal(config.publicKey, config.formId, instanceId, answers());
    await putSealed({ form_id: config.formId, instance_id: instanceId, ciphertext });
    form.reset();
    updateRelevance();
    for (const q of questions) show(q, "");
    window.scrollTo(0, 0);
    say(msg().saved);
  } catch (e) {
    say(msg().failed);
    return;
  } finally {
    button.disabled = false;
  }
  await flush();
});

window.addEventListener("online", () => flush());

if (lang) setLanguage(lang);
updateRelevance();
if ("serviceWorker" in navigator && root.dataset.sw) {
  navigator.serviceWorker.register(root.dataset.sw, { scope: "/" }).catch(() => {});
}
root.dataset.ready = "true";
flush();

// For tests and tooling: sealing needs only the public key, so exposing it reveals nothing.
globalThis.quietpoll = { seal, compile, evaluate };
