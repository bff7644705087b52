import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { SHARED_CALICO, tempDir } from "../helpers/paths.js";
import { describeWithShared } from "../helpers/shared.js";
import { readEdges, readTable } from "../helpers/store.js";

const EE_DOCS = join(SHARED_CALICO, "docs-ee-flowlog-examples.jsonl");
const GOLDMANE_REAL = join(SHARED_CALICO, "goldmane-flow-protojson-fredrickb-readme.jsonl");

let dir: string;
let cleanup: () => void;
let db: string;

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  db = join(dir, "flowpol.db");
});
afterEach(() => cleanup());

function ingest(...args: string[]) {
  return runCli(["ingest", "--db", db, ...args]);
}

function stats(): Record<string, unknown> {
  const r = runCli(["stats", "-o", "json", "--db", db]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

function policies(): string[] {
  return (readTable(db, "SELECT policy FROM edge_policies ORDER BY policy") as Array<{ policy: string }>).map(
    (r) => r.policy,
  );
}

/** A flow-log line between two pods at level 2, reported by `reporter`. */
function line(reporter: string, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    start_time: 1764970800,
    end_time: 1764971100,
    source_ip: null,
    source_name: "-",
    source_name_aggr: "frontend-755cdc7957-*",
    source_namespace: "shop",
    source_type: "wep",
    source_labels: { labels: ["app=frontend", "pod-template-hash=755cdc7957"] },
    dest_ip: null,
    dest_name: "-",
    dest_name_aggr: "cart-5d8f9c7b6d-*",
    dest_namespace: "shop",
    dest_port: 7070,
    dest_type: "wep",
    dest_labels: { labels: ["app=cart", "pod-template-hash=5d8f9c7b6d"] },
    proto: "tcp",
    action: "allow",
    reporter,
    policies: { enforced_policies: [`0|__PROFILE__|__PROFILE__.kns.shop|allow|0`] },
    num_flows: 5,
    ...overrides,
  });
}

describeWithShared([EE_DOCS, GOLDMANE_REAL], "flowpol ingest of the real Calico records", () => {
  it("names the documentation record without a time, and takes it with --default-time", () => {
    const r = ingest(EE_DOCS);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "docs-ee-flowlog-examples.jsonl:2: the record has no valid `start_time`, `end_time` or `@timestamp`",
    );
    expect(stats()).toMatchObject({ flows: 1, badLines: 2 });
    const bad = ingest("--default-time", "yesterday", EE_DOCS);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--default-time "yesterday" is not an ISO 8601 time');
  });

  it("ingests the Calico Enterprise documentation records cleanly and finds what they contain", () => {
    const r = ingest("--default-time", "2025-01-01T00:00:00Z", EE_DOCS);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("ingested (calico): 3 flows, 0 replies");
    expect(stats()).toMatchObject({ flows: 3, replies: 0, badLines: 0, sources: ["calico"] });
    expect(readEdges(db)).toEqual([
      {
        src: "client-pods-namespace/DaemonSet/client-pods",
        dst: "maintenance-server-namespace/DaemonSet/maintenance-server",
        protocol: "TCP",
        port: 22,
        verdict: "forwarded",
        count: 1,
      },
      {
        src: "external:34.0.113.100",
        dst: "external:66.11.155.1",
        protocol: "TCP",
        port: 30080,
        verdict: "forwarded",
        count: 1,
      },
      {
        src: "policy-demo/Deployment/access",
        dst: "policy-demo/Deployment/nginx",
        protocol: "TCP",
        port: 80,
        verdict: "forwarded",
        count: 1,
      },
    ]);
    expect(policies()).toEqual([
      "enforced|__PROFILE__|Profile:kns.maintenance-server|allow|0",
      "enforced|default|CalicoNetworkPolicy:policy-demo/access-nginx|allow|2",
      "enforced|tier1|CalicoNetworkPolicy:ns1/policy1|pass|3",
      "pending|__PROFILE__|Profile:kns.maintenance-server|allow|0",
      "pending|tier1|CalicoNetworkPolicy:ns1/policy1|pass|3",
      "pending|tier2|StagedNetworkPolicy:ns2/tier1.policy1|deny|1",
      "transit|default|GlobalNetworkPolicy:allow-external-http|allow|0",
      "transit|default|GlobalNetworkPolicy:allow-ssh-maintenance|allow|0",
    ]);
    expect(readTable(db, "SELECT namespace, name, labels FROM pods ORDER BY name")).toContainEqual({
      namespace: "policy-demo",
      name: "access-6b687c8dcb-zn5s2",
      labels: '{"app":"access","pod-template-hash":"6b687c8dcb"}',
    });
  });

  it("ingests the real Goldmane flow (protobuf-JSON) cleanly, dropping the label value with a space", () => {
    const r = ingest(GOLDMANE_REAL);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("ingested (goldmane): 1 flows");
    expect(readEdges(db)).toEqual([
      {
        src: "longhorn-system/DaemonSet/longhorn-manager",
        dst: "longhorn-system/Pod/instance-manager-318f1eac2bc7c775b7a6d2e68e9e2800",
        protocol: "TCP",
        port: 8503,
        verdict: "forwarded",
        count: 1,
      },
    ]);
    expect(policies()).toEqual([
      "enforced|default|CalicoNetworkPolicy:longhorn-system/allow-same-namespace|allow|0",
      "pending|default|CalicoNetworkPolicy:longhorn-system/allow-same-namespace|allow|0",
    ]);
    expect(stats()).toMatchObject({ since: "2025-12-05T21:40:45.000Z", badLines: 0 });
  });
});

describe("flowpol ingest of Calico flow-log files", () => {
  it("counts a connection reported by both ends once, and keeps the larger count when they differ", () => {
    const file = join(dir, "flows.log");
    writeFileSync(file, `${line("src")}\n${line("dst")}\n${line("src", { num_flows: 2, start_time: 1764971100 })}\n`);
    const r = ingest(file);
    expect(r.code, r.stderr).toBe(0);
    expect(readEdges(db)).toEqual([
      expect.objectContaining({ src: "shop/Deployment/frontend", dst: "shop/Deployment/cart", count: 7 }),
    ]);
    expect(readTable(db, "SELECT src_reported, dst_reported FROM edges")).toEqual([
      { src_reported: 7, dst_reported: 5 },
    ]);
  });

  it("counts both ends once across files too (each node writes its own flows.log)", () => {
    const nodeA = join(dir, "node-a.log");
    const nodeB = join(dir, "node-b.log");
    writeFileSync(nodeA, `${line("src")}\n`);
    writeFileSync(nodeB, `${line("dst", { num_flows: 6 })}\n`);
    expect(ingest(nodeA).code).toBe(0);
    expect(readEdges(db)[0]?.count).toBe(5);
    expect(ingest(nodeB).code).toBe(0);
    expect(readEdges(db)[0]?.count).toBe(6);
  });

  it("keeps a denial at the destination apart from the source's allow", () => {
    const file = join(dir, "flows.log");
    writeFileSync(file, `${line("src")}\n${line("dst", { action: "deny" })}\n`);
    expect(ingest(file).code).toBe(0);
    expect(readEdges(db).map((e) => [e.verdict, e.count])).toEqual([
      ["dropped", 5],
      ["forwarded", 5],
    ]);
  });

  it("reads gzip-compressed rotated files and --format calico", () => {
    const rotated = join(dir, "flows.log.1");
    writeFileSync(rotated, gzipSync(`${line("src")}\n${line("dst")}\n`));
    const r = ingest("--format", "calico", rotated);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("ingested (calico): 10 flows");
  });

  it("reports bad lines as file:line with the reason and ingests the rest", () => {
    const file = join(dir, "flows.log");
    const truncated = line("src").slice(0, 80);
    writeFileSync(
      file,
      [line("src"), line("src", { source_namespace: "Bad_NS" }), "not json", truncated, line("dst")].join("\n"),
    );
    const r = ingest(file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:2: source_namespace "Bad_NS" is not a valid Kubernetes name`);
    expect(r.stderr).toContain(`${file}:3: the line is not valid JSON`);
    expect(r.stderr).toContain(`${file}:4: the line is truncated (incomplete JSON object)`);
    expect(stats()).toMatchObject({ flows: 10, badLines: 3 });
  });

  it("leaves an unfinished last line (a log still being written) for the next ingest", () => {
    const file = join(dir, "flows.log");
    const whole = `${line("src")}\n${line("dst")}\n`;
    const cut = whole.length - 30;
    writeFileSync(file, whole.slice(0, cut));
    const first = ingest(file);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain(`${file}:2: the last line has no newline and is an unfinished JSON object`);
    appendFileSync(file, whole.slice(cut));
    const second = ingest(file);
    expect(second.code, second.stderr).toBe(0);
    expect(stats()).toMatchObject({ badLines: 0 });
  });

  it("says how to read a zstd-compressed rotated flow log", () => {
    const file = join(dir, "flows.log.1.zst");
    writeFileSync(file, Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x00, 0x00, 0x00]));
    const r = ingest(file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("is zstd-compressed");
    expect(r.stderr).toContain("zstd -dc");
  });

  it("tells a file that is not flows from one that is", () => {
    const file = join(dir, "dns.log");
    writeFileSync(file, `${JSON.stringify({ qname: "example.com", client_name: "x" })}\n`);
    const r = ingest(file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("is not a flow file");
  });
});

describeWithShared([GOLDMANE_REAL], "flowpol ingest of Goldmane and Whisker JSON", () => {
  const protojson = JSON.parse(readFileSync(GOLDMANE_REAL, "utf8"));

  it.each([
    ["a grpcurl FlowResult ({id, flow})", JSON.stringify({ id: "42", flow: protojson })],
    [
      "the Goldmane emitter's Go JSON (snake_case, enums as numbers)",
      JSON.stringify({
        Key: {
          source_name: "longhorn-manager-*",
          source_namespace: "longhorn-system",
          source_type: 1,
          dest_name: "instance-manager-318f1eac2bc7c775b7a6d2e68e9e2800",
          dest_namespace: "longhorn-system",
          dest_type: 1,
          dest_port: 8503,
          proto: "tcp",
          reporter: 1,
          action: 1,
          policies: {
            enforced_policies: [
              { kind: 1, namespace: "longhorn-system", name: "allow-same-namespace", tier: "default", action: 1 },
            ],
          },
        },
        start_time: 1764970845,
        source_labels: ["controller-revision-hash=5bb8c89b95", "pod-template-generation=2"],
        num_connections_live: 1,
      }),
    ],
  ])("reads %s like the protobuf-JSON flow", (_what, text) => {
    const file = join(dir, "goldmane.jsonl");
    writeFileSync(file, `${text}\n`);
    const r = ingest(file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("(goldmane)");
    expect(readEdges(db)).toEqual([
      expect.objectContaining({
        src: "longhorn-system/DaemonSet/longhorn-manager",
        dst: "longhorn-system/Pod/instance-manager-318f1eac2bc7c775b7a6d2e68e9e2800",
        port: 8503,
      }),
    ]);
    expect(policies()).toContain("enforced|default|CalicoNetworkPolicy:longhorn-system/allow-same-namespace|allow|0");
  });

  const whiskerItem = {
    start_time: "2025-06-01T10:00:00Z",
    end_time: "2025-06-01T10:00:15Z",
    action: "Allow",
    source_name: "client-7d4f9c8b6d-*",
    source_namespace: "app",
    source_labels: "app=client | pod-template-hash=7d4f9c8b6d",
    dest_name: "PUBLIC NETWORK",
    dest_namespace: "-",
    dest_labels: "",
    protocol: "tcp",
    dest_port: 443,
    reporter: "Src",
    policies: {
      enforced: [
        {
          kind: "CalicoNetworkPolicy",
          name: "allow-x",
          namespace: "app",
          tier: "default",
          action: "Allow",
          policy_index: 0,
          rule_index: 0,
          trigger: null,
        },
      ],
      pending: [],
    },
    packets_in: 1,
    packets_out: 1,
    bytes_in: 60,
    bytes_out: 60,
  };
  const expectedWhiskerEdge = expect.objectContaining({
    src: "app/Deployment/client",
    dst: "external:Network/pub",
    protocol: "TCP",
    port: 443,
    verdict: "forwarded",
  });

  it.each([
    ["a list answer on one line", JSON.stringify({ total: { totalPages: 1 }, items: [whiskerItem] })],
    [
      "a pretty-printed list answer (curl | jq .)",
      JSON.stringify({ total: { totalPages: 1 }, items: [whiskerItem] }, null, 2),
    ],
    ["one FlowResponse per line", JSON.stringify(whiskerItem)],
    ["a saved watch=true event stream", `: connected\n\ndata: ${JSON.stringify(whiskerItem)}\n\n`],
  ])("reads Whisker's /whisker-backend/flows as %s", (_what, text) => {
    const file = join(dir, "whisker.json");
    writeFileSync(file, `${text}\n`);
    const r = ingest(file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("(whisker)");
    expect(readEdges(db)).toEqual([expectedWhiskerEdge]);
    expect(policies()).toEqual(["enforced|default|CalicoNetworkPolicy:app/allow-x|allow|0"]);
  });
});
