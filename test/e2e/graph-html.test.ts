/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { REPO_ROOT, tempDir } from "../helpers/paths.js";

/**
 * The graph pages (`graph --format html` and the report's graph, one drawing) in headless Chromium
 * at a 1400 px window: every node and edge inside the drawing, nothing wider than the window, the
 * main namespace in view, a flow list on click; Calico's `pub` and `pvt` as two peers.
 */

const HUBBLE = join(REPO_ROOT, "samples/online-boutique/hubble.jsonl.gz");
const CALICO = join(REPO_ROOT, "samples/online-boutique/calico-flows.log.gz");
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--no-first-run",
];

let tmp: { dir: string; cleanup: () => void };
let browser: Browser;
const stores: Record<"hubble" | "calico", string> = { hubble: "", calico: "" };

beforeAll(async () => {
  tmp = tempDir("flowpol-graph-html-");
  for (const [name, input] of [
    ["hubble", HUBBLE],
    ["calico", CALICO],
  ] as const) {
    stores[name] = join(tmp.dir, `${name}.db`);
    const r = runCli(["ingest", "--db", stores[name], input]);
    expect(r.code, r.stderr).toBe(0);
  }
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  tmp.cleanup();
});

function page(kind: "graph" | "report", store: "hubble" | "calico"): string {
  const out = join(tmp.dir, `${kind}-${store}.html`);
  const args =
    kind === "graph"
      ? ["graph", "--db", stores[store], "--exclude-namespace", "", "-o", "html", "--out", out]
      : ["report", "--db", stores[store], "-o", "html", "--out", out];
  const r = runCli(args);
  expect(r.code, r.stderr).toBe(0);
  return out;
}

async function open(file: string): Promise<{ p: Page; problems: string[] }> {
  const p = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems: string[] = [];
  p.on("pageerror", (e) => problems.push(e.message));
  p.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  await p.goto(pathToFileURL(file).href);
  await p.waitForSelector("body[data-graph-nodes]");
  return { p, problems };
}

/** Shapes outside the drawing's own coordinates (its viewBox), by kind and name. */
function outside(p: Page) {
  return p.evaluate(() => {
    const svg = document.getElementById("graph") as unknown as SVGSVGElement;
    const vb = svg.viewBox.baseVal;
    const out: string[] = [];
    const check = (what: string, el: SVGGraphicsElement) => {
      const b = el.getBBox();
      const m = el.getCTM();
      const root = svg.getCTM();
      // Translate the element's box into the drawing's coordinates (only translations are used).
      const dx = m && root ? (m.e - root.e) / root.a : 0;
      const dy = m && root ? (m.f - root.f) / root.d : 0;
      const x = b.x + dx;
      const y = b.y + dy;
      if (
        x < vb.x - 0.5 ||
        y < vb.y - 0.5 ||
        x + b.width > vb.x + vb.width + 0.5 ||
        y + b.height > vb.y + vb.height + 0.5
      )
        out.push(
          `${what} ${el.textContent?.slice(0, 60)}: ${x},${y} ${b.width}x${b.height} outside ${vb.width}x${vb.height}`,
        );
    };
    for (const g of svg.querySelectorAll("g.node")) check("node", g as SVGGraphicsElement);
    for (const g of svg.querySelectorAll("g.edge")) check("edge", g as SVGGraphicsElement);
    for (const g of svg.querySelectorAll("g.group")) check("group", g as SVGGraphicsElement);
    return out;
  });
}

describe.each([
  ["graph", "hubble"],
  ["report", "hubble"],
  ["graph", "calico"],
] as const)("the %s page of the %s sample in a 1400 px window", (kind, store) => {
  let file: string;
  beforeAll(() => {
    file = page(kind, store);
  });

  it("keeps every node, edge and namespace inside the drawing, and the page within the window", async () => {
    const { p, problems } = await open(file);
    try {
      expect(await p.locator("#graph g.node").count()).toBeGreaterThan(10);
      expect(await outside(p)).toEqual([]);
      const width = await p.evaluate(() => document.documentElement.scrollWidth);
      expect(width).toBeLessThanOrEqual(1400);
      // The main namespace is in view as the page opens: no scrolling sideways to find it.
      const seen = await p.evaluate(() => {
        const wrap = (document.getElementById("graph-wrap") as HTMLElement).getBoundingClientRect();
        const group = [...document.querySelectorAll("#graph g.group")].find(
          (g) => g.querySelector("text")?.textContent === "online-boutique",
        );
        const box = group?.getBoundingClientRect();
        return box ? box.left >= wrap.left && box.right <= wrap.right : false;
      });
      expect(seen).toBe(true);
      expect(problems).toEqual([]);
    } finally {
      await p.close();
    }
  });

  it("lists a node's flows (peer, port, count, verdict) in the side panel on click", async () => {
    const { p } = await open(file);
    try {
      await p.locator('#graph g.node:has(title:text-is("online-boutique/checkoutservice"))').click();
      await expect.poll(() => p.locator("#graph-panel tr.flow").count()).toBeGreaterThan(4);
      expect(await p.locator("#graph-panel h3").textContent()).toBe("online-boutique/checkoutservice");
      const rows = await p
        .locator("#graph-panel tr.flow")
        .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
      expect(rows).toContainEqual([
        "\u2190",
        "online-boutique/frontend",
        "5050/TCP",
        expect.stringMatching(/^\d+$/),
        "allowed",
      ]);
      expect(rows).toContainEqual([
        "\u2192",
        "online-boutique/paymentservice",
        "50051/TCP",
        expect.stringMatching(/^\d+$/),
        "allowed",
      ]);
      // Ports and counts are drawn on the edges, not only in tooltips.
      const labels = await p.locator("#graph text.elabel").allTextContents();
      expect(labels.some((l) => /^50051\/TCP · \d+$/.test(l))).toBe(true);
    } finally {
      await p.close();
    }
  });
});

describe("graph pages", () => {
  it("draw Calico's aggregated pub and pvt as the public internet and the private network, never both 'world'", async () => {
    const { p } = await open(page("graph", "calico"));
    try {
      const titles = await p.locator("#graph g.node > title").allTextContents();
      expect(titles).toContain("public internet");
      expect(titles).toContain("private network");
      expect(titles).not.toContain("world");
    } finally {
      await p.close();
    }
  });

  // Four runs of the CLI, each laying out with ELK: slow on a loaded machine.
  it("are byte-identical from run to run", { timeout: 240_000 }, () => {
    for (const kind of ["graph", "report"] as const) {
      const first = readFileSync(page(kind, "hubble"), "utf8");
      expect(readFileSync(page(kind, "hubble"), "utf8")).toBe(first);
    }
  });
});
