// Drafts: the interview in progress as plain data (every input's value in page order, the size of
// each repeat, each calculation's once() draws and last calculated value, the start time), to be
// encrypted under the PIN key by the caller and read back after the PIN.

/** The once() calls of an expression tree, in a fixed (depth-first) order. */
export function onceNodes(tree, out = []) {
  if (!tree || typeof tree !== "object") return out;
  if (tree.k === "call" && tree.fn === "once") out.push(tree);
  for (const key of ["a", "b", "start"]) if (tree[key]) onceNodes(tree[key], out);
  for (const list of [tree.args, tree.preds]) if (list) for (const x of list) onceNodes(x, out);
  return out;
}

/** The draft of `form` (`states`: the question elements' states, `startedAt`: the interview's start). */
export function snapshot(form, states, startedAt) {
  return {
    v: 1,
    startedAt,
    counts: [...form.querySelectorAll("section.repeat")].map((sec) => sec.querySelector(":scope > .instances").children.length),
    values: [...form.querySelectorAll("input, textarea")].map((i) => (i.type === "radio" || i.type === "checkbox" ? i.checked : i.value)),
    calcs: [...form.querySelectorAll(".q[data-calculate]")].map((el) => {
      const s = states.get(el);
      if (!s) return null;
      return { memo: onceNodes(s.calculate).map((n) => (s.memo.has(n) ? s.memo.get(n) : null)), text: s.calcText ?? null };
    }),
  };
}

/** Put draft `d` back into `form`: repeats first (`addInstance`), then the inputs, then the draws
 *  into each calculation's state (`state(el)`). Returns the draft's start time (or null). */
export function restore(form, d, { state, addInstance, maxInstances }) {
  if (!d || d.v !== 1) return null;
  for (let i = 0; i < d.counts.length; i++) {
    const section = form.querySelectorAll("section.repeat")[i];
    if (!section) break;
    const list = section.querySelector(":scope > .instances");
    while (list.children.length < Math.min(d.counts[i], maxInstances)) addInstance(section);
  }
  const inputs = [...form.querySelectorAll("input, textarea")];
  if (inputs.length === d.values.length) {
    inputs.forEach((input, i) => {
      if (input.type === "radio" || input.type === "checkbox") input.checked = Boolean(d.values[i]);
      else input.value = String(d.values[i]);
    });
  }
  const calcs = [...form.querySelectorAll(".q[data-calculate]")];
  if (calcs.length === d.calcs.length) {
    calcs.forEach((el, i) => {
      const saved = d.calcs[i];
      if (!saved) return;
      const s = state(el);
      const nodes = onceNodes(s.calculate);
      saved.memo.forEach((value, j) => {
        if (value && nodes[j]) s.memo.set(nodes[j], value);
      });
      if (saved.text !== null) s.calcText = saved.text;
    });
  }
  return d.startedAt || null;
}
