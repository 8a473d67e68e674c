// The page's one IndexedDB database: "outbox" (sealed submissions, {form_id, instance_id,
// ciphertext}) and "vault" (records encrypted under the PIN key: the enrolment lock, drafts and the
// questionnaire). Nothing readable is ever written to either.
export const DB_NAME = "quietpoll";
const VERSION = 2;
export const OUTBOX = "outbox";
export const VAULT = "vault";

export function openDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains(OUTBOX)) db.createObjectStore(OUTBOX, { keyPath: "instance_id" });
      if (!db.objectStoreNames.contains(VAULT)) db.createObjectStore(VAULT);
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

export async function run(store, mode, work) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode, { durability: "strict" });
      const req = work(tx.objectStore(store));
      tx.oncomplete = () => resolve(req ? req.result : undefined);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
    });
  } finally {
    db.close();
  }
}

/** Delete the whole database (the outbox with it). */
export function dropDb() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(DB_NAME);
    req.onsuccess = () => resolve();
    req.onblocked = () => resolve(); // another tab holds it open: it goes when that tab closes
    req.onerror = () => reject(req.error);
  });
}
