// The supervisor's view (/s): counts per interviewer alias and day, from the server's metadata only.
// The supervisor token is typed in, kept in this page's memory only (never in storage or a URL), sent
// as a Bearer header, and forgotten when the page is hidden or closed.
const T = {
  en: { token: "Supervisor token", show: "Show", alias: "Interviewer", total: "Interviews", aside: "Set aside",
        last: "Last seen (UTC hour)", days: "Per day", revoked: "revoked", refused: "This token does not open this view.",
        failed: "The server could not be reached.", none: "No interviewer yet.", updated: (t) => `Updated ${t}.` },
  ko: { token: "감독자 토큰", show: "보기", alias: "면접원", total: "면접 수", aside: "보류",
        last: "마지막 수신 (UTC 시)", days: "날짜별", revoked: "취소됨", refused: "이 토큰으로는 이 화면을 열 수 없습니다.",
        failed: "서버에 연결할 수 없습니다.", none: "아직 면접원이 없습니다.", updated: (t) => `${t}에 갱신했습니다.` },
};
const code = (navigator.languages || [navigator.language || ""]).map((l) => String(l).slice(0, 2).toLowerCase()).find((c) => T[c]) || "en";
const t = T[code];
const form = document.getElementById("qp-sup");
const input = form.querySelector("input[name=token]");
const status = document.getElementById("qp-sup-status");
const table = document.getElementById("qp-stats");
let token = "";
document.documentElement.lang = code;
form.querySelector("label span").textContent = t.token;
form.querySelector("button[type=submit]").textContent = t.show;

function cell(row, text, numeric) {
  const td = row.insertCell();
  td.textContent = text;
  if (numeric) td.className = "num";
}

function render(rows) {
  table.replaceChildren();
  if (!rows.length) return (status.textContent = t.none);
  const head = table.createTHead().insertRow();
  for (const h of [t.alias, t.total, t.aside, t.last, t.days]) {
    const th = document.createElement("th");
    th.textContent = h;
    head.appendChild(th);
  }
  const body = table.createTBody();
  for (const r of rows) {
    const row = body.insertRow();
    cell(row, r.revoked ? `${r.alias} (${t.revoked})` : r.alias);
    cell(row, String(r.submissions), true);
    cell(row, String(r.quarantined), true);
    cell(row, r.last_seen ? r.last_seen.replace("T", " ").replace(":00:00Z", ":00") : "–");
    cell(row, Object.entries(r.days).slice(-7).map(([d, n]) => `${d.slice(5)}: ${n}`).join(", "));
  }
  status.textContent = t.updated(new Date().toISOString().slice(11, 16));
}

async function load() {
  let response;
  try {
    response = await fetch("/api/v1/stats", { headers: { Authorization: `Bearer ${token}` }, cache: "no-store", credentials: "omit", referrerPolicy: "no-referrer" });
  } catch (e) {
    return (status.textContent = t.failed);
  }
  if (!response.ok) {
    token = "";
    table.replaceChildren();
    return (status.textContent = t.refused);
  }
  render((await response.json()).interviewers);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  token = input.value.trim();
  input.value = "";
  if (token) load();
});
addEventListener("pagehide", () => { token = ""; table.replaceChildren(); });
