// A small, safe evaluator for the subset of XLSForm (XPath) expressions the form needs live:
// ${name} references, '.', numbers, 'strings', = != < > <= >=, and, or, not(), selected(),
// count-selected(), true(), false(), parentheses. It never calls eval/Function. Anything else
// (arithmetic, other functions, paths) throws Unsupported, and the caller then leaves the question
// visible and unchecked (the server side never trusts these checks anyway).

export class Unsupported extends Error {}

const TOKEN = /\s*(?:(\$\{[A-Za-z_][A-Za-z0-9_.-]*\})|(\d+(?:\.\d*)?|\.\d+)|('[^']*'|"[^"]*")|(!=|<=|>=|=|<|>)|([(),])|([A-Za-z_][A-Za-z0-9_.:-]*)|(\.)(?![A-Za-z0-9_.])|(\S))/y;

function tokenize(text) {
  const out = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    const start = TOKEN.lastIndex;
    const m = TOKEN.exec(text);
    if (!m) {
      if (/^\s*$/.test(text.slice(start))) break;
      throw new Unsupported("cannot read the expression");
    }
    if (m[1]) out.push({ k: "ref", v: m[1].slice(2, -1) });
    else if (m[2]) out.push({ k: "num", v: Number(m[2]) });
    else if (m[3]) out.push({ k: "str", v: m[3].slice(1, -1) });
    else if (m[4]) out.push({ k: "op", v: m[4] });
    else if (m[5]) out.push({ k: m[5] });
    else if (m[6]) out.push({ k: "name", v: m[6] });
    else if (m[7]) out.push({ k: "dot" });
    else if (m[8]) throw new Unsupported(`unsupported symbol ${m[8]}`);
    else break; // trailing whitespace
  }
  return out;
}

const FUNCTIONS = { not: 1, selected: 2, "count-selected": 1, true: 0, false: 0 };

export function parse(text) {
  const toks = tokenize(String(text));
  let i = 0;
  const peek = () => toks[i];
  const next = () => toks[i++];
  const expect = (k) => {
    const t = next();
    if (!t || t.k !== k) throw new Unsupported("unexpected end or symbol");
    return t;
  };
  function orExpr() {
    let left = andExpr();
    while (peek() && peek().k === "name" && peek().v === "or") { next(); left = { k: "or", a: left, b: andExpr() }; }
    return left;
  }
  function andExpr() {
    let left = cmp();
    while (peek() && peek().k === "name" && peek().v === "and") { next(); left = { k: "and", a: left, b: cmp() }; }
    return left;
  }
  function cmp() {
    const left = primary();
    if (peek() && peek().k === "op") {
      const op = next().v;
      const right = primary();
      if (peek() && peek().k === "op") throw new Unsupported("chained comparison");
      return { k: "cmp", op, a: left, b: right };
    }
    return left;
  }
  function primary() {
    const t = next();
    if (!t) throw new Unsupported("unexpected end");
    if (t.k === "(") { const e = orExpr(); expect(")"); return e; }
    if (t.k === "ref") return { k: "ref", name: t.v };
    if (t.k === "dot") return { k: "dot" };
    if (t.k === "num") return { k: "num", v: t.v };
    if (t.k === "str") return { k: "str", v: t.v };
    if (t.k === "name" && Object.prototype.hasOwnProperty.call(FUNCTIONS, t.v) && peek() && peek().k === "(") {
      next();
      const args = [];
      if (peek() && peek().k !== ")") {
        args.push(orExpr());
        while (peek() && peek().k === ",") { next(); args.push(orExpr()); }
      }
      expect(")");
      if (args.length !== FUNCTIONS[t.v]) throw new Unsupported(`${t.v}() takes ${FUNCTIONS[t.v]} argument(s)`);
      return { k: "call", fn: t.v, args };
    }
    throw new Unsupported("unsupported construct");
  }
  const tree = orExpr();
  if (i !== toks.length) throw new Unsupported("unsupported construct");
  return tree;
}

// Values: {t: "bool"|"num"|"str", v} ; a reference is a string that is numeric when its question is
// an answered integer/decimal (as JavaRosa: an unanswered question is "" and NaN).
function toBool(x) {
  if (x.t === "bool") return x.v;
  if (x.t === "num") return x.v !== 0 && !Number.isNaN(x.v);
  return x.v.length > 0;
}
function toNum(x) {
  if (x.t === "num") return x.v;
  if (x.t === "bool") return x.v ? 1 : 0;
  const s = x.v.trim();
  return s === "" || !/^[-+]?(\d+(\.\d*)?|\.\d+)$/.test(s) ? NaN : Number(s);
}
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function compare(op, a, b) {
  if (op === "=" || op === "!=") {
    let eq;
    if (a.t === "bool" || b.t === "bool") eq = toBool(a) === toBool(b);
    else if (a.t === "num" || b.t === "num" || a.numeric || b.numeric) eq = toNum(a) === toNum(b);
    else eq = a.v === b.v;
    return op === "=" ? eq : !eq;
  }
  if (a.t === "str" && b.t === "str" && ISO_DATE.test(a.v) && ISO_DATE.test(b.v)) {
    const x = a.v, y = b.v;
    return op === "<" ? x < y : op === ">" ? x > y : op === "<=" ? x <= y : x >= y;
  }
  const x = toNum(a), y = toNum(b);
  if (Number.isNaN(x) || Number.isNaN(y)) return false;
  return op === "<" ? x < y : op === ">" ? x > y : op === "<=" ? x <= y : x >= y;
}

function evalNode(n, ctx) {
  switch (n.k) {
    case "num": return { t: "num", v: n.v };
    case "str": return { t: "str", v: n.v };
    case "ref": {
      const got = ctx.lookup(n.name);
      if (got === undefined) throw new Unsupported(`unknown question ${n.name}`);
      return { t: "str", v: got.value, numeric: got.numeric && got.value !== "" };
    }
    case "dot": {
      if (!ctx.current) throw new Unsupported("'.' outside a constraint");
      return { t: "str", v: ctx.current.value, numeric: ctx.current.numeric && ctx.current.value !== "" };
    }
    case "or": return { t: "bool", v: toBool(evalNode(n.a, ctx)) || toBool(evalNode(n.b, ctx)) };
    case "and": return { t: "bool", v: toBool(evalNode(n.a, ctx)) && toBool(evalNode(n.b, ctx)) };
    case "cmp": return { t: "bool", v: compare(n.op, evalNode(n.a, ctx), evalNode(n.b, ctx)) };
    case "call": {
      const args = n.args.map((a) => evalNode(a, ctx));
      if (n.fn === "not") return { t: "bool", v: !toBool(args[0]) };
      if (n.fn === "true") return { t: "bool", v: true };
      if (n.fn === "false") return { t: "bool", v: false };
      const items = (x) => String(x.t === "num" ? x.v : x.v).split(/\s+/).filter(Boolean);
      if (n.fn === "selected") return { t: "bool", v: items(args[0]).includes(String(args[1].v).trim()) };
      if (n.fn === "count-selected") return { t: "num", v: items(args[0]).length };
    }
  }
  throw new Unsupported("unsupported construct");
}

/** Compile `text` once; returns null when it is outside the supported subset. */
export function compile(text) {
  if (text === undefined || text === null || String(text).trim() === "") return null;
  try {
    return parse(text);
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

/** true / false, or null when the expression cannot be evaluated here (unknown names, ...). */
export function evaluate(tree, ctx) {
  if (!tree) return null;
  try {
    return toBool(evalNode(tree, ctx));
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}
