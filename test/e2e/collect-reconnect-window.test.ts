import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { Server, ServerCredentials, type ServerWritableStream, status } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { compareTime } from "../../src/collect/hubble/grpc-chunk.js";
import { observerServiceDefinition } from "../../src/collect/hubble/observer-service.js";
import { loadReplayEvents } from "../../src/collect/hubble/replay-events.js";
import type { GetFlowsRequest } from "../../src/gen/observer/observer_pb.js";
import { ServerStatusResponseSchema } from "../../src/gen/observer/observer_pb.js";
import { runCli } from "../helpers/cli.js";
import { REPO_ROOT, tempDir } from "../helpers/paths.js";
import { spawnCli } from "../helpers/processes.js";

const tmp = tempDir("flowpol-window-");
afterAll(() => tmp.cleanup());

describe("a reconnect of collect hubble", () => {
  it("re-reads Relay's ordering window: a late event is stored, the re-sent ones dropped by uuid", async () => {
    const { events } = await loadReplayEvents([join(REPO_ROOT, "samples/online-boutique/hubble.jsonl.gz")]);
    const flows = events.filter((e) => e.kind === "flow");
    // Three flows in time order within 5 s: the middle one arrives late, after a reconnect.
    const start = flows.findIndex(
      (e, i) =>
        i + 2 < flows.length &&
        compareTime(e.time, flows[i + 1]!.time) < 0 &&
        compareTime(flows[i + 1]!.time, flows[i + 2]!.time) < 0 &&
        flows[i + 2]!.time.seconds - e.time.seconds < 5,
    );
    expect(start).toBeGreaterThanOrEqual(0);
    const [a, late, b] = flows.slice(start, start + 3) as [(typeof flows)[0], (typeof flows)[0], (typeof flows)[0]];
    expect(compareTime(a.time, late.time)).toBeLessThan(0);
    expect(compareTime(late.time, b.time)).toBeLessThan(0);
    const requests: GetFlowsRequest[] = [];
    const server = new Server();
    server.addService(observerServiceDefinition, {
      ServerStatus: (_call: unknown, cb: (e: null, r: unknown) => void) =>
        cb(null, create(ServerStatusResponseSchema, { numFlows: 3n, maxFlows: 3n })),
      GetNodes: (_call: unknown, cb: (e: { code: number }) => void) => cb({ code: status.UNIMPLEMENTED }),
      GetFlows: (call: ServerWritableStream<GetFlowsRequest, Buffer>) => {
        requests.push(call.request);
        if (requests.length === 1) {
          call.write(a.bytes);
          call.write(b.bytes);
          setTimeout(() => call.emit("error", { code: status.UNAVAILABLE, details: "relay restarted" }), 50);
          return;
        }
        for (const e of [a, late, b]) call.write(e.bytes);
        call.end();
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    try {
      const db = join(tmp.dir, "window.db");
      const p = spawnCli(["collect", "hubble", "--server", `127.0.0.1:${port}`, "--db", db, "-o", "json"]);
      expect(await p.exited, p.stderr()).toBe(0);
      expect(requests.length).toBe(2);
      const since = requests[1]?.since;
      expect(since, "the reconnect asks for a since").toBeDefined();
      // It asks from before the newest event received, far enough back to include the late one.
      expect(Number(since?.seconds)).toBeLessThanOrEqual(a.time.seconds);
      const summary = JSON.parse(p.stdout());
      expect(summary.flows).toBe(3);
      expect(summary.duplicates).toBe(2);
      const stats = JSON.parse(runCli(["stats", "-o", "json", "--db", db]).stdout);
      expect(stats.flows).toBe(3);
    } finally {
      server.forceShutdown();
    }
  });
});
