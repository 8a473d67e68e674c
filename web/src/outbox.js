// The outbox: sealed submissions waiting to be sent, in IndexedDB. Only {form_id, instance_id,
// ciphertext} is ever written here; answers are sealed before they are stored, and there are no drafts.
const DB_NAME = "quietpoll";
const STORE = "outbox";

function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: "instance_id" });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run(mode, work) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode, { durability: "strict" });
      const req = work(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req ? req.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
    });
  } finally {
    db.close();
  }
}

export function putSealed(record) {
  const clean = { form_id: record.form_id, instance_id: record.instance_id, ciphertext: record.ciphertext };
  return run("readwrite", (s) => s.put(clean));
}
export const removeSealed = (instanceId) => run("readwrite", (s) => s.delete(instanceId));
export const allSealed = () => run("readonly", (s) => s.getAll());
