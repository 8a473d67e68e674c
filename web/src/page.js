// The page's shell: its elements, its settings (data- attributes of #quietpoll) and its messages.
import { MESSAGES } from "./messages.js";

export const root = document.getElementById("quietpoll");
export const body = document.getElementById("qp-body");
const statusEl = document.getElementById("qp-status");
const enrolEl = document.getElementById("qp-enrol");
const deviceEl = document.getElementById("qp-device");
export const config = {
  formId: root.dataset.formId,
  publicKey: root.dataset.publicKey,
  bundle: root.dataset.bundle || "",
  api: root.dataset.api || "/api/v1/submissions",
  enrol: root.dataset.enrol,
  questionnaire: root.dataset.questionnaire,
};

let lang = "";
export const setMessageLanguage = (name) => (lang = name);

// Before a questionnaire language is chosen (the PIN, enrolment and wipe texts of the shell), the
// browser's own language when quietpoll has messages in it: a Korean phone gets a Korean shell even
// when the form's default language is English.
const BROWSER_CODE = (navigator.languages || [navigator.language || ""])
  .map((l) => String(l).slice(0, 2).toLowerCase())
  .find((c) => MESSAGES[c]);

export function msg() {
  const chosen = lang && document.querySelector(`[data-set-lang="${CSS.escape(lang)}"]`);
  const code = chosen ? chosen.dataset.code : BROWSER_CODE || root.dataset.code;
  return MESSAGES[code || "en"] || MESSAGES.en;
}
export const say = (text) => (statusEl.textContent = text);
export function alertEnrol(text) {
  enrolEl.textContent = text || "";
  enrolEl.hidden = !text;
}
export function setEnrolment(state, text) {
  root.dataset.enrolment = state;
  deviceEl.textContent = text;
}
