import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ServerCredentials } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { startGoldmaneReplayServer } from "../../src/collect/goldmane/replay-server.js";
import { startHubbleReplayServer } from "../../src/collect/hubble/replay-server.js";
import { collectGoldmane } from "../../src/ingest/goldmane.js";
import { collectHubble } from "../../src/ingest/hubble-relay.js";
import { openFlowStore } from "../../src/store/open.js";
import { Database } from "../../src/store/sqlite.js";
import { makeMtlsFiles } from "../helpers/mtls-certs.js";
import { tempDir } from "../helpers/paths.js";

/**
 * A long `--follow` run keeps its cursor's lease alive while its server is quiet: another host
 * would otherwise take the lease over after LEASE_TTL_MS and count the stream twice.
 */
const tmp = tempDir("flowpol-lease-renewal-");
afterAll(() => tmp.cleanup());

interface LeaseRow {
  acquired_at: number;
  renewed_at: number;
}

/** The cursor leases in the store (none while the store is not created yet). */
function leases(db: string): LeaseRow[] {
  let conn: Database | undefined;
  try {
    conn = new Database(db, { readonly: true, fileMustExist: true });
    return conn.prepare("SELECT acquired_at, renewed_at FROM leases WHERE key LIKE 'cursor:%'").all() as LeaseRow[];
  } catch {
    return [];
  } finally {
    conn?.close();
  }
}

/** Polls the store while the run lasts: the latest renewal seen past the acquisition. */
async function watchRenewals(db: string, run: Promise<unknown>): Promise<number> {
  let renewedBy = 0;
  let done = false;
  const finished = run.finally(() => {
    done = true;
  });
  while (!done) {
    await new Promise((r) => setTimeout(r, 100));
    for (const row of leases(db)) {
      renewedBy = Math.max(renewedBy, row.renewed_at - row.acquired_at);
    }
  }
  await finished;
  return renewedBy;
}

describe("collectors renew their cursor's lease while nothing is stored", () => {
  it("collect goldmane --follow against a quiet Goldmane", async () => {
    const certs = makeMtlsFiles(tmp.dir);
    const server = await startGoldmaneReplayServer({
      flows: [],
      credentials: ServerCredentials.createSsl(
        readFileSync(certs.caCert),
        [{ cert_chain: readFileSync(certs.serverCert), private_key: readFileSync(certs.serverKey) }],
        true,
      ),
      listen: "127.0.0.1:0",
    });
    const db = join(tmp.dir, "goldmane.db");
    try {
      const run = collectGoldmane({
        store: () => openFlowStore(db),
        server: `127.0.0.1:${server.port}`,
        tls: {
          caCertFiles: [certs.caCert],
          clientCertFile: certs.clientCert,
          clientKeyFile: certs.clientKey,
          serverName: "goldmane",
        },
        follow: true,
        durationMs: 2500,
        leaseRenewMs: 200,
      });
      expect(await watchRenewals(db, run)).toBeGreaterThanOrEqual(400);
    } finally {
      await server.close();
    }
    expect(leases(db)).toEqual([]);
  });

  it("collect hubble --follow against a quiet Relay", async () => {
    const server = await startHubbleReplayServer({ events: [], listen: "127.0.0.1:0", unavailableNodes: [] });
    const db = join(tmp.dir, "hubble.db");
    try {
      const run = collectHubble({
        store: () => openFlowStore(db),
        server: `127.0.0.1:${server.port}`,
        tls: { tls: false, caCertFiles: [], allowInsecure: false },
        follow: true,
        namespaces: [],
        durationMs: 2500,
        requestTimeoutMs: 5000,
        reconnectTimeoutMs: 10_000,
        workers: 0,
        leaseRenewMs: 200,
      });
      expect(await watchRenewals(db, run)).toBeGreaterThanOrEqual(400);
    } finally {
      await server.close();
    }
    expect(leases(db)).toEqual([]);
  });
});
