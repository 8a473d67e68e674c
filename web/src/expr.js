// XLSForm expressions (XPath 1.0 as ODK uses it) in the browser: the same tokenizer, grammar and
// empty-answer rules as src/quietpoll/instrument/xpath.py + expressions.py + functions.py, so a
// relevance, constraint or calculation gives the same result here as in `quietpoll validate`
// (tests/browser/test_expr_crosscheck.py evaluates one table in both and requires equal results).
// It never calls eval/Function. Anything outside the supported set throws Unsupported; the server
// refuses to serve a form that needs it (collect/web.py browser_unsupported, same FUNCTIONS list).
//
// Values are {k, v}: k is the XPath kind of the Python compiler ("num", "str", "bool", "date"
// (days since 1970-01-01), "numref" (an integer/decimal question: NaN when unanswered), "dateref"
// (a date question's text), "strref" (any other question's text)); NaN stands for null.

export class Unsupported extends Error {}

// ------------------------------------------------------------------------------ tokenizer
const TOKEN_RE =
  /(\s+)|(\d+(?:\.\d*)?|\.\d+)|("[^"]*"|'[^']*')|(\$\{[^}]*\})|(!=|<=|>=|\/\/|\.\.|[=<>+\-*/|()[\],@.])|([A-Za-z_][\p{L}\p{N}_\-.]*(?::[A-Za-z_][\p{L}\p{N}_\-.]*)?)/uy;
const OPERATOR_NAMES = new Set(["and", "or", "div", "mod"]);
const OPERAND_CONTEXT = new Set([
  "@", "(", "[", ",", "and", "or", "div", "mod", "*", "/", "//", "|", "+", "-", "=", "!=", "<", "<=", ">", ">=",
]);
const KINDS = [null, "ws", "number", "string", "ref", "op", "name"];

function tokenize(text) {
  const tokens = [];
  let pos = 0;
  while (pos < text.length) {
    TOKEN_RE.lastIndex = pos;
    const m = TOKEN_RE.exec(text);
    if (!m) throw new Unsupported(`cannot parse expression: unexpected '${text[pos]}' at position ${pos + 1}`);
    let kind = KINDS[m.findIndex((g, i) => i > 0 && g !== undefined)];
    const value = m[0];
    pos = TOKEN_RE.lastIndex;
    if (kind === "ws") continue;
    const prev = tokens[tokens.length - 1];
    const operandCtx =
      !prev || prev.kind === "operator" || (prev.kind === "op" && OPERAND_CONTEXT.has(prev.text) && prev.text !== "*");
    if (kind === "name" && OPERATOR_NAMES.has(value) && !operandCtx) kind = "operator";
    else if (kind === "op" && value === "*" && !operandCtx) kind = "operator";
    tokens.push({ kind, text: value });
  }
  tokens.push({ kind: "end", text: "" });
  return tokens;
}

// --------------------------------------------------------------------------------- parser
const PRECEDENCE = { or: 1, and: 2, "=": 3, "!=": 3, "<": 4, "<=": 4, ">": 4, ">=": 4, "+": 5, "-": 5, "*": 6, div: 6, mod: 6 };
const MAX_DEPTH = 200;

export function parse(text) {
  if (typeof text !== "string") throw new Unsupported("an expression must be text");
  if (text.length > 100000) throw new Unsupported("expression too long");
  const toks = tokenize(text);
  let i = 0;
  let depth = 0;
  const peek = (k = 0) => toks[Math.min(i + k, toks.length - 1)];
  const next = () => (toks[i].kind !== "end" ? toks[i++] : toks[i]);
  const isOp = (...texts) => ["op", "operator"].includes(peek().kind) && texts.includes(peek().text);
  const fail = (what) => new Unsupported(`cannot parse expression: ${what}`);
  const expect = (t) => {
    if (!isOp(t)) throw fail(`expected '${t}'`);
    next();
  };
  function expression(minPrec) {
    if (++depth > MAX_DEPTH) throw fail("nested too deeply");
    try {
      let left = unary();
      for (;;) {
        const tok = peek();
        if (tok.kind === "operator" || (tok.kind === "op" && tok.text in PRECEDENCE)) {
          const prec = PRECEDENCE[tok.text];
          if (prec === undefined || prec < minPrec) break;
          next();
          left = { k: "bin", op: tok.text, a: left, b: expression(prec + 1) };
        } else break;
      }
      return left;
    } finally {
      depth--;
    }
  }
  function unary() {
    if (isOp("-")) {
      next();
      if (++depth > MAX_DEPTH) throw fail("nested too deeply");
      try {
        return { k: "neg", a: unary() };
      } finally {
        depth--;
      }
    }
    let left = path();
    while (isOp("|")) {
      next();
      left = { k: "union", a: left, b: path() };
    }
    return left;
  }
  const startsStep = () => peek().kind === "name" || (peek().kind === "op" && [".", "..", "@", "*"].includes(peek().text));
  const startsFilter = () => {
    const t = peek();
    if (["number", "string", "ref"].includes(t.kind)) return true;
    if (t.kind === "op" && t.text === "(") return true;
    return t.kind === "name" && peek(1).kind === "op" && peek(1).text === "(";
  };
  function step(steps, preds) {
    const tok = next();
    if (tok.kind === "op" && (tok.text === "." || tok.text === "..")) return steps.push(tok.text);
    let prefix = "";
    let t = tok;
    if (t.kind === "op" && t.text === "@") {
      prefix = "@";
      t = next();
    }
    if (t.kind === "name" || (["op", "operator"].includes(t.kind) && t.text === "*")) steps.push(prefix + t.text);
    else throw fail("expected a path step");
    while (isOp("[")) {
      next();
      preds.push(expression(1));
      expect("]");
    }
  }
  function relativePath(steps, preds) {
    step(steps, preds);
    while (isOp("/", "//")) {
      if (next().text === "//") steps.push("//");
      step(steps, preds);
    }
  }
  function path() {
    const tok = peek();
    if (tok.kind === "op" && (tok.text === "/" || tok.text === "//")) {
      next();
      const steps = tok.text === "/" ? [] : ["//"];
      const preds = [];
      if (startsStep()) relativePath(steps, preds);
      else if (tok.text === "//") throw fail("expected a step after '//'");
      return { k: "path", start: null, absolute: true, steps, preds };
    }
    if (startsFilter()) {
      const start = filterExpr();
      if (isOp("/", "//")) {
        const steps = [];
        const preds = [];
        if (next().text === "//") steps.push("//");
        relativePath(steps, preds);
        return { k: "path", start, absolute: false, steps, preds };
      }
      return start;
    }
    if (startsStep()) {
      const steps = [];
      const preds = [];
      relativePath(steps, preds);
      if (steps.length === 1 && steps[0] === "." && !preds.length) return { k: "cur" };
      return { k: "path", start: null, absolute: false, steps, preds };
    }
    throw fail(`unexpected '${tok.text || "end of expression"}'`);
  }
  function filterExpr() {
    const node = primary();
    const preds = [];
    while (isOp("[")) {
      next();
      preds.push(expression(1));
      expect("]");
    }
    return preds.length ? { k: "path", start: node, absolute: false, steps: [], preds } : node;
  }
  function primary() {
    const tok = next();
    if (tok.kind === "number") return { k: "num", v: Number(tok.text) };
    if (tok.kind === "string") return { k: "str", v: tok.text.slice(1, -1) };
    if (tok.kind === "ref") {
      const name = tok.text.slice(2, -1).trim();
      if (!name) throw fail("empty ${} reference");
      return { k: "ref", name };
    }
    if (tok.kind === "op" && tok.text === "(") {
      const node = expression(1);
      expect(")");
      return node;
    }
    if (tok.kind === "name") {
      expect("(");
      const args = [];
      if (!isOp(")")) {
        args.push(expression(1));
        while (isOp(",")) {
          next();
          args.push(expression(1));
        }
      }
      expect(")");
      return { k: "call", fn: tok.text, args };
    }
    throw fail(`unexpected '${tok.text || "end of expression"}'`);
  }
  if (peek().kind === "end") throw fail("empty expression");
  const tree = expression(1);
  if (peek().kind !== "end") throw fail(`unexpected '${peek().text}'`);
  return tree;
}

/** The question names an expression refers to with ${name} (or ../name). */
export function references(tree, out = new Set()) {
  if (!tree) return out;
  if (tree.k === "ref") out.add(tree.name);
  else if (tree.k === "path" && !tree.start && tree.steps.length === 2 && tree.steps[0] === "..") out.add(tree.steps[1]);
  for (const key of ["a", "b", "start"]) if (tree[key]) references(tree[key], out);
  for (const list of [tree.args, tree.preds]) if (list) for (const x of list) references(x, out);
  return out;
}

// ---------------------------------------------------------------------------- conversions
const NUMERIC_TYPES = new Set(["integer", "decimal", "range", "int"]);
const DATE_TYPES = new Set(["date", "datetime", "today", "start", "end"]);
const DAY = 86400000;
const NUMBER_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Text to number as polars' strict=False cast after strip (NaN when it is not a number). */
export function textToNum(text) {
  const s = String(text).trim();
  if (NUMBER_TEXT.test(s)) return Number(s);
  const m = /^([+-]?)(inf|infinity)$/i.exec(s);
  if (m) return m[1] === "-" ? -Infinity : Infinity;
  return NaN;
}

/** XPath string() of a number, formatted as polars casts a Float64 to text. */
export function numToStr(f) {
  if (Number.isNaN(f)) return "NaN";
  if (f === Infinity) return "Infinity";
  if (f === -Infinity) return "-Infinity";
  const whole = f === Math.floor(f);
  if (whole && Math.abs(f) < 1e15) return String(Math.trunc(f) || 0);
  const a = Math.abs(f);
  if (a >= 1e16 || (a !== 0 && a < 1e-5)) return f.toExponential();
  return whole ? `${f}.0` : String(f);
}

function textToDate(text) {
  const s = String(text).trim().slice(0, 10);
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return NaN;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = Date.UTC(y, mo - 1, d);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return NaN;
  return t / DAY;
}

function dateToStr(days) {
  return Number.isNaN(days) ? "" : new Date(days * DAY).toISOString().slice(0, 10);
}

export function toStr(x) {
  switch (x.k) {
    case "str":
    case "strref":
    case "dateref" /* a date question's text: read as a date first, as the Python compiler */:
      return x.k === "dateref" ? dateToStr(textToDate(x.v)) : x.v;
    case "num":
      return numToStr(x.v);
    case "numref":
      return Number.isNaN(x.v) ? "" : numToStr(x.v);
    case "bool":
      return x.v ? "true" : "false";
    case "date":
      return dateToStr(x.v);
  }
  throw new Unsupported("unknown value");
}

export function toNum(x) {
  if (x.k === "num" || x.k === "numref") return x.v;
  if (x.k === "str" || x.k === "strref") return textToNum(x.v);
  if (x.k === "bool") return x.v ? 1 : 0;
  return toDate(x);
}

export function toBool(x) {
  if (x.k === "bool") return x.v;
  if (x.k === "num" || x.k === "numref") return !Number.isNaN(x.v) && x.v !== 0;
  if (x.k === "date" || x.k === "dateref") return !Number.isNaN(toDate(x));
  return toStr(x).length > 0;
}

function toDate(x) {
  if (x.k === "date") return x.v;
  if (x.k === "num" || x.k === "numref") return Number.isFinite(x.v) ? Math.floor(x.v) : NaN;
  if (x.k === "dateref") return textToDate(x.v);
  return textToDate(toStr(x));
}

const isDate = (x) => x.k === "date" || x.k === "dateref";
const num = (v) => ({ k: "num", v });
const str = (v) => ({ k: "str", v });
const bool = (v) => ({ k: "bool", v });

function equal(a, b) {
  const kinds = new Set([a.k, b.k]);
  if (kinds.has("bool")) return toBool(a) === toBool(b);
  if (kinds.has("num")) return toNum(a) === toNum(b);
  const dateOrNum = [...kinds].every((k) => ["date", "dateref", "num", "numref"].includes(k));
  if ((kinds.has("date") || kinds.has("dateref")) && dateOrNum) return toDate(a) === toDate(b);
  if (kinds.has("numref")) {
    const na = toNum(a);
    const nb = toNum(b);
    const aNum = a.k === "numref" && !Number.isNaN(na);
    const bNum = b.k === "numref" && !Number.isNaN(nb);
    return aNum || bNum ? na === nb : toStr(a) === toStr(b);
  }
  if (kinds.has("date")) return toDate(a) === toDate(b);
  return toStr(a) === toStr(b);
}

function branch(cond, a, b) {
  const kinds = new Set([a.k, b.k]);
  const pick = cond ? a : b;
  if (kinds.size === 1 && ["num", "bool", "date", "str"].includes(a.k)) return pick;
  if ([...kinds].every((k) => k === "num" || k === "numref")) return num(toNum(pick));
  if ([...kinds].every((k) => k === "date" || k === "dateref")) return { k: "date", v: toDate(pick) };
  return str(toStr(pick));
}

const items = (x) => toStr(x).trim().split(/\s+/).filter(Boolean);
const chars = (s) => Array.from(s);
const toInt = (n) => (Number.isFinite(n) ? Math.trunc(n) : NaN); // polars Float64 -> Int64, strict=False

// ------------------------------------------------------------------------------ functions
// name: [min args, max args (null: any), implementation(args, ctx, node)] ; args are evaluated values.
export const FUNCTIONS = {
  selected: [2, 2, ([a, b]) => bool(items(a).includes(toStr(b).trim()))],
  "count-selected": [1, 1, ([a]) => num((toStr(a).match(/\S+/g) || []).length)],
  "selected-at": [2, 2, ([a, b]) => {
    const list = items(a);
    const i = toInt(toNum(b));
    return str(!Number.isNaN(i) && i >= 0 && i < list.length ? list[i] : "");
  }],
  "string-length": [1, 1, ([a]) => num(chars(toStr(a)).length)],
  regex: [2, 2, ([a], ctx, node) => bool(node.pattern.test(toStr(a)))],
  if: [3, 3, ([c, a, b]) => branch(toBool(c), a, b)],
  coalesce: [2, 2, ([a, b]) => branch(toStr(a) !== "", a, b)],
  concat: [0, null, (args) => str(args.map(toStr).join(""))],
  contains: [2, 2, ([a, b]) => bool(toStr(a).includes(toStr(b)))],
  "starts-with": [2, 2, ([a, b]) => bool(toStr(a).startsWith(toStr(b)))],
  "ends-with": [2, 2, ([a, b]) => bool(toStr(a).endsWith(toStr(b)))],
  substr: [2, 3, ([s, a, b]) => {
    const cs = chars(toStr(s));
    let start = toInt(toNum(a));
    start = Number.isNaN(start) ? 0 : Math.max(0, start);
    if (b === undefined) return str(cs.slice(start).join(""));
    let end = toInt(toNum(b));
    end = Number.isNaN(end) ? 0 : end;
    return str(cs.slice(start, start + Math.max(0, end - start)).join(""));
  }],
  string: [1, 1, ([a]) => str(toStr(a))],
  number: [1, 1, ([a]) => num(toNum(a))],
  int: [1, 1, ([a]) => num(Math.sign(toNum(a)) * Math.floor(Math.abs(toNum(a))))],
  round: [1, 2, ([a, d]) => {
    const n = toNum(a);
    if (d === undefined) return num(Math.floor(n + 0.5));
    const scale = Math.pow(10, Math.floor(toNum(d)));
    return num(Math.floor(n * scale + 0.5) / scale);
  }],
  floor: [1, 1, ([a]) => num(Math.floor(toNum(a)))],
  ceiling: [1, 1, ([a]) => num(Math.ceil(toNum(a)))],
  abs: [1, 1, ([a]) => num(Math.abs(toNum(a)))],
  pow: [2, 2, ([a, b]) => num(Math.pow(toNum(a), toNum(b)))],
  min: [1, null, (args) => num(args.some((x) => Number.isNaN(toNum(x))) ? NaN : Math.min(...args.map(toNum)))],
  max: [1, null, (args) => num(args.some((x) => Number.isNaN(toNum(x))) ? NaN : Math.max(...args.map(toNum)))],
  boolean: [1, 1, ([a]) => bool(toBool(a))],
  not: [1, 1, ([a]) => bool(!toBool(a))],
  true: [0, 0, () => bool(true)],
  false: [0, 0, () => bool(false)],
  today: [0, 0, (args, ctx) => ({ k: "date", v: today(ctx) })],
  now: [0, 0, (args, ctx) => ({ k: "date", v: today(ctx) })], // compared by day, as the Python evaluator
  once: [1, 1, null], // special: see evalNode
  random: [0, 0, (args, ctx) => {
    if (!ctx.random) throw new Unsupported("random() is only drawn inside once() in a calculation");
    return num(ctx.random());
  }],
};

function today(ctx) {
  if (ctx.today !== undefined) return ctx.today;
  const d = new Date(); // the device's calendar day
  return Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) / DAY;
}

function refValue(got, name) {
  if (got === undefined) throw new Unsupported(`\${${name}} refers to no question of the form`);
  const type = String(got.type || "").split(" ")[0];
  const value = got.value === undefined || got.value === null ? "" : String(got.value);
  if (NUMERIC_TYPES.has(type)) return { k: "numref", v: textToNum(value) };
  if (DATE_TYPES.has(type)) return { k: "dateref", v: value };
  return { k: "strref", v: value };
}

function evalNode(n, ctx) {
  switch (n.k) {
    case "num":
      return num(n.v);
    case "str":
      return str(n.v);
    case "ref":
      return refValue(ctx.lookup(n.name), n.name);
    case "cur":
      if (!ctx.current) throw new Unsupported("'.' (the current question) used with no current question");
      return refValue(ctx.current, ".");
    case "neg":
      return num(-toNum(evalNode(n.a, ctx)));
    case "bin":
      return binary(n, ctx);
    case "call":
      return call(n, ctx);
    case "path":
      if (!n.start && !n.absolute && !n.preds.length && n.steps.length === 2 && n.steps[0] === ".." &&
          !n.steps[1].startsWith("@") && n.steps[1] !== "*") {
        return refValue(ctx.lookup(n.steps[1]), n.steps[1]);
      }
      if (!n.start && !n.absolute && !n.preds.length && n.steps.length === 1 && ctx.choiceName !== undefined) {
        // in a choice_filter: the choice's name, or another column of its row of the choices sheet
        if (n.steps[0] === "name") return { k: "strref", v: ctx.choiceName };
        const data = ctx.choiceData || {};
        if (Object.prototype.hasOwnProperty.call(data, n.steps[0])) return { k: "strref", v: String(data[n.steps[0]]) };
        throw new Unsupported(`the choice list has no column ${n.steps[0]}`);
      }
      throw new Unsupported("XPath location paths are not supported");
  }
  throw new Unsupported(`unsupported construct ${n.k}`);
}

function binary(n, ctx) {
  const a = evalNode(n.a, ctx);
  const b = evalNode(n.b, ctx);
  switch (n.op) {
    case "or":
      return bool(toBool(a) || toBool(b));
    case "and":
      return bool(toBool(a) && toBool(b));
    case "=":
      return bool(equal(a, b));
    case "!=":
      return bool(!equal(a, b));
  }
  if (["<", "<=", ">", ">="].includes(n.op)) {
    const [x, y] = isDate(a) || isDate(b) ? [toDate(a), toDate(b)] : [toNum(a), toNum(b)];
    if (Number.isNaN(x) || Number.isNaN(y)) return bool(false);
    return bool(n.op === "<" ? x < y : n.op === ">" ? x > y : n.op === "<=" ? x <= y : x >= y);
  }
  const x = toNum(a);
  const y = toNum(b);
  if (n.op === "+") return num(x + y);
  if (n.op === "-") return num(x - y);
  if (n.op === "*") return num(x * y);
  if (n.op === "div") return num(x / y);
  if (n.op === "mod") {
    const q = x / y;
    return num(x - y * (Math.sign(q) * Math.floor(Math.abs(q))));
  }
  throw new Unsupported(`unsupported operator ${n.op}`);
}

function call(n, ctx) {
  const spec = FUNCTIONS[n.fn];
  if (!spec) throw new Unsupported(`function ${n.fn}() is not supported`);
  if (n.fn === "once") {
    // once(x): the first non-empty value of x in this interview is kept (in memory only)
    if (!ctx.memo) return evalNode(n.args[0], ctx);
    if (ctx.memo.has(n)) return ctx.memo.get(n);
    const value = evalNode(n.args[0], ctx);
    if (toStr(value) !== "" && !(value.k === "num" && Number.isNaN(value.v))) ctx.memo.set(n, value);
    return value;
  }
  return spec[2](n.args.map((a) => evalNode(a, ctx)), ctx, n);
}

/** Check arity and literal regex patterns once, after parsing (throws Unsupported). */
function check(n) {
  if (n.k === "call") {
    const spec = FUNCTIONS[n.fn];
    if (!spec) throw new Unsupported(`function ${n.fn}() is not supported`);
    const [lo, hi] = spec;
    if (n.args.length < lo || (hi !== null && n.args.length > hi)) throw new Unsupported(`${n.fn}() has the wrong number of arguments`);
    if (n.fn === "regex") {
      if (n.args[1].k !== "str") throw new Unsupported("regex() with a pattern that is not a literal string is not supported");
      try {
        n.pattern = new RegExp(n.args[1].v, "u");
      } catch (e) {
        throw new Unsupported("regex() pattern is not a valid regular expression");
      }
    }
  }
  if (n.k === "union") throw new Unsupported("the XPath union operator '|' is not supported");
  if (n.k === "path") {
    const simple = !n.start && !n.absolute && !n.preds.length;
    const sibling = simple && n.steps.length === 2 && n.steps[0] === ".." && !/^[@*.]/.test(n.steps[1]);
    const column = simple && n.steps.length === 1 && !/^[@*.]/.test(n.steps[0]) && n.steps[0] !== "..";
    if (!sibling && !column) {
      throw new Unsupported("XPath location paths are not supported");
    }
  }
  for (const key of ["a", "b", "start"]) if (n[key]) check(n[key]);
  for (const list of [n.args, n.preds]) if (list) list.forEach(check);
}

const cache = new Map();

/** Parse and check `text` once (cached); null when it is empty or outside the supported set. */
export function compile(text) {
  if (text === undefined || text === null || String(text).trim() === "") return null;
  const key = String(text);
  if (cache.has(key)) return cache.get(key);
  let tree = null;
  try {
    tree = parse(key);
    check(tree);
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    tree = null;
  }
  cache.set(key, tree);
  return tree;
}

/** The value {k, v} of `tree` in `ctx`, or null when it cannot be evaluated here. */
export function evaluateValue(tree, ctx) {
  if (!tree) return null;
  try {
    return evalNode(tree, ctx);
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

/** XPath boolean() of `tree` in `ctx`: true / false, or null when it cannot be evaluated here. */
export function evaluate(tree, ctx) {
  const value = evaluateValue(tree, ctx);
  return value === null ? null : toBool(value);
}

/** A calculation's result as the text other expressions read (a calculate question is text). */
export function asText(value) {
  return value === null ? "" : value.k === "num" && Number.isNaN(value.v) ? "" : toStr(value);
}

/** A calculation's result as sealed in the answers: a JSON number for numbers, else text; undefined if empty. */
export function asAnswer(value) {
  if (value === null) return undefined;
  if (value.k === "num" || value.k === "numref") return Number.isFinite(value.v) ? value.v : undefined;
  const text = toStr(value);
  return text === "" ? undefined : text;
}
