import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { git } from "../helpers/git-repo.js";
import { REPO_ROOT, tempDir } from "../helpers/paths.js";

/**
 * The demo's rollout, replayed: samples/demo.sh as a user runs it, then every wave commit of the
 * branch it made checked out and judged by `flowpol diff` over the demo's store. No wave may deny
 * an observed connection that the final state allows.
 */
const BRANCH = "flowpol/network-policies";
let tmp: ReturnType<typeof tempDir>;
let out: string;

interface DiffJson {
  edges: Array<{ status: string; source: string; destination: string; protocol: string; port: number }>;
}

function deniedAt(commit: string): Set<string> {
  const dir = join(tmp.dir, `wave-${commit}`);
  mkdirSync(dir, { recursive: true });
  rmSync(join(dir, "policies"), { recursive: true, force: true });
  const archive = execFileSync("git", ["-C", join(out, "gitops"), "archive", commit, "policies"]);
  execFileSync("tar", ["-x", "-C", dir], { input: archive });
  const r = runCli(["diff", "--db", join(out, "flowpol.db"), "--policies", join(dir, "policies"), "-o", "json"]);
  expect(r.code, r.stderr).toBe(0);
  const edges = (JSON.parse(r.stdout) as DiffJson).edges;
  return new Set(
    edges.filter((e) => e.status === "denied").map((e) => `${e.source} -> ${e.destination} ${e.protocol}/${e.port}`),
  );
}

beforeAll(() => {
  tmp = tempDir("flowpol-demo-");
  out = join(tmp.dir, "out");
  execFileSync("bash", [join(REPO_ROOT, "samples/demo.sh")], {
    cwd: REPO_ROOT,
    env: { ...process.env, FLOWPOL_DEMO_OUT: out },
    stdio: "ignore",
  });
}, 120_000);
afterAll(() => tmp.cleanup());

describe("the demo's rollout", () => {
  it("denies, at no wave commit, an observed connection that the final state allows", () => {
    const gitops = join(out, "gitops");
    const commits = git(gitops, "rev-list", "--reverse", `main..${BRANCH}`).split("\n");
    const waves = commits.map((c) => git(gitops, "log", "-1", "--format=%(trailers:key=Flowpol-Wave,valueonly)", c));
    expect(waves).toEqual(["1", "2", "3.1", "3.2", "3.3", "4.1", "4.2", "4.3"]);
    const final = deniedAt(commits[commits.length - 1]!);
    // The final state denies only the cloud metadata call, which generate lists with its reason.
    expect([...final]).toEqual(["online-boutique/adservice[Deployment] -> 169.254.169.254 TCP/80"]);
    for (const [i, commit] of commits.entries()) {
      const extra = [...deniedAt(commit)].filter((d) => !final.has(d));
      expect(extra, `wave ${waves[i]} denies what the final state allows`).toEqual([]);
    }
  });

  it("says so in the pull request, wave by wave, computed by the same verdict", () => {
    const text = readFileSync(join(out, "PULL_REQUEST.md"), "utf8");
    for (const wave of ["1", "2", "3.1", "3.2", "3.3", "4.1", "4.2", "4.3"]) {
      expect(text).toContain(`- wave ${wave}: 0 observed connection(s) denied that the final state allows`);
    }
  });
});
