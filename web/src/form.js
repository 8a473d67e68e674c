// quietpoll's form page: after enrolment or the PIN (session.js), the questionnaire with live skip
// logic, calculations, repeats, checks, encrypted drafts (drafts.js), sealing to the pinned key, the
// encrypted outbox and the quick wipe. Answers, calculations
// and random draws live in this script's memory and, while an interview is in progress, in a draft
// encrypted under the PIN key (vault.js); nothing readable is written to browser storage or a URL.
// Device-only fields (data-device-only: randomization draws) are evaluated here but never sealed.
import { seal } from "./seal.js";
import { compile, evaluate, evaluateValue, asText, asAnswer, references, toNum, FUNCTIONS } from "./expr.js";
import { putSealed, removeSealed, allSealed } from "./outbox.js";
import * as vault from "./vault.js";
import { root, body, config, msg, say, alertEnrol, setEnrolment, setMessageLanguage } from "./page.js";
import { session, pinsMatch, boot, revoked, wipeStorage } from "./session.js";
import { snapshot, restore } from "./drafts.js";

const NUMERIC = new Set(["integer", "decimal"]);
const MAX_INSTANCES = 500; // a repeat_count above this shows an error and blocks submitting
let form = null; // the questionnaire's <form>, once unlocked and loaded
let lang = "";

const utf8 = new TextEncoder();
// bytes of a text as a JSON string body (UTF-8, escapes counted, no quotes): what the text cap limits
const jsonBytes = (text) => utf8.encode(JSON.stringify(text)).length - 2;

// After the PIN: refuse a changed study key or bundle (a seized or altered server), else load the
// questionnaire (from the server with the token, or the encrypted copy when offline) and the draft.
async function unlocked() {
  if (!pinsMatch()) {
    setEnrolment("mismatch", msg().notEnrolled);
    alertEnrol(msg().keyChanged);
    say(msg().keyChanged);
    return;
  }
  setEnrolment("enrolled", session.lock.token ? msg().enrolledKey(session.lock.fingerprint) : msg().revokedShort);
  const name = `questionnaire:${config.formId}`;
  let doc = null;
  if (session.lock.token) {
    try {
      const response = await fetch(config.questionnaire, {
        headers: { Authorization: `Bearer ${session.lock.token}` },
        cache: "no-store",
        credentials: "omit",
        referrerPolicy: "no-referrer",
      });
      if (response.ok) {
        doc = await response.json();
        await vault.putSealedRecord(session.key, name, doc);
      } else if (response.status === 401) await revoked();
    } catch (e) {
      doc = null; // offline: the encrypted copy below
    }
  }
  if (!doc) {
    try {
      doc = await vault.getOpened(session.key, name);
    } catch (e) {
      doc = null;
    }
  }
  if (!doc) return say(msg().noQuestionnaire);
  body.innerHTML = doc.html;
  startForm();
  let draft;
  try {
    draft = await vault.getOpened(session.key, draftName());
  } catch (e) {
    draft = undefined;
  }
  if (draft) startedAt = restore(form, draft, { state, addInstance, maxInstances: MAX_INSTANCES }) || startedAt;
  refresh();
  if (draft) say(msg().resumed);
  root.dataset.ready = "true";
  offlineReady();
  flush();
}

// 2. Language switch: every label exists in each language; show one.
function applyLanguage(scope) {
  for (const el of scope.querySelectorAll("[data-lang]")) el.hidden = el.dataset.lang !== lang;
}
function setLanguage(name) {
  lang = name;
  setMessageLanguage(name);
  applyLanguage(root);
  for (const b of root.querySelectorAll("[data-set-lang]")) b.setAttribute("aria-pressed", String(b.dataset.setLang === name));
  const active = root.querySelector(`[data-set-lang="${CSS.escape(name)}"]`);
  if (active && active.dataset.code) document.documentElement.lang = active.dataset.code;
}

// 3. The interview's state, in memory only: per question element its compiled expressions, its
//    relevance and (for calculations and metadata) its value; once() results per calculation.
let states = new WeakMap();
let startedAt = new Date().toISOString();

function parseList(text) {
  try {
    return JSON.parse(text || "[]");
  } catch (e) {
    return [];
  }
}

function state(el) {
  let s = states.get(el);
  if (!s) {
    const d = el.dataset;
    const required = d.required || "";
    s = {
      el,
      name: d.name,
      type: d.type,
      relevant: [d.relevant, ...parseList(d.groupRelevant)].filter(Boolean).map(compile),
      constraint: compile(d.constraint),
      required: required === "true" ? true : required ? compile(required) : false,
      readOnly: d.readOnly === "true" ? true : d.readOnly ? compile(d.readOnly) : false,
      calculate: compile(d.calculate),
      choiceFilter: compile(d.choiceFilter),
      constraintMessage: d.constraintMessage || "",
      errorEl: el.querySelector(":scope > .err"),
      isRelevant: true,
      relevanceKnown: true,
      text: "", // a calculation's or metadata's value, as other expressions read it
      answer: undefined, // ... and as it is sealed
      memo: new Map(), // once() values of this calculation
      calcText: undefined, // an input question's last calculated value (written into its input)
    };
    states.set(el, s);
  }
  return s;
}

const scopeOf = (el) => el.parentElement.closest(".instance") || form;
const questionEls = () => [...form.querySelectorAll(".q")];

// Scopes: the form, and each repeat instance; a name is looked up in the question's own scope,
// then in the enclosing ones (never inside a repeat from outside it: the server refuses such forms).
function scopeIndex(els) {
  const index = new Map();
  for (const el of els) {
    const scope = scopeOf(el);
    if (!index.has(scope)) index.set(scope, new Map());
    const names = index.get(scope);
    if (!names.has(el.dataset.name)) names.set(el.dataset.name, el);
  }
  return index;
}

function rawValue(s) {
  const el = s.el;
  if (s.type === "note") return "";
  if (s.type === "select_one") {
    const c = el.querySelector("input:checked");
    return c ? c.value : "";
  }
  if (s.type === "select_multiple") return [...el.querySelectorAll("input:checked")].map((c) => c.value).join(" ");
  if (el.classList.contains("calc")) return s.text;
  const input = el.querySelector("input, textarea");
  return input ? input.value : "";
}

function randomUnit() {
  const words = new Uint32Array(2);
  crypto.getRandomValues(words);
  return (words[0] * 2 ** 21 + (words[1] >>> 11)) / 2 ** 53; // 53 random bits in [0, 1)
}

function context(s, index, extra) {
  return {
    lookup(name) {
      let scope = scopeOf(s.el);
      for (;;) {
        const el = index.get(scope) && index.get(scope).get(name);
        if (el) {
          const t = state(el);
          return { type: t.type, value: t.isRelevant ? rawValue(t) : "" };
        }
        if (scope === form) return undefined;
        scope = scopeOf(scope);
      }
    },
    current: { type: s.type, value: rawValue(s) },
    ...extra,
  };
}

function relevance(trees, ctx) {
  const results = trees.map((tree) => (tree ? evaluate(tree, ctx) : null));
  return { relevant: !results.includes(false), known: !results.includes(null) };
}

// Dependency order: a question's relevance and calculation are evaluated after every question they
// name (a topological order of the names, form order among equals), over the page and the repeat
// templates. The server refuses circular calculations; a circle through relevance is left to the
// fixed-point passes below.
let rank = new Map();
function computeRank() {
  const deps = new Map();
  const visit = (scope) => {
    for (const el of scope.querySelectorAll(".q")) {
      const d = el.dataset;
      const names = new Set();
      for (const text of [d.relevant, ...parseList(d.groupRelevant), d.calculate, d.choiceFilter, d.readOnly]) {
        if (text) references(compile(text), names);
      }
      if (!deps.has(d.name)) deps.set(d.name, new Set());
      for (const n of names) if (n !== d.name) deps.get(d.name).add(n);
    }
    for (const t of scope.querySelectorAll("template")) visit(t.content);
  };
  visit(form);
  const order = new Map();
  const state = new Map();
  const walk = (name) => {
    if (state.get(name)) return; // done, or on the current path (a circle)
    state.set(name, 1);
    for (const dep of deps.get(name) || []) if (deps.has(dep)) walk(dep);
    order.set(name, order.size);
  };
  for (const name of deps.keys()) walk(name);
  return order;
}

// An input question's value set by the script (a calculation on a question that has an input).
function setInput(s, text) {
  if (s.type === "select_one" || s.type === "select_multiple") {
    const picked = new Set(String(text).split(/\s+/).filter(Boolean));
    for (const input of s.el.querySelectorAll("input")) input.checked = picked.has(input.value);
    return;
  }
  const input = s.el.querySelector("input, textarea");
  if (input) input.value = text;
}

// read_only: shown, never editable (radio buttons and check boxes disabled, other inputs read-only).
function setReadOnly(s, readOnly) {
  for (const input of s.el.querySelectorAll("input, textarea")) {
    if (input.type === "radio" || input.type === "checkbox") input.disabled = readOnly;
    else input.readOnly = readOnly;
  }
  s.el.classList.toggle("read-only", readOnly);
}

function choiceData(label) {
  if (!label.dataset.choiceData) return {};
  try {
    return JSON.parse(label.dataset.choiceData);
  } catch (e) {
    return {};
  }
}

// repeat_count: a counted repeat (no add/remove buttons) holds exactly as many instances as its
// expression says, evaluated in the repeat's enclosing scope (empty or not a number: none). Returns
// whether any instance was added or removed.
function applyCounts(index) {
  let changed = false;
  for (const section of form.querySelectorAll("section.repeat[data-repeat-count]")) {
    if (section.hidden) continue; // not relevant: its instances are not sealed, keep them as they are
    const host = { el: section, type: "", name: "" };
    const value = evaluateValue(compile(section.dataset.repeatCount), context(host, index));
    const n = value === null ? NaN : toNum(value);
    const want = Number.isFinite(n) ? Math.max(0, Math.min(MAX_INSTANCES, Math.trunc(n))) : 0;
    const over = Number.isFinite(n) && Math.trunc(n) > MAX_INSTANCES;
    const err = section.querySelector(":scope > .err");
    if (over) section.dataset.countOver = "true";
    else delete section.dataset.countOver;
    if (err) {
      err.textContent = over ? msg().tooMany(MAX_INSTANCES) : "";
      err.hidden = !over;
    }
    const list = section.querySelector(":scope > .instances");
    while (list.children.length < want) {
      addInstance(section);
      changed = true;
    }
    while (list.children.length > want) {
      list.lastElementChild.remove();
      changed = true;
    }
  }
  return changed;
}

// Skip logic, calculations, choice filters and repeat counts; instances added or removed by a count
// are themselves refreshed (nested counts: a few rounds at most).
function refresh() {
  let index = refreshOnce();
  for (let round = 0; round < 20 && applyCounts(index); round++) index = refreshOnce();
  return index;
}

// One pass in dependency order, then more passes until nothing changes (a safety net; the bound
// ends it).
function refreshOnce() {
  const inForm = questionEls();
  const position = new Map(inForm.map((el, i) => [el, i]));
  const els = [...inForm].sort((x, y) => (rank.get(x.dataset.name) ?? 0) - (rank.get(y.dataset.name) ?? 0) || position.get(x) - position.get(y));
  const index = scopeIndex(els);
  const calcs = els.filter((el) => el.dataset.calculate).length;
  for (let pass = 0; pass < calcs + 3; pass++) {
    let changed = false;
    for (const el of els) {
      const s = state(el);
      const r = relevance(s.relevant, context(s, index));
      if (r.relevant !== s.isRelevant) changed = true;
      s.isRelevant = r.relevant;
      s.relevanceKnown = r.known;
      if (s.calculate && !el.classList.contains("calc")) {
        // a calculation on a question with an input: written into the input when its result changes
        // (an editable question keeps what the interviewer typed until then, as ODK Collect)
        if (s.isRelevant) {
          const text = asText(evaluateValue(s.calculate, context(s, index, { memo: s.memo, random: randomUnit })));
          if (text !== s.calcText) {
            s.calcText = text;
            setInput(s, text);
            changed = true;
          }
        }
      } else if (s.calculate) {
        const value = s.isRelevant ? evaluateValue(s.calculate, context(s, index, { memo: s.memo, random: randomUnit })) : null;
        const text = asText(value);
        if (text !== s.text) changed = true;
        s.text = text;
        s.answer = asAnswer(value);
      } else if (s.type === "today") {
        const d = new Date(startedAt); // the device's calendar day, as today()
        s.text = s.answer = [d.getFullYear(), d.getMonth() + 1, d.getDate()].map((x) => String(x).padStart(2, "0")).join("-");
      } else if (s.type === "start") {
        s.text = s.answer = startedAt;
      }
      if (s.choiceFilter) {
        for (const label of el.querySelectorAll("[data-choice]")) {
          const extra = { choiceName: label.dataset.choice, choiceData: choiceData(label) };
          const keep = evaluate(s.choiceFilter, context(s, index, extra)) !== false;
          label.hidden = !keep;
          const input = label.querySelector("input");
          if (!keep && input.checked) {
            input.checked = false;
            changed = true;
          }
        }
      }
    }
    if (!changed) break;
  }
  for (const el of els) {
    const s = state(el);
    if (s.readOnly === true) setReadOnly(s, true);
    else if (s.readOnly) setReadOnly(s, evaluate(s.readOnly, context(s, index)) === true);
  }
  spendPrivateNotes(inForm);
  for (const el of els) el.hidden = el.classList.contains("calc") || !state(el).isRelevant || state(el).spent === true;
  for (const section of form.querySelectorAll("section.repeat")) {
    const host = { el: section, type: "", name: "" };
    const r = relevance(parseList(section.dataset.groupRelevant).map(compile), context(host, index));
    section.hidden = !r.relevant;
  }
  for (const fs of form.querySelectorAll("fieldset.group")) {
    fs.hidden = ![...fs.querySelectorAll(".q:not(.calc)")].some((el) => !el.hidden);
  }
  return index;
}

// A device-only note is a private instruction (randomized response): once the first question after it
// that is not device-only has an answer, it is hidden for the rest of the interview (it does not come
// back when that answer is changed or the page scrolled back), so the device can go back to the
// interviewer with nothing private on screen. newInterview() forgets it with the other states.
function spendPrivateNotes(inForm) {
  for (let i = 0; i < inForm.length; i++) {
    const s = state(inForm[i]);
    if (s.type !== "note" || s.el.dataset.deviceOnly !== "true" || s.spent) continue;
    const next = inForm.slice(i + 1).find((el) => el.dataset.type !== "note" && !el.classList.contains("calc") && el.dataset.deviceOnly !== "true");
    if (next && rawValue(state(next)) !== "") s.spent = true;
  }
}

function check(s, index) {
  if (!s.isRelevant || s.type === "note" || !s.relevanceKnown || s.el.classList.contains("calc")) return "";
  const m = msg();
  const value = rawValue(s);
  const input = s.el.querySelector("input");
  if (input && input.type === "number" && input.validity.badInput) return m.number;
  if (value.trim() === "") {
    const required = s.required === true ? true : s.required ? evaluate(s.required, context(s, index)) : false;
    return required === true ? m.required : "";
  }
  if (s.type === "integer" && !/^[-+]?\d+$/.test(value.trim())) return m.integer;
  if (s.type === "text" && jsonBytes(value) > config.textMax) return m.tooLong(config.textMax);
  if (s.type === "decimal" && !Number.isFinite(Number(value))) return m.number;
  if (s.constraint && evaluate(s.constraint, context(s, index)) === false) return s.constraintMessage || m.constraint;
  return "";
}

function show(s, error) {
  if (!s.errorEl) return;
  s.errorEl.textContent = error;
  s.errorEl.hidden = !error;
  s.el.classList.toggle("invalid", Boolean(error));
  for (const input of s.el.querySelectorAll("input, textarea")) {
    if (error) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

function onEdit(event) {
  const index = refresh();
  const el = event.target.closest(".q");
  if (el) show(state(el), check(state(el), index));
  for (const other of questionEls()) if (!state(other).isRelevant) show(state(other), "");
  scheduleDraft();
}

// 4. Repeats: instances are clones of the section's <template>; radio buttons get name[N] so each
//    instance has its own radio group.
let instanceCounter = 0;
function addInstance(section) {
  const template = section.querySelector(":scope > template");
  const fragment = template.content.cloneNode(true);
  const n = ++instanceCounter;
  for (const input of fragment.querySelectorAll("input[type=radio]")) input.name = `${input.name}[${n}]`;
  for (const input of fragment.querySelectorAll("input[id]")) {
    const label = fragment.querySelector(`label[for="${CSS.escape(input.id)}"]`);
    input.id = `${input.id}-${n}`;
    if (label) label.htmlFor = input.id;
  }
  applyLanguage(fragment);
  section.querySelector(":scope > .instances").appendChild(fragment);
}
function onClick(event) {
  const add = event.target.closest("[data-add]");
  const remove = event.target.closest("[data-remove]");
  if (add) {
    const section = add.closest("section.repeat");
    if (section.querySelector(":scope > .instances").children.length >= MAX_INSTANCES) return say(msg().tooMany(MAX_INSTANCES));
    addInstance(section);
  }
  else if (remove) remove.closest(".instance").remove();
  else return;
  refresh();
  scheduleDraft();
}

function typed(s) {
  if (s.el.classList.contains("calc")) return s.type === "end" ? new Date().toISOString() : s.answer;
  const value = rawValue(s);
  if (value.trim() === "") return undefined;
  if (s.type === "integer") return parseInt(value, 10);
  if (s.type === "decimal") return Number(value);
  return value;
}

// The answers of one scope (the form or a repeat instance): relevant questions by name, repeats as
// lists of objects under the repeat's name.
function collect(scope, index) {
  const out = {};
  for (const el of questionEls()) {
    if (scopeOf(el) !== scope) continue;
    const s = state(el);
    if (!s.isRelevant || s.type === "note" || el.dataset.deviceOnly === "true") continue; // device-only: never sealed
    const value = typed(s);
    if (value !== undefined) out[s.name] = value;
  }
  for (const section of form.querySelectorAll("section.repeat")) {
    if (scopeOf(section) !== scope || section.hidden) continue;
    const list = [...section.querySelector(":scope > .instances").children].map((inst) => collect(inst, index));
    if (list.length) out[section.dataset.repeat] = list;
  }
  return out;
}

function newInterview() {
  form.reset();
  for (const inst of form.querySelectorAll(".instance")) inst.remove();
  states = new WeakMap(); // forgets calculations and once() draws
  startedAt = new Date().toISOString();
  refresh();
  for (const el of questionEls()) show(state(el), "");
}

// 5. The outbox: send what waits, delete what the server has.
let flushing = false;
async function flush() {
  if (flushing) return;
  flushing = true;
  try {
    let waiting = await allSealed();
    if (!waiting.length) return; // nothing to send: the status line keeps what it says
    const token = session && session.lock.token;
    if (!token) return say(session ? msg().unenrolled(waiting.length) : msg().waitingLocked(waiting.length));
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
      else if (response.status === 401) {
        await revoked();
        alertEnrol(msg().revokedLater(waiting.length));
        return say(msg().unenrolled(waiting.length));
      } else if (response.status === 429) break;
    }
    waiting = await allSealed();
    if (!waiting.length) say(msg().sent);
    else say(navigator.onLine ? msg().pending(waiting.length) : msg().offline(waiting.length));
  } finally {
    flushing = false;
  }
}

async function onSubmit(event) {
  event.preventDefault();
  if (!pinsMatch()) {
    alertEnrol(msg().keyChanged); // never seal to a key this device did not pin
    return say(msg().keyChanged);
  }
  const index = refresh();
  let first = null;
  for (const el of questionEls()) {
    const s = state(el);
    const error = check(s, index);
    show(s, error);
    if (error && !first) first = s;
  }
  const over = [...form.querySelectorAll("section.repeat[data-count-over]")].find((section) => !section.hidden);
  if (over && !first) first = { el: over };
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
    const answers = collect(form, index);
    if (config.envelopeSize && utf8.encode(JSON.stringify(answers)).length + 4 > config.envelopeSize) {
      say(msg().tooLarge); // never a larger envelope: its size would tell the branch taken
      return;
    }
    // sealed to the form id (from the questionnaire, kept only encrypted); stored and sent under the
    // page's route id, which says nothing of the study (the server maps it back)
    const ciphertext = await seal(session.lock.publicKey, config.sealFormId, instanceId, answers, config.envelopeSize);
    await putSealed({ form_id: config.formId, instance_id: instanceId, ciphertext });
    await dropDraft();
    newInterview();
    window.scrollTo(0, 0);
    say(msg().saved);
  } catch (e) {
    say(msg().failed);
    return;
  } finally {
    button.disabled = false;
  }
  await flush();
}

window.addEventListener("online", () => flush());

// 6. Offline: the service worker (registered with the version of this page and bundle) caches the
//    page and bundle; data-offline="ready" once this page would load with no network.
async function offlineReady() {
  if (!("serviceWorker" in navigator) || !root.dataset.sw) return;
  try {
    await navigator.serviceWorker.register(root.dataset.sw, { scope: "/" });
    await navigator.serviceWorker.ready;
    for (let i = 0; i < 50; i++) {
      if ((await caches.match(location.origin + location.pathname)) && (await caches.match("/static/form.js"))) {
        root.dataset.offline = "ready";
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (e) {
    /* no service worker (private mode...): the form still works while online */
  }
}

// 7. Drafts: the interview in progress (every input, the repeats' sizes, once() draws, the start
//    time) encrypted under the PIN key, written shortly after each change, read back after the PIN,
//    removed when the interview is sealed. Writes and removals run one after another.
let draftTimer = null;
let draftChain = Promise.resolve();
let draftSaves = 0;
const draftName = () => `draft:${config.formId}`;

function scheduleDraft() {
  clearTimeout(draftTimer);
  draftTimer = setTimeout(saveDraft, 250);
}

function saveDraft() {
  clearTimeout(draftTimer);
  if (!session || !form) return draftChain;
  const key = session.key;
  const value = snapshot(form, states, startedAt);
  draftChain = draftChain
    .then(() => vault.putSealedRecord(key, draftName(), value))
    .then(() => (root.dataset.draftSaves = String(++draftSaves)))
    .catch(() => say(msg().draftFailed));
  return draftChain;
}

function dropDraft() {
  clearTimeout(draftTimer);
  draftChain = draftChain.then(() => vault.remove(draftName())).catch(() => {});
  return draftChain;
}
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden" && draftTimer) saveDraft();
});

// 8. The questionnaire, once loaded: wire it up.
function startForm() {
  form = document.getElementById("qp-form");
  const q = document.getElementById("qp-questionnaire");
  lang = (q && q.dataset.defaultLang) || "";
  config.sealFormId = (q && q.dataset.formId) || config.formId;
  // uniform envelopes: every submission of this form is padded to exactly this size (a bucket), and a
  // text answer may take at most textMax bytes as JSON (quietpoll.collect.sizing)
  config.envelopeSize = Number(q && q.dataset.envelopeSize) || undefined;
  config.textMax = Number(q && q.dataset.textMax) || Infinity;
  for (const b of root.querySelectorAll("[data-set-lang]")) b.addEventListener("click", () => setLanguage(b.dataset.setLang));
  rank = computeRank();
  form.addEventListener("input", onEdit);
  form.addEventListener("change", onEdit);
  form.addEventListener("click", onClick);
  form.addEventListener("submit", onSubmit);
  if (lang) setLanguage(lang);
}

// 9. Quick wipe: the token, keys, drafts, the encrypted questionnaire, caches, any local storage,
//    the service worker and (when the box is ticked) the unsent interviews.
async function wipe() {
  const everything = Boolean(root.querySelector("[data-wipe-outbox]:checked"));
  clearTimeout(draftTimer);
  form = null;
  body.textContent = "";
  const pinForm = document.getElementById("qp-pin");
  if (pinForm) pinForm.remove();
  await draftChain;
  await wipeStorage(everything);
  alertEnrol("");
  setEnrolment("none", msg().notEnrolled);
  say(everything ? msg().wipedAll : msg().wiped);
  root.dataset.wiped = everything ? "all" : "keys";
}
for (const b of root.querySelectorAll('[data-action="wipe"]')) b.addEventListener("click", () => wipe());
const wipeLabel = document.getElementById("qp-wipe-outbox-label");
if (wipeLabel) wipeLabel.textContent = msg().wipeOutbox;
for (const b of root.querySelectorAll('[data-action="wipe"]')) b.textContent = msg().wipe;

boot(unlocked).then(() => flush());

// For tests and tooling (reveals nothing: no answers, no draws, no token): sealing needs only the
// public key; the evaluator is pure.
globalThis.quietpoll = { seal, compile, evaluate, evaluateValue, functions: Object.fromEntries(Object.entries(FUNCTIONS).map(([k, v]) => [k, [v[0], v[1]]])) };
