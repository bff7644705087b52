import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create } from "@bufbuild/protobuf";
import { Client, credentials } from "@grpc/grpc-js";
import { collectHubble } from "../collect/hubble/collector.js";
import { decodeResponse } from "../collect/hubble/grpc-flow.js";
import { getFlowsMethod } from "../collect/hubble/observer-service.js";
import { GetFlowsRequestSchema } from "../gen/observer/observer_pb.js";
import { openStore } from "../store/db.js";
import type { BenchRow } from "./types.js";

/**
 * Flows/s collected from the replay server over loopback (decode, map, aggregate, write to
 * SQLite) against, in the same run, a bare client that only decodes the same stream.
 */

const FLOWS = Number(process.env.FLOWPOL_BENCH_GRPC_FLOWS ?? 300_000);
const ROUNDS = Number(process.env.FLOWPOL_BENCH_ROUNDS ?? 3);

async function startServer(): Promise<{ address: string; stop: () => void }> {
  const script = fileURLToPath(new URL("./replay-bench-server.js", import.meta.url));
  const child = spawn(process.execPath, [script, String(FLOWS)], { stdio: ["ignore", "pipe", "inherit"] });
  const address = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      const m = out.match(/listening on (\S+)/);
      if (m) resolve(m[1] as string);
    });
    child.on("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return { address, stop: () => child.kill("SIGTERM") };
}

async function bareDecode(address: string): Promise<number> {
  const client = new Client(address, credentials.createInsecure(), {
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
  });
  const started = performance.now();
  let flows = 0;
  await new Promise<void>((resolve, reject) => {
    const call = client.makeServerStreamRequest(
      getFlowsMethod.path,
      getFlowsMethod.requestSerialize,
      getFlowsMethod.responseDeserialize,
      create(GetFlowsRequestSchema, {}),
    );
    call.on("data", (buf: Buffer) => {
      if (decodeResponse(buf).kind === "flow") flows++;
    });
    call.on("end", resolve);
    call.on("error", reject);
  });
  client.close();
  if (flows !== FLOWS) throw new Error(`bare client decoded ${flows} flows, expected ${FLOWS}`);
  return flows / ((performance.now() - started) / 1000);
}

async function collect(address: string): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "flowpol-bench-"));
  const db = openStore(join(dir, "bench.db"));
  try {
    const started = performance.now();
    const summary = await collectHubble({
      db,
      server: address,
      tls: { tls: false, caCertFiles: [], allowInsecure: false },
      follow: false,
      namespaces: [],
      requestTimeoutMs: 10_000,
      reconnectTimeoutMs: 10_000,
    });
    if (summary.flows !== FLOWS) throw new Error(`collected ${summary.flows} flows, expected ${FLOWS}`);
    return summary.flows / ((performance.now() - started) / 1000);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function bench(): Promise<BenchRow[]> {
  const server = await startServer();
  try {
    let bare = 0;
    let collected = 0;
    for (let i = 0; i < ROUNDS; i++) {
      bare = Math.max(bare, await bareDecode(server.address));
      collected = Math.max(collected, await collect(server.address));
    }
    return [
      { name: `bare client: decode only (${FLOWS} flows, best of ${ROUNDS})`, value: bare, unit: "flows/s" },
      {
        name: `collect into the store (${FLOWS} flows, best of ${ROUNDS})`,
        value: collected,
        unit: "flows/s",
        baseline: bare,
        ratio: collected / bare,
        target: ">= 100,000 flows/s and ratio >= 0.7",
      },
    ];
  } finally {
    server.stop();
  }
}
