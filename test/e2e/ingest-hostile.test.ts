import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { SHARED_HUBBLE, tempDir } from "../helpers/paths.js";
import { describeWithShared } from "../helpers/shared.js";
import { readTable } from "../helpers/store.js";

/** `flowpol ingest` (from dist/) of real files with hostile lines and awkward starts. */

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

const good = () => readFileSync(TEN_FLOWS, "utf8").split("\n").filter(Boolean);

function write(content: string | Buffer): string {
  const file = join(dir, "flows.jsonl");
  writeFileSync(file, content);
  return file;
}

describeWithShared([TEN_FLOWS], "flowpol ingest of awkward but valid files", () => {
  it("does not count a UTF-8 byte order mark against line 1", () => {
    const r = runCli(["ingest", "--db", db, write(`\ufeff${good().join("\n")}\n`)]);
    expect(r.code, r.stderr).toBe(0);
    expect(stats()).toMatchObject({ flows: 10, badLines: 0 });
  });

  it("detects the format from a first line over 64 KiB", () => {
    const lines = good();
    const first = JSON.parse(lines[0] as string);
    first.flow.Summary = "x".repeat(100 * 1024);
    const r = runCli(["ingest", "--db", db, write(`${[JSON.stringify(first), ...lines.slice(1)].join("\n")}\n`)]);
    expect(r.code, r.stderr).toBe(0);
    expect(stats()).toMatchObject({ flows: 10, badLines: 0 });
  });

  it("reports a stray NUL in the first 64 KiB as a bad line, not the file as binary", () => {
    const lines = good();
    const file = write(`${[lines[0], `${lines[1]}\u0000`, ...lines.slice(2)].join("\n")}\n`);
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/flows\.jsonl:2: /);
    expect(stats()).toMatchObject({ flows: 9, badLines: 1 });
  });
});

describeWithShared([TEN_FLOWS], "flowpol ingest of hostile lines", () => {
  it.each([
    ["8,000 nested [", `${"[".repeat(8000)}${"]".repeat(8000)}`, /:3: the line nests JSON more than 64 levels deep/],
    ["1,000 nested [", `${"[".repeat(1000)}${"]".repeat(1000)}`, /:3: the line nests JSON more than 64 levels deep/],
    ["4,000 nested {", `${'{"a":'.repeat(4000)}1${"}".repeat(4000)}`, /:3: the line nests JSON/],
    ["a port of 1.5", "PORT:1.5", /:3: l4\.TCP\.destination_port 1.5 is not a port/],
    ["a port of -1", "PORT:-1", /:3: l4\.TCP\.destination_port -1 is not a port/],
    ["a port with a command", 'PORT:"8080; rm -rf /"', /:3: l4\.TCP\.destination_port "8080; rm -rf \/" is not a port/],
    ["an IP of 999.1.1.1", "IP:999.1.1.1", /:3: IP\.source "999\.1\.1\.1" is not an IP address/],
    ["verdict 99", "VERDICT:99", /:3: verdict 99 is not a Hubble verdict/],
    ["verdict NOPE", 'VERDICT:"NOPE"', /:3: verdict "NOPE" is not a Hubble verdict/],
  ])("reports %s with file:line and the reason, and ingests the rest", (_what, bad, message) => {
    const lines = good();
    const tcp = lines.find((l) => l.includes('"TCP":{')) as string;
    let line = bad;
    if (bad.startsWith("PORT:")) line = tcp.replace(/"destination_port":\d+/, `"destination_port":${bad.slice(5)}`);
    if (bad.startsWith("IP:")) line = tcp.replace(/"source":"[0-9.]+"/, `"source":"${bad.slice(3)}"`);
    if (bad.startsWith("VERDICT:")) line = tcp.replace(/"verdict":"[A-Z]+"/, `"verdict":${bad.slice(8)}`);
    expect(line).not.toBe(tcp);
    const r = runCli(["ingest", "--db", db, write([lines[0], lines[1], line, ...lines.slice(2)].join("\n"))]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/bug in flowpol|Maximum call stack/);
    expect(stats()).toMatchObject({ flows: 10, badLines: 1 });
  });

  it("keeps a flow whose label is not label syntax, without the label, and says so (exit 0)", () => {
    const lines = good();
    const i = lines.findIndex((l) => l.includes('"labels":["k8s:'));
    const line = (lines[i] as string).replace('"labels":["k8s:', '"labels":["k8s:team=a b","k8s:');
    lines[i] = line;
    const r = runCli(["ingest", "--db", db, write(lines.join("\n"))]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`flows.jsonl:${i + 1}: source: label "k8s:team=a b" not valid Kubernetes label syntax`);
    expect(stats()).toMatchObject({ flows: 10, badLines: 0 });
    expect(JSON.stringify(readTable(db, "SELECT labels FROM pods"))).not.toContain("a b");
  });

  it("takes records without a time only with --default-time", () => {
    const lines = good().map((l) => {
      const event = JSON.parse(l);
      delete event.time;
      delete event.flow.time;
      return JSON.stringify(event);
    });
    const file = write(lines.join("\n"));
    const r = runCli(["ingest", "--db", db, file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("flows.jsonl:1: the flow has no `time`");
    db = join(dir, "second.db");
    const again = runCli(["ingest", "--db", db, "--default-time", "2026-03-01T12:00:00Z", file]);
    expect(again.code, again.stderr).toBe(0);
    expect(stats()).toMatchObject({ flows: 10, since: "2026-03-01T12:00:00.000Z", until: "2026-03-01T12:00:00.000Z" });
  });
});
