import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gunzipSync } from "node:zlib";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { expectGolden } from "../helpers/golden.js";
import { REPO_ROOT, tempDir } from "../helpers/paths.js";

const SAMPLE = join(REPO_ROOT, "samples/online-boutique/hubble.jsonl.gz");
const ARTIFACTS = join(REPO_ROOT, "test/artifacts");
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

let tmp: { dir: string; cleanup: () => void };
let db: string;

beforeAll(() => {
  tmp = tempDir("flowpol-report-");
  db = join(tmp.dir, "flowpol.db");
  const r = runCli(["ingest", "--db", db, SAMPLE]);
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => tmp.cleanup());

/** The nodes of `flowpol graph` (every namespace) with a connection, allowed or denied: the report draws that graph. */
function expectedNodeCount(): number {
  const r = runCli(["graph", "--db", db, "-o", "json", "--exclude-namespace", ""]);
  const graph = JSON.parse(r.stdout) as Record<"allowed" | "denied", Array<{ from: string; to: string }>>;
  return new Set([...graph.allowed, ...graph.denied].flatMap((e) => [e.from, e.to])).size;
}

describe("flowpol report (markdown)", () => {
  it("shows a window shorter than a day in hours and minutes, not 0 days", () => {
    const lines = gunzipSync(readFileSync(SAMPLE)).toString("utf8").split("\n").filter(Boolean);
    const early = lines.filter((l) => (JSON.parse(l) as { time: string }).time < "2026-11-20T05:30:00Z");
    expect(early.length).toBeGreaterThan(0);
    const file = join(tmp.dir, "morning.jsonl");
    writeFileSync(file, `${early.join("\n")}\n`);
    const short = join(tmp.dir, "morning.db");
    expect(runCli(["ingest", "--db", short, file]).code).toBe(0);
    const r = runCli(["report", "--db", short]);
    expect(r.code, r.stderr).toBe(0);
    const window = r.stdout.split("\n").find((l) => l.startsWith("- Window:"));
    expect(window).toMatch(/: [1-5] h( \d{1,2} min)?, 1 calendar day\(s\)/);
    expect(window).not.toMatch(/0 days/);
  });

  it("matches the golden report for the Online Boutique sample", () => {
    const r = runCli(["report", "--db", db]);
    expect(r.code, r.stderr).toBe(0);
    expectGolden(r.stdout, join(REPO_ROOT, "test/golden/report/online-boutique.md"));
  });

  it.each([
    [
      "the observation window",
      /- Window: 2026-11-20T00:00:50\.751Z to 2026-11-21T15:52:45\.341Z: 1\.7 days, 2 calendar day\(s\)/,
    ],
    ["the lost events from the gaps table", /- Lost events: 457 /],
    ["the CronJob seen in few runs", /\| online-boutique \| CronJob \| cart-cleanup \| 2 \|/],
    [
      "the cluster DNS as a shared service (the graph's, as generate sees it)",
      /\| cluster-dns \(catalog\) \| cluster DNS, called by \| kube-system\/coredns \| 53\/TCP, 53\/UDP \| online-boutique\/adservice, /,
    ],
    [
      "the scraper as a shared caller",
      /\| prometheus \(catalog\) \| calls \| monitoring\/prometheus-k8s \| 6443\/TCP, 9464\/TCP \| kube-apiserver, online-boutique\/adservice, /,
    ],
    ["external destinations with their DNS names", /\| 54\.187\.174\.169 \| api\.stripe\.com \| 443\/TCP \|/],
    [
      "the cloud metadata address and its caller",
      /\| online-boutique\/adservice \| 169\.254\.169\.254 \| 80 \| forwarded \| 2 \|/,
    ],
    [
      "the dropped flows with their reason",
      /\| online-boutique\/loadgenerator \| online-boutique\/cartservice \| 7070\/TCP \| dropped \| POLICY_DENIED \|/,
    ],
    ["the graph as Mermaid", /```mermaid\nflowchart LR\n/],
  ])("shows %s", (_, pattern) => {
    const r = runCli(["report", "--db", db]);
    expect(r.stdout).toMatch(pattern);
  });

  it("is byte-identical from run to run", () => {
    expect(runCli(["report", "--db", db]).stdout).toBe(runCli(["report", "--db", db]).stdout);
  });
});

describe("flowpol report --policies", () => {
  it("shows the coverage, the observed flows the declared policies would deny, and unused rules", () => {
    const policies = join(tmp.dir, "declared.yaml");
    writeFileSync(
      policies,
      [
        "apiVersion: networking.k8s.io/v1",
        "kind: NetworkPolicy",
        "metadata: {name: default-deny-ingress, namespace: online-boutique}",
        "spec: {podSelector: {}, policyTypes: [Ingress]}",
        "---",
        "apiVersion: networking.k8s.io/v1",
        "kind: NetworkPolicy",
        "metadata: {name: frontend-from-anywhere, namespace: online-boutique}",
        "spec:",
        "  podSelector: {matchLabels: {app: frontend}}",
        "  ingress: [{ports: [{port: 8080}]}, {ports: [{port: 9999}]}]",
        "",
      ].join("\n"),
    );
    const r = runCli(["report", "--db", db, "--policies", policies]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("## Declared policies: coverage and gaps");
    expect(r.stdout).toMatch(
      /\| online-boutique \| yes \| no \| 13\/13 \(100%\) \| \d+\/\d+ \(\d+%\) \| \d+ \| \d+ \|/,
    );
    // The frontend keeps its port 8080 callers; cartservice's callers are cut.
    expect(r.stdout).toMatch(
      /\| online-boutique\/frontend\[Deployment\] \| online-boutique\/cartservice\[Deployment\] \| 7070\/TCP \| \d+ \| ingress \|/,
    );
    expect(r.stdout).not.toMatch(
      /\| [^|]+ \| online-boutique\/frontend\[Deployment\] \| 8080\/TCP \| \d+ \| ingress \|/,
    );
    expect(r.stdout).toContain("- `online-boutique/frontend-from-anywhere ingress[1]`");
  });
});

describe("flowpol report --catalog", () => {
  it("classifies shared services with the same catalog as generate", () => {
    const catalog = join(tmp.dir, "catalog.yaml");
    writeFileSync(
      catalog,
      [
        "sharedServices:",
        "  - name: product-catalog",
        "    role: callee",
        "    description: the shop's catalog, called by every storefront",
        "    match: {namespaces: [online-boutique], workloads: [productcatalogservice]}",
        "    ports: [{protocol: TCP, port: 3550}]",
        "",
      ].join("\n"),
    );
    const row = /\| product-catalog \(catalog\) \| called by \| online-boutique\/productcatalogservice \| 3550\/TCP \|/;
    expect(runCli(["report", "--db", db]).stdout).not.toMatch(row);
    const r = runCli(["report", "--db", db, "--catalog", catalog]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(row);
    const bad = runCli(["report", "--db", db, "--catalog", join(tmp.dir, "missing.yaml")]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("missing.yaml");
  });
});

describe("flowpol report and flowpol diff on one store", () => {
  it("judge every observed connection the same way (named ports from the manifests included)", () => {
    const folder = join(tmp.dir, "declared-named");
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, "policies.yaml"),
      [
        "apiVersion: networking.k8s.io/v1",
        "kind: NetworkPolicy",
        "metadata: {name: default-deny-ingress, namespace: online-boutique}",
        "spec: {podSelector: {}, policyTypes: [Ingress]}",
        "---",
        "apiVersion: networking.k8s.io/v1",
        "kind: NetworkPolicy",
        "metadata: {name: frontend-http, namespace: online-boutique}",
        "spec:",
        "  podSelector: {matchLabels: {app: frontend}}",
        "  ingress: [{ports: [{port: http}]}]",
        "---",
        "apiVersion: apps/v1",
        "kind: Deployment",
        "metadata: {name: frontend, namespace: online-boutique}",
        "spec:",
        "  selector: {matchLabels: {app: frontend}}",
        "  template:",
        "    metadata: {labels: {app: frontend}}",
        "    spec: {containers: [{name: server, image: frontend, ports: [{name: http, containerPort: 8080}]}]}",
        "",
      ].join("\n"),
    );
    const d = runCli(["diff", "--db", db, "--policies", folder, "-o", "json"]);
    expect(d.code, d.stderr).toBe(0);
    const diff = JSON.parse(d.stdout) as {
      edges: Array<{ status: string; source: string; destination: string; protocol: string; port: number }>;
      rules: Array<{ namespace: string; policy: string; direction: string; index: number; unused: boolean }>;
    };
    const deniedByDiff = diff.edges
      .filter((e) => e.status === "denied")
      .map((e) => `${e.source} ${e.destination} ${e.port}/${e.protocol}`);
    const unusedByDiff = diff.rules
      .filter((u) => u.unused)
      .map((u) => `${u.namespace}/${u.policy} ${u.direction}[${u.index}]`);

    const r = runCli(["report", "--db", db, "--policies", folder]);
    expect(r.code, r.stderr).toBe(0);
    const section = r.stdout.slice(r.stdout.indexOf("### Observed connections the declared policies would deny"));
    const deniedByReport = section
      .slice(0, section.indexOf("### Declared rules that nothing used"))
      .split("\n")
      .filter((l) => /^\| [^-|]/.test(l) && !l.startsWith("| from "))
      .map((l) => l.split(" | ").slice(0, 3).join(" ").replace(/^\| /, ""));
    const unusedByReport = [...section.matchAll(/^- `([^`]+)`$/gm)].map((m) => m[1]);

    expect(deniedByDiff.length).toBeGreaterThan(0);
    // The frontend's callers on 8080 (the named port) are allowed by both.
    expect(deniedByDiff.filter((e) => e.includes("frontend[Deployment] 8080/TCP"))).toEqual([]);
    expect(deniedByReport.sort()).toEqual(deniedByDiff.sort());
    expect(unusedByReport.sort()).toEqual(unusedByDiff.sort());
  });
});

describe("flowpol report (html) in headless Chromium", () => {
  it("draws the graph with one node per endpoint, no console errors and no network", async () => {
    const out = join(tmp.dir, "report.html");
    const r = runCli(["report", "--db", db, "-o", "html", "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const problems: string[] = [];
      const requests: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
      page.on("request", (req) => requests.push(req.url()));
      await page.goto(pathToFileURL(out).href);
      await page.waitForSelector("body[data-graph-nodes]");
      const drawn = await page.locator("#graph g.node").count();
      expect(drawn).toBe(expectedNodeCount());
      expect(await page.locator("#graph path.link").count()).toBeGreaterThan(0);
      // Clicking a node highlights its flows and lists them, with ports, counts and verdicts.
      await page.locator('#graph g.node:has(title:text-is("online-boutique/frontend"))').click();
      expect(await page.locator("#graph path.link.hot").count()).toBeGreaterThan(3);
      const flows = await page.locator("#graph-panel tr.flow").allTextContents();
      expect(flows.length).toBeGreaterThan(5);
      expect(flows).toContain("\u2190online-boutique/loadgenerator8080/TCP350allowed");
      expect(flows.some((f) => f.startsWith("\u2190198.51.100.23") && f.endsWith("denied"))).toBe(true);
      await page.locator("#graph-search").fill("coredns");
      expect(await page.locator("#graph g.node:not(.dim)").count()).toBe(1);
      await page.locator("#graph-search").fill("");
      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, "report-online-boutique.png");
      await page.locator("#graph-wrap").screenshot({ path: shot });
      await page.screenshot({ path: join(tmp.dir, "report-full.png"), fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      expect(problems).toEqual([]);
      expect(requests.filter((u) => !u.startsWith("file:"))).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it("escapes names so that no flow data becomes markup", () => {
    const out = join(tmp.dir, "escaped.html");
    expect(runCli(["report", "--db", db, "-o", "html", "--out", out]).code).toBe(0);
    const html = readFileSync(out, "utf8");
    const data = html.slice(
      html.indexOf('id="graph-data">'),
      html.indexOf("</script>", html.indexOf('id="graph-data">')),
    );
    expect(data).not.toMatch(/<\//);
    expect(html).toContain("default-src 'none'");
  });
});

describe("flowpol report refuses bad input", () => {
  it.each([
    ["an unknown -o", ["-o", "pdf"], 2, /-o "pdf" is not an output format of this command/],
    [
      "a store that does not exist",
      ["--db", "/nonexistent/flowpol.db"],
      1,
      /no flowpol store at \/nonexistent\/flowpol\.db/,
    ],
    [
      "a --policies path that does not exist",
      ["--policies", "/nonexistent.yaml"],
      1,
      /no such file or folder: \/nonexistent\.yaml/,
    ],
  ])("%s", (_, args, code, message) => {
    const r = runCli(["report", "--db", db, ...args]);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(code);
  });

  it("leaves no partial file when --out cannot be written", () => {
    const folder = join(tmp.dir, "missing");
    const r = runCli(["report", "--db", db, "--out", join(folder, "r.md")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("cannot write");
    expect(existsSync(folder)).toBe(false);
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});
