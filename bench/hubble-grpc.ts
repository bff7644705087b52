import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { openChannel, type Transport } from "../src/collect/grpc/channel.js";
import { decodeResponse } from "../src/collect/hubble/grpc-flow.js";
import { HUBBLE_TRANSPORT } from "../src/collect/hubble/observer-client.js";
import { getFlowsMethod } from "../src/collect/hubble/observer-service.js";
import { GetFlowsRequestSchema } from "../src/gen/observer/observer_pb.js";
import { collectHubble } from "../src/ingest/hubble-relay.js";
import { writeSimulation } from "../src/samples/write-simulation.js";
import { SqliteStore } from "../src/store/sqlite-store.js";
import { storeStats } from "../src/store/stats.js";
import { writeChurn } from "./churn-traffic.js";
import type { BenchContext, BenchRow } from "./types.js";

/**
 * Hubble gRPC collection: flows/s collected from the replay server over loopback (decode, map,
 * aggregate, write to SQLite) against, in the same run, a bare client on the same transport that
 * decodes every message on its main thread. The flows come from the simulator and from generated
 * high-churn traffic (churn-traffic.ts), one row each. Targets: >= 100,000 flows/s and >= 0.7 of
 * the bare client's rate. The collector's stored count must equal the served count.
 */

const ROUNDS = 3;

async function startServer(file: string): Promise<{ address: string; events: number; stop: () => void }> {
  const script = fileURLToPath(new URL("./replay-bench-server.js", import.meta.url));
  const child = spawn(process.execPath, [script, file], { stdio: ["ignore", "pipe", "inherit"] });
  const [events, address] = await new Promise<[number, string]>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      const m = out.match(/(\d+) flows; listening on (\S+)/);
      if (m) resolve([Number(m[1]), m[2] as string]);
    });
    child.on("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return { address, events, stop: () => child.kill("SIGTERM") };
}

/** Flows/s and CPU µs per flow (this process, all threads) of one measured run. */
interface Rate {
  flowsPerSecond: number;
  cpuMicrosPerFlow: number;
}

async function measure(run: () => Promise<number>): Promise<Rate> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const flows = await run();
  const used = process.cpuUsage(cpu);
  return {
    flowsPerSecond: flows / ((performance.now() - started) / 1000),
    cpuMicrosPerFlow: (used.user + used.system) / flows,
  };
}

/** A bare client on `transport`, decoding every message on the main thread. */
async function bareDecode(address: string, expected: number, transport: Transport = HUBBLE_TRANSPORT): Promise<number> {
  const channel = openChannel(address, undefined, transport);
  let flows = 0;
  const call = channel.serverStream(
    getFlowsMethod.path,
    toBinary(GetFlowsRequestSchema, create(GetFlowsRequestSchema)),
    (buf) => {
      if (decodeResponse(buf).kind === "flow") flows++;
    },
  );
  const failure = await call.done;
  channel.close();
  if (failure) throw failure;
  if (flows !== expected) throw new Error(`bare client decoded ${flows} flows, expected ${expected}`);
  return flows;
}

async function collect(address: string, expected: number, dbPath: string): Promise<number> {
  const store = SqliteStore.open(dbPath);
  try {
    const summary = await collectHubble({
      store,
      server: address,
      tls: { tls: false, caCertFiles: [], allowInsecure: false },
      follow: false,
      namespaces: [],
      requestTimeoutMs: 10_000,
      reconnectTimeoutMs: 10_000,
    });
    const stored = storeStats(store.db).flows;
    if (summary.flows !== expected || stored !== expected) {
      throw new Error(`collected ${summary.flows} flows and stored ${stored}, expected ${expected}`);
    }
    return summary.flows;
  } finally {
    await store.close();
  }
}

export async function hubbleGrpcBenchmark(ctx: BenchContext): Promise<BenchRow[]> {
  const flows = Math.round(300_000 * ctx.scale);
  const simulated = join(ctx.dir, "hubble-grpc.jsonl");
  ctx.log(`simulating ${flows} Hubble flows...`);
  await writeSimulation({ scenario: "online-boutique", flows, format: "hubble", seed: 7 }, simulated, process.stdout);
  const churn = join(ctx.dir, "hubble-grpc-churn.jsonl");
  ctx.log(`generating ${flows} high-churn Hubble flows...`);
  await writeChurn("hubble", flows, churn, 7);
  const rows: BenchRow[] = [];
  for (const [shape, file] of [
    ["simulated", simulated],
    ["high-churn", churn],
  ] as const) {
    rows.push(...(await collectFromReplay(ctx, shape, file)));
  }
  return rows;
}

async function collectFromReplay(ctx: BenchContext, shape: string, file: string): Promise<BenchRow[]> {
  const server = await startServer(file);
  try {
    let bare = 0;
    let collected = 0;
    let grpcJsCpu = Number.POSITIVE_INFINITY;
    let bareCpu = Number.POSITIVE_INFINITY;
    for (let i = 0; i < ROUNDS; i++) {
      const g = await measure(() => bareDecode(server.address, server.events, "grpc-js"));
      const b = await measure(() => bareDecode(server.address, server.events));
      const c = await measure(() => collect(server.address, server.events, join(ctx.dir, `grpc-${shape}-${i}.db`)));
      ctx.log(
        `${shape}, round ${i + 1}: bare client ${Math.round(b.flowsPerSecond)} flows/s (${b.cpuMicrosPerFlow.toFixed(1)} µs CPU/flow), ` +
          `collect ${Math.round(c.flowsPerSecond)} flows/s (${c.cpuMicrosPerFlow.toFixed(1)} µs CPU/flow, all threads)`,
      );
      ctx.log(
        `${shape}, round ${i + 1}: bare client on grpc-js ${Math.round(g.flowsPerSecond)} flows/s (${g.cpuMicrosPerFlow.toFixed(1)} µs CPU/flow)`,
      );
      grpcJsCpu = Math.min(grpcJsCpu, g.cpuMicrosPerFlow);
      bareCpu = Math.min(bareCpu, b.cpuMicrosPerFlow);
      bare = Math.max(bare, b.flowsPerSecond);
      collected = Math.max(collected, c.flowsPerSecond);
    }
    const ratio = collected / bare;
    return [
      {
        name: `hubble gRPC collect (${shape}), ${server.events} flows (best of ${ROUNDS})`,
        value: Math.round(collected),
        unit: "flows/s",
        baseline: Math.round(bare),
        ratio: Number(ratio.toFixed(2)),
        target: ">= 100000 flows/s, >= 0.7x bare decode",
        pass: collected >= 100_000 && ratio >= 0.7,
      },
      {
        // Why collect hubble keeps its own transport (grpc/channel.ts): a bare decoding client on it
        // must cost clearly less CPU per flow than on grpc-js (CPU, not rate: the server is shared).
        name: `hubble gRPC transport (${shape}): client CPU per flow, grpc-js over ${HUBBLE_TRANSPORT} (best of ${ROUNDS})`,
        value: Number(bareCpu.toFixed(1)),
        unit: "µs/flow",
        baseline: Number(grpcJsCpu.toFixed(1)),
        ratio: Number((grpcJsCpu / bareCpu).toFixed(2)),
        target: ">= 1.2x (grpc-js costs more), else collect hubble moves to grpc-js",
        pass: grpcJsCpu >= 1.2 * bareCpu,
      },
    ];
  } finally {
    server.stop();
  }
}
