import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { REPO_ROOT, SHARED_HUBBLE, tempDir } from "../helpers/paths.js";
import { describeWithShared } from "../helpers/shared.js";
import { readEdges, readTable } from "../helpers/store.js";

const SAMPLE = join(REPO_ROOT, "samples/online-boutique/hubble.jsonl.gz");
const TEN_FLOWS = join(SHARED_HUBBLE, "hubble-otel__basic-sample-10-flows.jsonl");

let dir: string;
let cleanup: () => void;
let db: string;

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  db = join(dir, "flowpol.db");
});
afterEach(() => cleanup());

function stats(): Record<string, unknown> {
  const r = runCli(["stats", "-o", "json", "--db", db]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describeWithShared([TEN_FLOWS], "flowpol ingest of the real Hubble captures", () => {
  const files = readdirSync(SHARED_HUBBLE).filter((f) => f.endsWith(".jsonl"));

  it.each(files)("ingests %s with no bad lines", (file) => {
    const r = runCli(["ingest", "--db", db, join(SHARED_HUBBLE, file)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ingested \(hubble\)/);
    const lines = readFileSync(join(SHARED_HUBBLE, file), "utf8").split("\n").filter(Boolean).length;
    const s = stats();
    expect(s.badLines).toBe(0);
    expect(s.flows).toBe(lines);
  });

  it("reports every key scripts depend on in stats --json", () => {
    expect(runCli(["ingest", "--db", db, TEN_FLOWS]).code).toBe(0);
    const s = stats();
    for (const key of [
      "flows",
      "edges",
      "workloads",
      "namespaces",
      "lostEvents",
      "skippedLines",
      "badLines",
      "since",
      "until",
    ]) {
      expect(s, key).toHaveProperty(key);
    }
    expect(s).toMatchObject({ flows: 10, replies: 5, namespaces: 3, lostEvents: 0, skippedLines: 0, badLines: 0 });
  });

  it("finds what the captures contain", () => {
    const r = runCli(["ingest", "--db", db, ...files.map((f) => join(SHARED_HUBBLE, f))]);
    expect(r.code, r.stderr).toBe(0);
    const s = stats();
    expect(s).toMatchObject({ flows: 1170, replies: 465, badLines: 0, skippedLines: 0, lostEvents: 0 });
    expect(s.since).toBe("2021-06-16T16:52:13.136Z");
    expect(s.until).toBe("2023-08-21T12:12:18.510Z");
    const edges = readEdges(db);
    expect(edges).toContainEqual({
      src: "bookinfo/Deployment/productpage-v1",
      dst: "bookinfo/Deployment/details-v1",
      protocol: "TCP",
      port: 9080,
      verdict: "forwarded",
      count: 46,
    });
    expect(edges).toContainEqual({
      src: "bookinfo/Deployment/productpage-v1",
      dst: "kube-system/Deployment/coredns",
      protocol: "UDP",
      port: 53,
      verdict: "forwarded",
      count: 96,
    });
    // The exporter example: the Star Wars demo's denied landing request, and an ICMPv6 drop.
    expect(edges).toContainEqual({
      src: "default/Pod/xwing",
      dst: "default/Deployment/deathstar",
      protocol: "TCP",
      port: 80,
      verdict: "dropped",
      count: 1,
    });
    expect(edges.filter((e) => e.protocol === "ICMPv6" && e.verdict === "dropped")).toHaveLength(1);
  });
});

describeWithShared([TEN_FLOWS], "flowpol ingest: idempotence and resumption", () => {
  it("adds nothing when the same file is ingested again", () => {
    expect(runCli(["ingest", "--db", db, SAMPLE]).code).toBe(0);
    const before = readEdges(db);
    const again = runCli(["ingest", "--db", db, SAMPLE]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already ingested, nothing added/);
    expect(readEdges(db)).toEqual(before);
    expect(stats().flows).toBe(5999); // 6,000 records, one of them a lost_events record
  });

  it("recognises the same content under another name and from stdin", () => {
    const copy = join(dir, "copy.jsonl");
    writeFileSync(copy, readFileSync(TEN_FLOWS));
    expect(runCli(["ingest", "--db", db, TEN_FLOWS]).code).toBe(0);
    expect(runCli(["ingest", "--db", db, copy]).stdout).toMatch(/already ingested/);
    expect(runCli(["ingest", "--db", db, "-"], { input: readFileSync(TEN_FLOWS) }).stdout).toMatch(/already ingested/);
    expect(stats().flows).toBe(10);
  });

  it("ingests only the new lines of a file that has grown", () => {
    const lines = readFileSync(TEN_FLOWS, "utf8").split("\n").filter(Boolean);
    const growing = join(dir, "events.log");
    writeFileSync(growing, `${lines.slice(0, 4).join("\n")}\n`);
    expect(runCli(["ingest", "--db", db, growing]).code).toBe(0);
    writeFileSync(growing, `${lines.join("\n")}\n`);
    const r = runCli(["ingest", "--db", db, growing]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/resumed/);

    const fresh = join(dir, "fresh.db");
    expect(runCli(["ingest", "--db", fresh, TEN_FLOWS]).code).toBe(0);
    expect(readEdges(db)).toEqual(readEdges(fresh));
    expect(stats().flows).toBe(10);
  });

  it("treats a file whose start changed as new content", () => {
    const lines = readFileSync(TEN_FLOWS, "utf8").split("\n").filter(Boolean);
    const file = join(dir, "events.log");
    writeFileSync(file, `${lines.slice(0, 3).join("\n")}\n`);
    expect(runCli(["ingest", "--db", db, file]).code).toBe(0);
    writeFileSync(file, `${lines.slice(5).join("\n")}\n`);
    expect(runCli(["ingest", "--db", db, file]).stdout).toMatch(/ingested/);
    expect(stats().flows).toBe(3 + 5);
  });

  it("treats a gzip file now shorter than what was ingested from it as new content", () => {
    const lines = readFileSync(TEN_FLOWS, "utf8").split("\n").filter(Boolean);
    const file = join(dir, "events.log.gz");
    writeFileSync(file, gzipSync(`${lines.join("\n")}\n`));
    expect(runCli(["ingest", "--db", db, file]).code).toBe(0);
    writeFileSync(file, gzipSync(`${lines.slice(0, 4).join("\n")}\n`));
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/already ingested/);
    expect(stats().flows).toBe(10 + 4);
  });

  it("gives the same store with worker threads as on the main thread", () => {
    const big = join(dir, "big.jsonl");
    expect(runCli(["simulate", "--flows", "20000", "--out", big]).code).toBe(0);
    const threaded = join(dir, "threaded.db");
    const inline = join(dir, "inline.db");
    expect(runCli(["ingest", "--db", threaded, "--workers", "2", big]).code).toBe(0);
    expect(runCli(["ingest", "--db", inline, "--workers", "0", big]).code).toBe(0);
    expect(readEdges(threaded)).toEqual(readEdges(inline));
  });
});

describeWithShared([TEN_FLOWS], "flowpol ingest: inputs", () => {
  it("reads gzip by content, whatever the file is called", () => {
    const gz = join(dir, "flows.log");
    writeFileSync(gz, gzipSync(readFileSync(TEN_FLOWS)));
    const r = runCli(["ingest", "--db", db, gz]);
    expect(r.code, r.stderr).toBe(0);
    expect(stats().flows).toBe(10);
  });

  it("reads stdin", () => {
    const r = runCli(["ingest", "--db", db, "-"], { input: readFileSync(TEN_FLOWS) });
    expect(r.code, r.stderr).toBe(0);
    expect(stats().flows).toBe(10);
  });

  it("reads a JSON array of envelopes", () => {
    const lines = readFileSync(TEN_FLOWS, "utf8").split("\n").filter(Boolean);
    const file = join(dir, "flows.json");
    writeFileSync(
      file,
      JSON.stringify(
        lines.map((l) => JSON.parse(l)),
        null,
        2,
      ),
    );
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code, r.stderr).toBe(0);
    const fresh = join(dir, "fresh.db");
    runCli(["ingest", "--db", fresh, TEN_FLOWS]);
    expect(readEdges(db)).toEqual(readEdges(fresh));
  });

  it("takes the store path from FLOWPOL_DB", () => {
    const r = runCli(["ingest", TEN_FLOWS], { cwd: dir, env: { FLOWPOL_DB: db } });
    expect(r.code, r.stderr).toBe(0);
    expect(stats().flows).toBe(10);
  });

  it("counts lost events and skipped non-flow events", () => {
    const file = join(dir, "mixed.jsonl");
    writeFileSync(
      file,
      [
        readFileSync(TEN_FLOWS, "utf8").split("\n")[0],
        '{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"42"},"node_name":"n1","time":"2021-06-16T16:52:14Z"}',
        '{"node_status":{"state_change":"NODE_UNAVAILABLE","node_names":["n2"]},"time":"2021-06-16T16:52:14Z"}',
        '{"agent_event":{"type":"AGENT_STARTED"},"time":"2021-06-16T16:52:14Z"}',
      ].join("\n"),
    );
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code, r.stderr).toBe(0);
    expect(stats()).toMatchObject({ flows: 1, lostEvents: 42, skippedLines: 2, badLines: 0 });
  });
});

describeWithShared([TEN_FLOWS], "flowpol ingest: bad input", () => {
  const good = () => readFileSync(TEN_FLOWS, "utf8").split("\n").filter(Boolean);

  it.each([
    ["a malformed line", "{not json}", /:3: the line is not valid JSON/],
    ["a truncated line", '{"flow":{"time":"2021-06-16T16:52:13Z","verdict":"FORW', /:3: the line is truncated/],
    ["a line with binary data", "\u0001\u0002\u0003garbage", /:3: the line contains binary data/],
    ["a JSON line that is not a flow", '{"apiVersion":"v1","kind":"Pod"}', /:3: the object is not a Hubble flow/],
    [
      "an injection attempt in a namespace",
      JSON.stringify({
        flow: { time: "2021-06-16T16:52:13Z", source: { namespace: "x'); DROP TABLE edges;--", pod_name: "a" } },
      }),
      /:3: source: namespace/,
    ],
  ])("reports %s with file:line and ingests the rest", (_name, badLine, message) => {
    const lines = good();
    const file = join(dir, "flows.jsonl");
    writeFileSync(file, [lines[0], lines[1], badLine, ...lines.slice(2)].join("\n"));
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/1 bad line\(s\) were skipped; 10 flows were stored from the other lines/);
    expect(stats()).toMatchObject({ flows: 10, badLines: 1 });
    expect(readTable(db, "SELECT line FROM bad_lines")).toEqual([{ line: 3 }]);
  });

  it("says in numbers what was stored, also when that is nothing", () => {
    const file = join(dir, "events.jsonl");
    writeFileSync(
      file,
      [
        '{"node_status":{"state_change":"NODE_UNAVAILABLE","node_names":["n2"]},"time":"2021-06-16T16:52:14Z"}',
        '{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"1"},"node_name":"n1","time":"2021-06-16T16:52:14Z"}',
        "{not json}",
        "",
      ].join("\n"),
    );
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/1 bad line\(s\) were skipped; no flow was stored from the other lines/);
    expect(r.stderr).not.toMatch(/everything else/);
    expect(stats()).toMatchObject({ flows: 0, badLines: 1 });
  });

  it("names the first line of a bad element of a pretty-printed JSON array", () => {
    const flows = good()
      .slice(0, 3)
      .map((l) => JSON.parse(l));
    const text = JSON.stringify([flows[0], flows[1], { apiVersion: "v1", kind: "Pod" }, flows[2]], null, 2);
    const file = join(dir, "flows.json");
    writeFileSync(file, text);
    const lines = text.split("\n");
    const podLine = lines.findIndex((l) => l.includes('"apiVersion": "v1"')) - 1 + 1;
    expect(lines[podLine - 1]).toBe("  {");
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`flows.json:${podLine}: array element 3`);
    expect(stats()).toMatchObject({ flows: 3, badLines: 1 });
  });

  it("reports a line that is not valid UTF-8", () => {
    const lines = good();
    const file = join(dir, "flows.jsonl");
    const bad = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    writeFileSync(
      file,
      Buffer.concat([Buffer.from(`${lines[0]}\n`), bad, Buffer.from(`\n${lines.slice(1).join("\n")}\n`)]),
    );
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/flows\.jsonl:2: the line is not valid UTF-8/);
    expect(stats()).toMatchObject({ flows: 10, badLines: 1 });
  });

  it("shows the first five bad lines and counts them all", () => {
    const lines = good();
    const file = join(dir, "flows.jsonl");
    writeFileSync(file, [...lines, ...Array.from({ length: 8 }, () => "garbage")].join("\n"));
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code).toBe(1);
    expect(r.stderr.match(/: the line is not valid JSON/g)).toHaveLength(5);
    expect(r.stderr).toMatch(/and 3 more bad lines/);
    expect(stats()).toMatchObject({ flows: 10, badLines: 8 });
  });

  it("stops at the first bad line with --strict and stores nothing from that input", () => {
    const lines = good();
    const file = join(dir, "flows.jsonl");
    writeFileSync(file, [lines[0], "oops", ...lines.slice(1)].join("\n"));
    const r = runCli(["ingest", "--db", db, "--strict", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/flows\.jsonl:2: the line is not valid JSON/);
    expect(r.stderr).toMatch(/run without --strict/);
    expect(stats()).toMatchObject({ flows: 0, edges: 0 });
  });

  it("rejects a binary file whole and goes on with the next input", () => {
    const binary = join(dir, "capture.pcap");
    writeFileSync(binary, Buffer.from([0xd4, 0xc3, 0xb2, 0xa1, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0xff]));
    const r = runCli(["ingest", "--db", db, binary, TEN_FLOWS]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/capture\.pcap is binary data, not a JSON flow file/);
    expect(stats()).toMatchObject({ flows: 10, badLines: 0 });
  });

  it("rejects a file that is not flows at all", () => {
    const file = join(dir, "deployment.yaml");
    writeFileSync(file, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n");
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/deployment\.yaml is not a flow file: none of its first 50 lines/);
    expect(r.stderr).toMatch(/fix: /);
    expect(stats()).toMatchObject({ flows: 0, ingests: 0 });
  });

  it("reports an empty file and succeeds", () => {
    const file = join(dir, "empty.jsonl");
    writeFileSync(file, "");
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/empty\.jsonl: empty, nothing to ingest/);
  });

  it("names a missing file", () => {
    const r = runCli(["ingest", "--db", db, join(dir, "nope.jsonl")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nope\.jsonl: no such file/);
  });

  it("reports corrupt gzip data", () => {
    const file = join(dir, "flows.jsonl.gz");
    const gz = readFileSync(SAMPLE);
    writeFileSync(file, gz.subarray(0, Math.floor(gz.length / 2)));
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/flows\.jsonl\.gz: the gzip data is corrupt or truncated/);
  });

  it("cuts out a line longer than the limit without buffering it", () => {
    const lines = good();
    const file = join(dir, "flows.jsonl");
    const huge = `{"flow":{"Summary":"${"x".repeat(17 * 1024 * 1024)}"}}`;
    writeFileSync(file, [lines[0], huge, ...lines.slice(1)].join("\n"));
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/flows\.jsonl:2: the line is \d+ bytes, longer than the 16777216-byte limit/);
    expect(stats()).toMatchObject({ flows: 10, badLines: 1 });
  });

  it("names a bad --format once, as a usage error", () => {
    const r = runCli(["ingest", "--db", db, "--format", "pcap", TEN_FLOWS]);
    expect(r.code).toBe(2);
    expect(r.stderr.match(/unknown --format "pcap"/g)).toHaveLength(1);
  });

  it("answers a bad flag with usage and exit code 2", () => {
    const r = runCli(["ingest", "--db", db, "--workers", "many", TEN_FLOWS]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--workers takes a whole number/);
  });

  it("says how to create a store when stats finds none", () => {
    const r = runCli(["stats", "--db", join(dir, "none.db")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no flowpol store at .*none\.db/);
    expect(r.stderr).toMatch(/flowpol ingest FILE/);
  });
});
