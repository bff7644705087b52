import { openFlowStore } from "../store/open.js";
import { resolveCluster } from "../store/resolve-cluster.js";
import type { FlowStore } from "../store/store.js";

/** An open store and the one cluster a read command works on. */
export interface StoreRead {
  store: FlowStore;
  cluster: string;
}

/** Opens the store `--db` names for reading, resolves `--cluster`, runs `read`, closes the store. */
export async function readingStore<T>(
  db: string,
  cluster: string | undefined,
  read: (r: StoreRead) => Promise<T>,
): Promise<T> {
  const store = await openFlowStore(db, { mustExist: true, readonly: true });
  try {
    return await read({ store, cluster: await resolveCluster(store, cluster) });
  } finally {
    await store.close();
  }
}
