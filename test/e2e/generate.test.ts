import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { runCli } from "../helpers/cli.js";
import { expectGolden } from "../helpers/golden.js";
import { REPO_ROOT, SHARED_CALICO, SHARED_HUBBLE, tempDir } from "../helpers/paths.js";
import { sharedFiles, sharedMissing } from "../helpers/shared.js";
import { CART, flow, pod, shopFlows, writeStore } from "../helpers/shop-store.js";

let tmp: ReturnType<typeof tempDir>;
let shopDb: string;
let boutiqueDb: string;
let hubbleDb: string;
let calicoDb: string;
const CAPTURES_MISSING = sharedMissing([SHARED_HUBBLE, SHARED_CALICO]);
/** The stores to test on: without ../shared, not the real captures. */
const itOnCaptures = it.skipIf(CAPTURES_MISSING !== undefined);
const present = (rows: [string, () => string][]) => rows.filter(([name]) => !CAPTURES_MISSING || !/real/.test(name));

beforeAll(() => {
  tmp = tempDir();
  shopDb = writeStore(tmp.dir);
  boutiqueDb = join(tmp.dir, "boutique.db");
  expect(runCli(["ingest", "--db", boutiqueDb, join(REPO_ROOT, "samples/online-boutique/hubble.jsonl.gz")]).code).toBe(
    0,
  );
  if (CAPTURES_MISSING) return;
  hubbleDb = join(tmp.dir, "hubble.db");
  const captures = sharedFiles(SHARED_HUBBLE, ".jsonl").map((f) => join(SHARED_HUBBLE, f));
  runCli(["ingest", "--db", hubbleDb, ...captures]);
  calicoDb = join(tmp.dir, "calico.db");
  const calico = sharedFiles(SHARED_CALICO, ".jsonl").map((f) => join(SHARED_CALICO, f));
  runCli(["ingest", "--db", calicoDb, ...calico]);
});
afterAll(() => tmp.cleanup());

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(".yaml")) out.push(join(entry.parentPath, entry.name));
  }
  return out.sort();
}

describe("flowpol generate", () => {
  it.each(
    present([
      ["the bundled Online Boutique sample", () => boutiqueDb],
      ["the real Hubble captures", () => hubbleDb],
      ["the real Calico and Goldmane captures", () => calicoDb],
      ["the hand-built store", () => shopDb],
    ]),
  )("on %s: writes valid policies, and its proof and `flowpol diff --fail-on denied` agree", (_name, db) => {
    const out = join(tmp.dir, `out-${Math.random().toString(36).slice(2)}`);
    const r = runCli(["generate", "--db", db(), "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const proof =
      /proof: judged the store's (\d+) observed connection\(s\) .*: (\d+) allowed, (\d+) unprotected .*, (\d+) denied \((\d+) for a documented reason\)/.exec(
        r.stdout,
      );
    expect(proof, r.stdout).not.toBeNull();
    const [, observed, allowed, unprotected, denied, documented] = proof!.map(Number);
    expect(denied).toBe(documented);
    expect(r.stdout).toMatch(/, 0 over-permissive/);
    // The same store and files through the command users run give the same counts.
    const diff = runCli(["diff", "--db", db(), "--policies", out, "--fail-on", "denied"]);
    expect(diff.stdout).toMatch(
      new RegExp(
        `^${observed} observed edges \\(\\d+ flows\\): ${allowed} allowed, ${denied} denied .*${unprotected} unprotected`,
      ),
    );
    // Denied edges are only those generate listed with a documented reason.
    expect(diff.code, diff.stdout).toBe(denied === 0 ? 0 : 3);
    const listed = r.stderr.split("\n").filter((l) => l.startsWith("denied: "));
    expect(listed).toHaveLength(denied!);
    for (const l of listed) expect(l).not.toContain("no documented reason");
    const files = yamlFiles(out);
    expect(files.some((f) => f.endsWith("default-deny.yaml"))).toBe(true);
    for (const f of files) {
      const [doc] = parseAllDocuments(readFileSync(f, "utf8"));
      const obj = doc?.toJS() as { kind: string };
      if (obj.kind === "Kustomization") continue;
      expect(
        () => new NetworkPolicy(obj as ConstructorParameters<typeof NetworkPolicy>[0]).validate(),
        f,
      ).not.toThrow();
    }
  });

  itOnCaptures(
    "on the real Hubble captures: allows Prometheus's scrape of NodeLocal DNS (a pod recorded without labels does not hide its workload's)",
    () => {
      const out = join(tmp.dir, "captures");
      expect(runCli(["generate", "--db", hubbleDb, "--out", out]).code).toBe(0);
      const diff = runCli(["diff", "--db", hubbleDb, "--policies", out, "-o", "json"]);
      const edges = (
        JSON.parse(diff.stdout) as {
          edges: Array<{ source: string; destination: string; port: number; status: string }>;
        }
      ).edges;
      expect(
        edges.find(
          (e) =>
            e.source === "istio-system/prometheus[Deployment]" &&
            e.destination === "kube-system/node-local-dns[DaemonSet]" &&
            e.port === 9253,
        )?.status,
      ).toBe("allowed");
    },
  );

  it("leaves a direction un-isolated where a workload has no stable labels; --accept-denied keeps the isolation and lists what it denies", () => {
    const dir = join(tmp.dir, "legacy");
    const legacy = pod("shop", "Deployment", "legacy", "legacy-abc", {});
    mkdirSync(dir, { recursive: true });
    const db = writeStore(dir, [...shopFlows(), flow(legacy, CART, "TCP", 7070, { count: 4 })]);
    // Default: the workload without labels leaves shop un-isolated, said in EVIDENCE.md; nothing breaks.
    const sound = runCli(["generate", "--db", db, "--out", join(dir, "sound")]);
    expect(sound.code, sound.stderr).toBe(0);
    expect(sound.stderr).toContain("notice: egress of namespace shop left un-isolated");
    expect(readFileSync(join(dir, "sound/shop/EVIDENCE.md"), "utf8")).toContain("Egress is not isolated");
    const diff = runCli(["diff", "--db", db, "--policies", join(dir, "sound"), "--fail-on", "denied"]);
    // Only the documented denials remain (the metadata address, ICMP); nothing of legacy's.
    const denied = diff.stdout.split("\n").filter((l) => l.startsWith("denied"));
    expect(denied.filter((l) => l.includes("legacy"))).toEqual([]);
    expect(denied.every((l) => l.includes("169.254.169.254") || l.includes("ICMP"))).toBe(true);
    // --accept-denied keeps the default-deny and lists what it denies.
    const kept = runCli(["generate", "--db", db, "--out", join(dir, "kept"), "--accept-denied"]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stderr).toContain(
      "denied: shop/legacy[Deployment] -> shop/cart[Deployment] TCP/7070 (4 flows) at egress: a workload with no stable labels",
    );
    expect(existsSync(join(dir, "kept/shop/default-deny.yaml"))).toBe(true);
  });

  it("regenerates byte-identical files (nothing changes on a second run)", () => {
    const out = join(tmp.dir, "again");
    expect(runCli(["generate", "--db", boutiqueDb, "--out", out]).code).toBe(0);
    const before = yamlFiles(out).map((f) => readFileSync(f, "utf8"));
    const r = runCli(["generate", "--db", boutiqueDb, "--out", out]);
    expect(r.stdout).toContain("(0 file(s) changed)");
    expect(yamlFiles(out).map((f) => readFileSync(f, "utf8"))).toEqual(before);
  });

  it("removes its own stale policies but leaves other files alone", () => {
    const out = join(tmp.dir, "stale");
    expect(runCli(["generate", "--db", shopDb, "--out", out]).code).toBe(0);
    writeFileSync(
      join(out, "shop/allow-gone.yaml"),
      "metadata:\n  labels:\n    app.kubernetes.io/managed-by: flowpol\n",
    );
    writeFileSync(join(out, "shop/mine.yaml"), "kind: ConfigMap\n");
    const r = runCli(["generate", "--db", shopDb, "--out", out]);
    expect(r.stdout).toContain("1 stale removed");
    expect(existsSync(join(out, "shop/allow-gone.yaml"))).toBe(false);
    expect(existsSync(join(out, "shop/mine.yaml"))).toBe(true);
  });

  it("reports the metadata address it refused and allows it with --allow-metadata", () => {
    const out = join(tmp.dir, "meta");
    const refused = runCli(["generate", "--db", shopDb, "--out", out]);
    expect(refused.stderr).toContain("169.254.169.254 was observed and is NOT allowed");
    const allowed = runCli(["generate", "--db", shopDb, "--out", out, "--allow-metadata"]);
    expect(allowed.code).toBe(0);
    expect(readFileSync(join(out, "shop/allow-frontend-to-external-egress.yaml"), "utf8")).toContain(
      "169.254.169.254/32",
    );
  });

  it("uses --node-cidr for host and probe traffic", () => {
    const out = join(tmp.dir, "nodes");
    expect(runCli(["generate", "--db", shopDb, "--out", out, "--node-cidr", "10.1.0.0/16"]).code).toBe(0);
    expect(readFileSync(join(out, "shop/allow-nodes-to-frontend.yaml"), "utf8")).toContain("cidr: 10.1.0.0/16");
  });

  it.each([
    ["an unknown flavor", ["--flavor", "istio"], 2, /--flavor istio is not known/],
    ["a prefix of 0 without the flag", ["--cidr-prefix", "0"], 2, /every address/],
    ["a prefix over 32", ["--cidr-prefix", "33"], 2, /0-32/],
    ["a bad node CIDR", ["--node-cidr", "10.0.0.0"], 2, /is not a CIDR/],
    ["a bad time", ["--since", "yesterday"], 2, /--since "yesterday" is neither a duration nor an ISO 8601 time/],
    ["since after until", ["--since", "2026-02-01", "--until", "2026-01-01"], 2, /--since is after --until/],
    ["a bad namespace", ["--namespace", "Shop!"], 2, /is not a namespace name/],
    ["a namespace with no workloads", ["--namespace", "nothing-here"], 2, /no namespace in scope/],
    ["a window with no flows", ["--until", "2001-01-01"], 2, /no namespace in scope/],
  ])("rejects %s with a clear message", (_name, flags, code, message) => {
    const out = join(tmp.dir, "bad");
    const r = runCli(["generate", "--db", shopDb, "--out", out, ...flags]);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(existsSync(join(out, "shop"))).toBe(false);
  });

  it("rejects a missing store and a broken catalog, naming them", () => {
    const missing = runCli(["generate", "--db", join(tmp.dir, "none.db"), "--out", join(tmp.dir, "x")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no flowpol store");
    const catalog = join(tmp.dir, "bad-catalog.yaml");
    writeFileSync(catalog, "sharedServices:\n  - {name: x, role: nope}\n");
    const bad = runCli(["generate", "--db", shopDb, "--out", join(tmp.dir, "y"), "--catalog", catalog]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("bad-catalog.yaml");
  });

  it("extends the catalog with --catalog (a user-defined caller becomes a namespace-wide exception)", () => {
    const catalog = join(tmp.dir, "extra.yaml");
    writeFileSync(
      catalog,
      "sharedServices:\n  - name: report-runner\n    role: caller\n    description: batch reports\n    match:\n      workloads: [report]\n",
    );
    const out = join(tmp.dir, "catalog-out");
    const r = runCli(["generate", "--db", shopDb, "--out", out, "--catalog", catalog]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(out, "shop/allow-ingress-from-report-runner.yaml"))).toBe(true);
  });
});

describe("flowpol graph", () => {
  it.each([["table"], ["json"], ["dot"], ["mermaid"]])("prints the %s format as the golden file", (format) => {
    const r = runCli(["graph", "--db", shopDb, "-o", format]);
    expect(r.code, r.stderr).toBe(0);
    expectGolden(r.stdout, join(REPO_ROOT, `test/golden/graph/shop.${format === "table" ? "txt" : format}`));
  });

  it("writes one self-contained HTML page that fetches nothing", () => {
    const file = join(tmp.dir, "graph.html");
    const r = runCli(["graph", "--db", boutiqueDb, "-o", "html", "--out", file]);
    expect(r.code, r.stderr).toBe(0);
    const html = readFileSync(file, "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/(src|href)=["']?https?:/);
    expect(html).toContain("default-src 'none'");
    expect(html).toContain("online-boutique/Deployment/frontend");
  });

  it("renders in headless Chromium with every node and connection, without any network request", async () => {
    const file = join(tmp.dir, "chromium.html");
    expect(runCli(["graph", "--db", boutiqueDb, "-o", "html", "--out", file]).code).toBe(0);
    const json = JSON.parse(runCli(["graph", "--db", boutiqueDb, "-o", "json"]).stdout) as Record<
      "allowed" | "denied",
      Array<{ from: string; to: string; count: number }>
    >;
    const edges = [...json.allowed, ...json.denied];
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      const requests: string[] = [];
      const errors: string[] = [];
      page.on("request", (r) => requests.push(r.url()));
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(pathToFileURL(file).href);
      expect(await page.locator("#graph g.node").count()).toBe(new Set(edges.flatMap((e) => [e.from, e.to])).size);
      expect(await page.locator("#graph g.edge").count()).toBeGreaterThan(0);
      // Every connection is in the page's data with its flows: the same total as the graph's.
      const data = JSON.parse((await page.locator("#graph-data").textContent()) ?? "{}") as {
        links: Array<{ flows: number }>;
      };
      expect(data.links.reduce((n, l) => n + l.flows, 0)).toBe(edges.reduce((n, e) => n + e.count, 0));
      await page.fill("#graph-search", "frontend");
      expect(await page.locator("#graph g.node:not(.dim)").count()).toBeGreaterThan(0);
      expect(errors).toEqual([]);
      expect(requests).toEqual([pathToFileURL(file).href]);
    } finally {
      await browser.close();
    }
  });

  it("rejects an unknown format", () => {
    const r = runCli(["graph", "--db", shopDb, "-o", "png"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("table, json, dot, mermaid, html");
  });
});
