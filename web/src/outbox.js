// The outbox: sealed submissions waiting to be sent, in IndexedDB. Only {form_id, instance_id,
// ciphertext} is ever written here; answers are sealed before they are stored (drafts live in the
// vault, encrypted under the PIN key).
import { run, OUTBOX } from "./db.js";

export function putSealed(record) {
  const clean = { form_id: record.form_id, instance_id: record.instance_id, ciphertext: record.ciphertext };
  return run(OUTBOX, "readwrite", (s) => s.put(clean));
}
export const removeSealed = (instanceId) => run(OUTBOX, "readwrite", (s) => s.delete(instanceId));
export const allSealed = () => run(OUTBOX, "readonly", (s) => s.getAll());
