import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { runCli } from "../helpers/cli.js";
import { ghStub, git, makeRepo, repoSnapshot } from "../helpers/git-repo.js";
import { expectGolden } from "../helpers/golden.js";
import { REPO_ROOT, tempDir } from "../helpers/paths.js";

const GENERATED = join(REPO_ROOT, "test/fixtures/rollout/generated");
const BRANCH = "flowpol/network-policies";

let tmp: { dir: string; cleanup: () => void };
let repo: string;
let remote: string;
let from: string;

beforeEach(() => {
  tmp = tempDir("flowpol-rollout-");
  ({ repo, remote } = makeRepo(tmp.dir, {
    "README.md": "# gitops\n",
    "policies/README.md": "hand-written notes\n",
    "policies/legacy/allow-all.yaml":
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-all\n  namespace: legacy\nspec:\n  podSelector: {}\n  ingress:\n    - {}\n",
  }));
  from = join(tmp.dir, "generated");
  cpSync(GENERATED, from, { recursive: true });
});
afterEach(() => tmp.cleanup());

function rollout(...args: string[]) {
  return runCli(["rollout", "--repo", repo, "--from", from, "--no-db", "-o", "markdown", ...args], {
    env: { FLOWPOL_DB: "" },
  });
}

function subjects(ref = BRANCH, base = "main"): string[] {
  return git(repo, "log", "--reverse", "--format=%s", `${base}..${ref}`).split("\n").filter(Boolean);
}

function show(path: string, ref = BRANCH): string {
  return git(repo, "show", `${ref}:${path}`);
}

describe("flowpol rollout", () => {
  it("commits the waves in order on a new branch without touching the checkout", () => {
    const r = rollout();
    expect(r.stderr).toContain(`created ${BRANCH} from main: 6 commit(s)`);
    expect(r.code).toBe(0);
    expect(subjects()).toEqual([
      "flowpol: wave 1 observe: the report, the plan and non-enforcing policies",
      "flowpol: wave 2 allow: the observed flows into selected workloads",
      "flowpol: wave 3.1 deny ingress in payments: default-deny and namespace-wide exceptions",
      "flowpol: wave 3.2 deny ingress in shop: ingress allows, default-deny and namespace-wide exceptions",
      "flowpol: wave 4.1 deny egress in payments: egress allows, DNS and default-deny",
      "flowpol: wave 4.2 deny egress in shop: egress allows, DNS and default-deny",
    ]);
    // The user's checkout stays on main, clean.
    expect(git(repo, "symbolic-ref", "HEAD")).toBe("refs/heads/main");
    expect(git(repo, "status", "--porcelain")).toBe("");
    // Wave 2 holds only ingress allows that select particular pods, in namespaces without a
    // namespace-wide ingress exception: shop's allow waits for its ingress-nginx exception (3.2).
    expect(git(repo, "show", "--name-only", "--format=", `${BRANCH}~4`).split("\n").sort()).toEqual([
      "policies/payments/allow-checkout-to-payments.yaml",
      "policies/payments/kustomization.yaml",
      "policies/shop/EVIDENCE.md",
    ]);
    expect(git(repo, "show", "--name-only", "--format=", `${BRANCH}~2`).split("\n").sort()).toEqual([
      "policies/shop/allow-frontend-to-cartservice-ingress.yaml",
      "policies/shop/allow-ingress-nginx-to-shop.yaml",
      "policies/shop/default-deny-ingress.yaml",
      "policies/shop/kustomization.yaml",
    ]);
    // The default-deny for both directions was split; its ingress half is in wave 3.
    expect(show("policies/shop/default-deny-ingress.yaml")).toContain("name: default-deny-ingress");
    expect(show("policies/shop/default-deny-ingress.yaml")).not.toContain("Egress");
    expect(show("policies/shop/default-deny-egress.yaml")).not.toContain("Ingress");
  });

  it("keeps unmanaged files byte-identical and labels every managed object", () => {
    expect(rollout().code).toBe(0);
    expect(show("policies/README.md")).toBe("hand-written notes");
    expect(
      git(repo, "diff", "--stat", `main..${BRANCH}`, "--", "policies/legacy", "policies/README.md", "README.md"),
    ).toBe("");
    const files = git(repo, "ls-tree", "-r", "--name-only", BRANCH, "--", "policies/shop", "policies/payments").split(
      "\n",
    );
    for (const f of files.filter((p) => p.endsWith(".yaml"))) {
      for (const doc of parseAllDocuments(show(f)) as Array<{ toJS(): Record<string, unknown> }>) {
        const o = doc.toJS() as {
          kind: string;
          metadata?: { labels?: Record<string, string> };
          labels?: Array<{ pairs: Record<string, string> }>;
        };
        const label =
          o.kind === "Kustomization"
            ? o.labels?.[0]?.pairs["app.kubernetes.io/managed-by"]
            : o.metadata?.labels?.["app.kubernetes.io/managed-by"];
        expect(label, f).toBe("flowpol");
      }
    }
  });

  it("prints the pull request text and commits the same text as PULL_REQUEST.md", () => {
    const r = rollout();
    expect(r.code).toBe(0);
    expect(show("policies/PULL_REQUEST.md")).toBe(r.stdout.trimEnd());
    expectGolden(r.stdout, join(REPO_ROOT, "test/golden/rollout/pull-request-no-store.md"));
    expect(r.stdout).toContain("### Wave 3.2: deny ingress in shop");
    expect(r.stdout).toContain(
      "- Roll back: `kubectl delete -f policies/shop/allow-frontend-to-cartservice-ingress.yaml -f policies/shop/allow-ingress-nginx-to-shop.yaml -f policies/shop/default-deny-ingress.yaml`",
    );
    expect(r.stdout).toMatch(/\| shop \| NetworkPolicy `allow-dns` \| Egress \| cluster DNS/);
    expect(r.stdout).toMatch(/\| shop \| NetworkPolicy `allow-ingress-nginx-to-shop` \| Ingress \|/);
  });

  it("makes no commit when run again with nothing new", () => {
    expect(rollout().code).toBe(0);
    const tip = git(repo, "rev-parse", BRANCH);
    const again = rollout();
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("is up to date: nothing changed, no commit made");
    expect(git(repo, "rev-parse", BRANCH)).toBe(tip);
  });

  it("adds commits with only what changed when the flows changed", () => {
    expect(rollout().code).toBe(0);
    const tip = git(repo, "rev-parse", BRANCH);
    writeFileSync(
      join(from, "payments/allow-fraud-to-payments.yaml"),
      readFileSync(join(from, "payments/allow-checkout-to-payments.yaml"), "utf8")
        .replaceAll("allow-checkout-to-payments", "allow-fraud-to-payments")
        .replace("app: checkout", "app: fraud"),
    );
    rmSync(join(from, "shop/allow-ingress-nginx-to-shop.yaml"));
    const r = rollout();
    expect(r.code).toBe(0);
    expect(subjects(BRANCH, tip)).toEqual([
      "flowpol: update wave 1 observe: the report, the plan and non-enforcing policies",
      "flowpol: update wave 2 allow: the observed flows into selected workloads",
      "flowpol: update wave 3.2 deny ingress in shop: default-deny and namespace-wide exceptions",
    ]);
    expect(git(repo, "diff", "--no-renames", "--name-status", tip, BRANCH).split("\n").sort()).toEqual([
      "A\tpolicies/payments/allow-fraud-to-payments.yaml",
      "D\tpolicies/shop/allow-ingress-nginx-to-shop.yaml",
      "M\tpolicies/PULL_REQUEST.md",
      "M\tpolicies/payments/kustomization.yaml",
      "M\tpolicies/shop/kustomization.yaml",
    ]);
  });

  it("puts Calico staged policies in the non-enforcing first wave", () => {
    writeFileSync(
      join(from, "shop/staged-default-deny.yaml"),
      "apiVersion: projectcalico.org/v3\nkind: StagedKubernetesNetworkPolicy\nmetadata:\n  name: default-deny\n  namespace: shop\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n",
    );
    expect(rollout().code).toBe(0);
    expect(git(repo, "show", "--name-only", "--format=", `${BRANCH}~5`).split("\n")).toContain(
      "policies/shop/staged-default-deny.yaml",
    );
    expect(show("policies/shop/staged-default-deny.yaml")).toContain("app.kubernetes.io/managed-by: flowpol");
  });

  it("orders the deny-ingress steps as --wave-order says", () => {
    expect(rollout("--wave-order", "shop,payments").code).toBe(0);
    expect(subjects()[2]).toBe(
      "flowpol: wave 3.1 deny ingress in shop: ingress allows, default-deny and namespace-wide exceptions",
    );
  });

  it("with --wave 2 writes only waves 1 and 2 on a branch of their own", () => {
    const r = rollout("--wave", "2");
    expect(r.code).toBe(0);
    expect(subjects(`${BRANCH}-wave-2`)).toEqual([
      "flowpol: wave 1 observe: the report, the plan and non-enforcing policies",
      "flowpol: wave 2 allow: the observed flows into selected workloads",
    ]);
    expect(git(repo, "ls-tree", "-r", "--name-only", `${BRANCH}-wave-2`, "--", "policies/shop")).not.toContain(
      "default-deny",
    );
  });

  it("pushes the branch to the remote with --push", () => {
    const r = rollout("--push", "origin");
    expect(r.code).toBe(0);
    expect(git(remote, "rev-parse", `refs/heads/${BRANCH}`)).toBe(git(repo, "rev-parse", BRANCH));
  });

  it("pushes nothing without --push", () => {
    expect(rollout().code).toBe(0);
    expect(git(remote, "for-each-ref", "--format=%(refname)")).toBe("refs/heads/main");
  });

  it("prints a short summary by default, and writes the pull request text to --out", () => {
    const file = join(tmp.dir, "PR.md");
    const r = runCli(["rollout", "--repo", repo, "--from", from, "--no-db", "--out", file], {
      env: { FLOWPOL_DB: "" },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`created ${BRANCH} from main: 6 commit(s)`);
    expect(r.stdout).toContain(`pull request text: ${BRANCH}:policies/PULL_REQUEST.md and in ${file}`);
    expect(r.stdout.split("\n").length).toBeLessThan(12);
    expect(r.stdout).not.toContain("## Waves");
    expect(readFileSync(file, "utf8").trimEnd()).toBe(show("policies/PULL_REQUEST.md"));
  });

  it("-o json gives the branch and its commits", () => {
    const r = runCli(["rollout", "--repo", repo, "--from", from, "--no-db", "-o", "json"], { env: { FLOWPOL_DB: "" } });
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { branch: string; updated: boolean; commits: Array<{ step: string }> };
    expect(json.branch).toBe(BRANCH);
    expect(json.updated).toBe(false);
    expect(json.commits.map((c) => c.step)).toEqual(["1", "2", "3.1", "3.2", "4.1", "4.2"]);
  });

  it("opens the pull request with gh when it is signed in (gh is a stub)", () => {
    const bin = join(tmp.dir, "bin");
    const log = join(tmp.dir, "gh.log");
    ghStub(bin, log, true);
    const r = runCli(["rollout", "--repo", repo, "--from", from, "--no-db", "--push", "origin", "--open"], {
      env: { PATH: `${bin}:${process.env.PATH}` },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("opened https://github.com/example/gitops/pull/1");
    const calls = readFileSync(log, "utf8").trim().split("\n\n");
    expect(calls[0]).toBe("auth\nstatus");
    const args = calls[1]!.split("\n");
    expect(args.slice(0, 6)).toEqual(["pr", "create", "--base", "main", "--head", BRANCH]);
    expect(args[6]).toBe("--title");
    expect(args[7]).toBe("NetworkPolicies for 2 namespace(s), staged in 6 step(s) (flowpol)");
    expect(args[8]).toBe("--body-file");
  });

  it.each([
    ["signed out", true],
    ["not installed", false],
  ])("prints the exact gh command when gh is %s", (_, installed) => {
    const bin = join(tmp.dir, "bin");
    if (installed) ghStub(bin, join(tmp.dir, "gh.log"), false);
    const r = runCli(["rollout", "--repo", repo, "--from", from, "--no-db", "--open"], {
      env: { PATH: installed ? `${bin}:${process.env.PATH}` : (process.env.PATH ?? "") },
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `git -C ${git(repo, "rev-parse", "--show-toplevel")} show ${BRANCH}:policies/PULL_REQUEST.md | gh pr create --base main --head ${BRANCH} --title 'NetworkPolicies for 2 namespace(s), staged in 6 step(s) (flowpol)' --body-file -`,
    );
  });

  it("fills a user's own template", () => {
    const template = join(tmp.dir, "pr.md");
    writeFileSync(template, "# Our policy change\n\n{{summary}}\n");
    const r = rollout("--template", template);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n").slice(1, 3)).toEqual(["# Our policy change", ""]);
    expect(r.stdout).not.toContain("## Waves");
  });
});

describe("flowpol rollout refuses and changes nothing", () => {
  const cases: Array<[string, () => string[], RegExp, number]> = [
    ["when --repo is not a git repository", () => ["--repo", tmp.dir], /is not a git repository/, 2],
    [
      "when --path is outside the repository",
      () => ["--path", "../elsewhere"],
      /--path \.\.\/elsewhere is outside the repository/,
      2,
    ],
    ["when --path is an absolute path outside", () => ["--path", "/tmp"], /is outside the repository/, 2],
    ["when --path points into .git", () => ["--path", ".git/hooks"], /is inside git's own folder/, 2],
    ["when --path points into .GIT (any case)", () => ["--path", ".GIT/hooks"], /is inside git's own folder/, 2],
    ["when --path has .Git further down", () => ["--path", "policies/.Git"], /is inside git's own folder/, 2],
    ["when --branch is the checked-out main", () => ["--branch", "main"], /--branch main is checked out in/, 2],
    [
      "when --branch is a full ref name",
      () => ["--branch", "refs/heads/main"],
      /--branch refs\/heads\/main is not a valid branch name/,
      2,
    ],
    ["when --branch is HEAD", () => ["--branch", "HEAD"], /--branch HEAD is not a valid branch name/, 2],
    [
      "when --wave-order names a namespace without policies",
      () => ["--wave-order", "shop,nope"],
      /--wave-order names nope/,
      2,
    ],
    ["when --wave is not 1 to 4", () => ["--wave", "5"], /--wave 5 is not a wave/, 2],
    ["when the base does not exist", () => ["--base", "trunk"], /the base trunk is not a branch/, 2],
    ["when --push names no remote", () => ["--push", "upstream"], /--push upstream is not a remote/, 2],
  ];
  it.each(cases)("%s", (_, args, message, code) => {
    const before = repoSnapshot(repo);
    const r = runCli(["rollout", "--repo", repo, "--from", from, "--no-db", ...args()]);
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(code);
    expect(repoSnapshot(repo)).toBe(before);
  });

  it("when --branch is the base", () => {
    git(repo, "branch", "release");
    const before = repoSnapshot(repo);
    const r = rollout("--base", "release", "--branch", "release");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--branch release is the base branch");
    expect(repoSnapshot(repo)).toBe(before);
  });

  it("when the branch is checked out in the repository", () => {
    expect(rollout().code).toBe(0);
    git(repo, "checkout", "--quiet", BRANCH);
    const before = repoSnapshot(repo);
    const r = rollout();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--branch ${BRANCH} is checked out in`);
    expect(repoSnapshot(repo)).toBe(before);
  });

  it("when a generated file would replace or go through a committed symlink", () => {
    const { repo: other } = makeRepo(join(tmp.dir, "other"), { "elsewhere/keep.txt": "x\n" });
    symlinkSync("../elsewhere", join(other, "policies-shop"));
    mkdirSync(join(other, "policies"));
    symlinkSync("../elsewhere", join(other, "policies/shop"));
    git(other, "add", "-A");
    git(other, "commit", "--quiet", "-m", "links");
    const before = repoSnapshot(other);
    const r = runCli(["rollout", "--repo", other, "--from", from, "--no-db"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/would replace or go through a committed symlink or submodule: policies\/shop\//);
    expect(repoSnapshot(other)).toBe(before);
  });

  it("when the working tree is dirty", () => {
    writeFileSync(join(repo, "README.md"), "changed\n");
    const before = repoSnapshot(repo);
    const r = rollout();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("has uncommitted changes");
    expect(r.stderr).toContain("git stash -u");
    expect(repoSnapshot(repo)).toBe(before);
  });

  it("when the branch has a commit flowpol did not make", () => {
    expect(rollout().code).toBe(0);
    git(repo, "checkout", "--quiet", BRANCH);
    writeFileSync(join(repo, "policies/shop/EVIDENCE.md"), "edited by hand\n");
    git(repo, "commit", "--quiet", "-am", "hand edit");
    git(repo, "checkout", "--quiet", "main");
    const before = repoSnapshot(repo);
    const r = rollout();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has 1 commit\(s\) flowpol did not make/);
    expect(repoSnapshot(repo)).toBe(before);
  });

  it("when a generated file would overwrite a file flowpol does not manage", () => {
    const { repo: other } = makeRepo(join(tmp.dir, "other"), { "policies/shop/allow-dns.yaml": "# ours\n" });
    const before = repoSnapshot(other);
    const r = runCli(["rollout", "--repo", other, "--from", from, "--no-db"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("policies/shop/allow-dns.yaml");
    expect(r.stderr).toContain("not managed by flowpol");
    expect(repoSnapshot(other)).toBe(before);
  });

  it("when the template has an unknown placeholder", () => {
    const template = join(tmp.dir, "pr.md");
    writeFileSync(template, "# PR\n\n{{sumary}}\n");
    const before = repoSnapshot(repo);
    const r = rollout("--template", template);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${template}:3: unknown placeholder {{sumary}}`);
    expect(repoSnapshot(repo)).toBe(before);
  });

  it("when the policy folder holds a kind it cannot place", () => {
    writeFileSync(join(from, "shop/configmap.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n");
    const before = repoSnapshot(repo);
    const r = rollout();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "shop/configmap.yaml (document 1): flowpol rollout does not know which wave a ConfigMap",
    );
    expect(repoSnapshot(repo)).toBe(before);
    expect(existsSync(join(repo, "policies/shop"))).toBe(false);
  });
});

describe("flowpol rollout from the store", () => {
  const SAMPLE = join(REPO_ROOT, "samples/online-boutique/hubble.jsonl.gz");

  it("generates the policies, commits the report, and replays the flows through proposal plus declared policies", () => {
    const db = join(tmp.dir, "flowpol.db");
    expect(runCli(["ingest", "--db", db, SAMPLE]).code).toBe(0);
    const { repo: gitops } = makeRepo(join(tmp.dir, "store-case"), {
      "apps/shop/netpol.yaml":
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: legacy-allow-9999\n  namespace: online-boutique\nspec:\n  podSelector: {}\n  ingress:\n    - ports:\n        - port: 9999\n",
    });
    const r = runCli(["rollout", "--repo", gitops, "--db", db, "-o", "markdown"]);
    expect(r.code, r.stderr).toBe(0);
    expect(git(gitops, "show", `${BRANCH}:policies/REPORT.md`)).toContain("# flowpol discovery report");
    expect(git(gitops, "ls-tree", "--name-only", BRANCH, "policies/online-boutique/")).toContain(
      "default-deny-ingress.yaml",
    );
    // Only the cloud metadata call, which synthesis deliberately does not allow, would be denied.
    expect(r.stdout).toMatch(
      /## Flows this proposal would deny\n\nJudged \d+ observed connection\(s\)[^\n]*\*\*1 would be denied:\*\*/,
    );
    expect(r.stdout).toContain("| online-boutique/adservice[Deployment] | 169.254.169.254 | 80/TCP | 2 | egress |");
    // Every wave replayed: none breaks what the final state allows.
    const waves = r.stdout.split("\n").filter((l) => l.startsWith("- wave "));
    expect(waves.length).toBeGreaterThan(4);
    for (const w of waves)
      expect(w).toMatch(/^- wave [\d.]+: 0 observed connection\(s\) denied that the final state allows/);
    expect(r.stderr).not.toContain("warning: wave");
    // The hand-written rule outside --path is declared and nothing uses it.
    expect(r.stdout).toContain("- `online-boutique/legacy-allow-9999 ingress[0]`");
    expect(r.stdout).toContain(
      "| online-boutique | NetworkPolicy `allow-ingress-from-prometheus` | Ingress | shared service prometheus: Prometheus-style metrics scraper |",
    );
    expect(r.stdout).toContain("```mermaid\nflowchart LR");
    const again = runCli(["rollout", "--repo", gitops, "--db", db, "-o", "markdown"]);
    expect(again.stderr).toContain("is up to date");
  });

  it("with --catalog generates what `generate --catalog` writes, and classifies the report with it", () => {
    const db = join(tmp.dir, "flowpol.db");
    expect(runCli(["ingest", "--db", db, SAMPLE]).code).toBe(0);
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
    const generated = join(tmp.dir, "with-catalog");
    expect(runCli(["generate", "--db", db, "--catalog", catalog, "--out", generated]).code).toBe(0);
    const expected = readdirSync(join(generated, "online-boutique")).filter((f) => f.endsWith(".yaml"));
    expect(expected.some((f) => f.includes("product-catalog"))).toBe(true);
    const { repo: gitops } = makeRepo(join(tmp.dir, "catalog-case"), { "README.md": "# gitops\n" });
    const r = runCli(["rollout", "--repo", gitops, "--db", db, "--catalog", catalog, "-o", "markdown"]);
    expect(r.code, r.stderr).toBe(0);
    // The same policies, but for the default-deny, which rollout splits into its two directions.
    const allows = (files: string[]) =>
      files.filter((f) => f.endsWith(".yaml") && !f.startsWith("default-deny")).sort();
    const committed = git(gitops, "ls-tree", "--name-only", BRANCH, "policies/online-boutique/")
      .split("\n")
      .map((p) => p.replace("policies/online-boutique/", ""));
    expect(allows(committed)).toEqual(allows(expected));
    expect(git(gitops, "show", `${BRANCH}:policies/REPORT.md`)).toMatch(/\| product-catalog \(catalog\) \|/);
    const noDb = runCli(["rollout", "--repo", gitops, "--from", generated, "--no-db", "--catalog", catalog]);
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toContain("--catalog");
  });
});
