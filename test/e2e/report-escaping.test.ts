import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BatchBuilder } from "../../src/collect/batch-builder.js";
import { openStore } from "../../src/store/db.js";
import { startIngest } from "../../src/store/ingest-log.js";
import { BatchWriter } from "../../src/store/write-batch.js";
import { runCli } from "../helpers/cli.js";
import { tempDir } from "../helpers/paths.js";
import { CART, FRONTEND, flow, shopFlows, world } from "../helpers/shop-store.js";

/**
 * Strings from flow records in Markdown outputs. Ingest refuses such node names and drop reasons
 * now, but a store written before (or by another tool) may hold them: the report escapes them.
 */

const IMG = "<img src=x onerror=alert(1)>";
const LINK = "[link](https://evil.example)";

let dir: string;
let cleanup: () => void;
let db: string;

beforeEach(() => {
  ({ dir, cleanup } = tempDir());
  db = join(dir, "flowpol.db");
  const store = openStore(db);
  try {
    const builder = new BatchBuilder();
    for (const f of shopFlows()) builder.addFlow(f);
    builder.addFlow({ ...flow(FRONTEND, CART, "TCP", 9999, { verdict: "dropped" }), dropReason: IMG });
    builder.addLost({ source: "PERF_EVENT_RING_BUFFER", lost: 5, node: LINK, time: Date.UTC(2026, 0, 5, 10) });
    const writer = new BatchWriter(store);
    store.transaction(() => {
      const id = startIngest(
        store,
        { source_system: "hubble", kind: "file", path: "shop", format: "test", head_hash: "" },
        Date.UTC(2026, 0, 5),
      );
      writer.write(builder.build(), id, "hubble");
    })();
  } finally {
    store.close();
  }
});
afterEach(() => cleanup());

describe("Markdown outputs escape strings from flow records", () => {
  it("REPORT.md: a drop reason with HTML and a node name with a link", () => {
    const r = runCli(["report", "--db", db]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(IMG);
    expect(r.stdout).not.toContain(LINK);
    expect(r.stdout).toContain("\\<img src=x onerror=alert\\(1\\)\\>");
    expect(r.stdout).toContain("\\[link\\]\\(https://evil.example\\)");
  });

  it("the HTML report: the drop reason and the node name are text, not markup", () => {
    const r = runCli(["report", "--db", db, "-o", "html"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(IMG);
    expect(r.stdout).toContain("&#60;img src=x onerror=alert(1)&#62;");
  });

  it("EVIDENCE.md: the drop reason", () => {
    const out = join(dir, "out");
    const r = runCli(["generate", "--db", db, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const evidence = readFileSync(join(out, "shop/EVIDENCE.md"), "utf8");
    expect(evidence).toContain("\\<img src=x onerror=alert\\(1\\)\\>");
    expect(evidence).not.toContain(IMG);
  });
});

describe("a store written before ingest checked every value", () => {
  it("generate refuses an address that is not one and a fractional port, and writes the rest", () => {
    const old = join(dir, "old.db");
    const store = openStore(old);
    try {
      const builder = new BatchBuilder();
      for (const f of shopFlows()) builder.addFlow(f);
      builder.addFlow(flow(FRONTEND, world("999.1.1.1"), "TCP", 443));
      builder.addFlow(flow(FRONTEND, CART, "TCP", 1.5));
      const writer = new BatchWriter(store);
      store.transaction(() => {
        const id = startIngest(
          store,
          { source_system: "hubble", kind: "file", path: "old", format: "test", head_hash: "" },
          Date.UTC(2026, 0, 5),
        );
        writer.write(builder.build(), id, "hubble");
      })();
    } finally {
      store.close();
    }
    const out = join(dir, "out");
    const r = runCli(["generate", "--db", old, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/bug in flowpol/);
    const yaml = readdirSync(join(out, "shop"))
      .filter((f) => f.endsWith(".yaml"))
      .map((f) => readFileSync(join(out, "shop", f), "utf8"))
      .join("\n");
    expect(yaml).not.toContain("999.1.1.1");
    expect(yaml).not.toMatch(/port: 1\.5/);
    const evidence = readFileSync(join(out, "shop/EVIDENCE.md"), "utf8");
    expect(evidence).toContain('"999.1.1.1" is not an IP address');
    expect(evidence).toContain("port 1.5 is not a valid destination port");
  });
});
