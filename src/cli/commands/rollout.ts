import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Observed } from "../../diff/observed.js";
import { CheckFailedError, InputError, UsageError } from "../../errors.js";
import { DEFAULT_SHARED_MIN_NAMESPACES } from "../../graph/index.js";
import { MANAGED_MARKDOWN_MARKER } from "../../model/labels.js";
import { buildTopology } from "../../policy/objects.js";
import type { NetworkPolicy } from "../../policy/types.js";
import { type Manifests, parseManifestText } from "../../policy-io/read-manifests.js";
import { graphMermaid } from "../../render/index.js";
import { analyze, type Findings } from "../../report/findings.js";
import { reportMarkdown } from "../../report/markdown.js";
import { replay } from "../../report/policy-verdicts.js";
import { unusedRulesMarkdown, wouldDenyMarkdown } from "../../report/policy-verdicts-text.js";
import { sharedServiceRows } from "../../report/shared.js";
import { isKustomizationPath, placeFiles } from "../../rollout/classify.js";
import { commitSteps } from "../../rollout/commit-steps.js";
import { Git } from "../../rollout/git.js";
import { openPullRequest } from "../../rollout/github.js";
import { isManagedFile } from "../../rollout/managed.js";
import { planSteps } from "../../rollout/plan.js";
import type { PlacedFile, PolicyFile } from "../../rollout/policy-set.js";
import { pullRequestText, pullRequestTitle, type ReplaySections } from "../../rollout/pull-request.js";
import { readPolicyDir } from "../../rollout/read-policy-dir.js";
import { inspectRepository, readTreeFiles, readTreeLinks } from "../../rollout/repository.js";
import { replayWaves, type WaveState, waveReplayMarkdown } from "../../rollout/wave-verdicts.js";
import { defaultSynthOptions, FLAVORS, type Flavor, synthesizeSound } from "../../synth/index.js";
import { loadGraph } from "../load-graph.js";
import { type Output, writeLine } from "../output.js";
import { readingStore } from "../read-store.js";
import { wholeGraph } from "./report.js";

export interface RolloutOptions {
  repo: string;
  path: string;
  base: string;
  branch: string | undefined;
  /** Only waves 1..N, on a branch of their own. */
  wave: number | undefined;
  waveOrder: string[] | undefined;
  egressOrder: string[] | undefined;
  /** A folder written by `flowpol generate --out`; undefined: generate from the store. */
  from: string | undefined;
  /** The flavor when generating from the store. */
  flavor: string;
  /** The store, for the evidence, the report and the namespace order; undefined: none. */
  db: string | undefined;
  cluster?: string | undefined;
  template: string | undefined;
  minJobRuns: number;
  push: string | undefined;
  open: boolean;
  env: NodeJS.ProcessEnv;
}

/** The policy set `flowpol generate` would write with its defaults, without touching the disk. */
async function generateFromStore(db: string, cluster: string | undefined, flavor: Flavor): Promise<PolicyFile[]> {
  const { graph, observed } = await readingStore(db, cluster, async (read) => {
    const graph = await loadGraph(
      {
        db,
        namespaces: [],
        minFlows: 1,
        catalogs: [],
        sharedMinNamespaces: DEFAULT_SHARED_MIN_NAMESPACES,
        now: Date.now(),
      },
      read,
    );
    if (graph.namespaces.length === 0) {
      throw new UsageError(
        "no namespace in the store has observed workloads",
        "ingest flows first (`flowpol ingest FILE`)",
      );
    }
    return { graph, observed: await read.store.readObserved({}, read.cluster) };
  });
  const { tree, proof } = synthesizeSound(
    graph,
    observed,
    { ...defaultSynthOptions(), flavor },
    { acceptDenied: false, minFlows: 1 },
  );
  const failed = proof.denied.filter((d) => d.reason === undefined);
  if (failed.length > 0) {
    throw new CheckFailedError(
      `the generated policies would deny ${failed.length} observed connection(s) for no documented reason: ${failed
        .slice(0, 3)
        .map((d) => `${d.from} -> ${d.to} ${d.protocol}/${d.port}`)
        .join(", ")}`,
      "run `flowpol generate --out DIR` to see them all; to roll out such a set anyway, generate it with --accept-denied and pass --from DIR",
    );
  }
  return tree.files.map((f) => ({ path: f.path, text: f.content }));
}

/** Every valid NetworkPolicy in a repository tree (files that are not Kubernetes YAML are skipped). */
function policiesInTree(files: ReadonlyMap<string, string>): NetworkPolicy[] {
  const manifests: Manifests = { objects: [], syntaxErrors: [], warnings: [], files: [] };
  for (const [path, text] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!/\.(ya?ml|json)$/i.test(path) || isKustomizationPath(path)) continue;
    if (
      !/kind:\s*(Cilium|StagedKubernetes)?NetworkPolicy|"kind"\s*:\s*"(Cilium|StagedKubernetes)?NetworkPolicy"/.test(
        text,
      )
    )
      continue;
    parseManifestText(path, text, manifests);
  }
  return buildTopology(manifests.objects).policies;
}

export const DEFAULT_BRANCH = "flowpol/network-policies";
export const PULL_REQUEST_FILE = "PULL_REQUEST.md";
export const REPORT_FILE = "REPORT.md";

export function defaultTemplatePath(): string {
  return fileURLToPath(new URL("../../../templates/pull-request.md", import.meta.url));
}

function readTemplate(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    throw new UsageError(
      `--template ${path} cannot be read`,
      "give a Markdown file with {{placeholders}}, e.g. a copy of templates/pull-request.md",
    );
  }
}

function parentDir(path: string): string {
  const i = path.lastIndexOf("/");
  return i === -1 ? "" : path.slice(0, i);
}

export async function rollout(options: RolloutOptions, out: Output): Promise<void> {
  if (options.wave !== undefined && (options.wave < 1 || options.wave > 4)) {
    throw new UsageError(
      `--wave ${options.wave} is not a wave`,
      "waves are 1 (observe), 2 (allow), 3 (deny ingress), 4 (deny egress)",
    );
  }
  if (!options.from && !options.db) {
    throw new UsageError(
      "rollout needs a store to generate policies from, or a generated folder",
      "point --db (or FLOWPOL_DB) at the store, or run `flowpol generate --out DIR` and pass --from DIR",
    );
  }
  if (!FLAVORS.includes(options.flavor as Flavor)) {
    throw new UsageError(`--flavor ${options.flavor} is not known`, `use one of ${FLAVORS.join(", ")}`);
  }
  const templateFile = options.template ?? defaultTemplatePath();
  const template = readTemplate(templateFile);
  const files = options.from
    ? readPolicyDir(options.from)
    : await generateFromStore(options.db!, options.cluster, options.flavor as Flavor);
  const branch = options.branch ?? (options.wave ? `${DEFAULT_BRANCH}-wave-${options.wave}` : DEFAULT_BRANCH);
  const git = new Git(options.repo, options.env);
  const repo = await inspectRepository(git, { repoDir: options.repo, path: options.path, base: options.base, branch });
  // Checked before anything is written: a refused push must leave the repository as it was.
  if (options.push) {
    const remote = await git.run(["remote", "get-url", options.push], { allowFailure: true });
    if (remote.code !== 0)
      throw new UsageError(
        `--push ${options.push} is not a remote of ${repo.top}`,
        "name a remote from `git remote -v`",
      );
  }

  let findings: Findings | undefined;
  let mermaid: string | undefined;
  let observed: Observed | undefined;
  if (options.db) {
    await readingStore(options.db, options.cluster, async (read) => {
      const snapshot = await read.store.readSnapshot(read.cluster);
      observed = await read.store.readObserved({}, read.cluster);
      const graph = await wholeGraph(read);
      findings = analyze(snapshot, { minJobRuns: options.minJobRuns, shared: sharedServiceRows(graph) });
      mermaid = graphMermaid(graph).trimEnd();
    });
  }

  const { placed, kustomizations } = placeFiles(files);
  for (const f of placed) {
    if (f.path === PULL_REQUEST_FILE || f.path === REPORT_FILE) {
      throw new InputError(
        `${options.from ?? "generated"}/${f.path}: flowpol rollout writes this file itself`,
        undefined,
        "remove it from the policy folder",
      );
    }
  }
  const parent = repo.branchTip ?? repo.baseCommit;
  const existing = await readTreeFiles(git, parent, repo.prefix);
  const managed = new Set([...existing].filter(([p, t]) => isManagedFile(p, t)).map(([p]) => p));
  const full = (rel: string) => (repo.prefix ? `${repo.prefix}/${rel}` : rel);
  const rel = (path: string) => (repo.prefix ? path.slice(repo.prefix.length + 1) : path);

  const kustomizeDirs = new Map<string, string | undefined>();
  for (const path of managed)
    if (isKustomizationPath(path)) kustomizeDirs.set(parentDir(rel(path)), existing.get(path));
  for (const k of kustomizations) kustomizeDirs.set(parentDir(k.path), k.text);

  const wanted = [
    ...placed.map((f) => f.path),
    ...[...kustomizeDirs.keys()].map((d) => (d ? `${d}/kustomization.yaml` : "kustomization.yaml")),
  ];
  wanted.push(PULL_REQUEST_FILE, REPORT_FILE);
  const foreign = wanted.map(full).filter((p) => existing.has(p) && !managed.has(p));
  if (foreign.length > 0) {
    throw new UsageError(
      `${foreign.length} file(s) under --path are not managed by flowpol and would be overwritten: ${foreign.slice(0, 5).join(", ")}`,
      `flowpol never touches files without the label app.kubernetes.io/managed-by: flowpol; move them, or choose another --path`,
    );
  }

  const links = await readTreeLinks(git, parent, repo.prefix);
  const throughLinks = wanted.map(full).filter((p) => links.some((l) => p === l || p.startsWith(`${l}/`)));
  if (throughLinks.length > 0) {
    throw new UsageError(
      `${throughLinks.length} file(s) would replace or go through a committed symlink or submodule: ${throughLinks.slice(0, 5).join(", ")}`,
      "flowpol never writes through links: replace the link with a folder, or choose another --path",
    );
  }

  // Managed files no longer generated are removed in the step they belong to.
  const desired = new Set(wanted.map(full));
  const stale: PlacedFile[] = [];
  for (const path of [...managed].sort()) {
    if (desired.has(path) || isKustomizationPath(path)) continue;
    const r = rel(path);
    try {
      const again = placeFiles([{ path: r, text: existing.get(path)! }]).placed;
      for (const a of again) stale.push({ ...a, path: r });
    } catch {
      stale.push({
        path: r,
        text: "",
        wave: "deny-egress",
        namespace: r.includes("/") ? r.slice(0, r.indexOf("/")) : "",
        objects: [],
      });
    }
  }

  const maxWave = options.wave ?? 4;
  const inScope = (f: PlacedFile) => ({ observe: 1, allow: 2, "deny-ingress": 3, "deny-egress": 4 })[f.wave] <= maxWave;
  let steps = planSteps(placed.filter(inScope), stale.filter(inScope), {
    waveOrder: options.waveOrder,
    egressOrder: options.egressOrder,
    facts: findings?.namespaceFacts,
  });
  let replaySections: ReplaySections | undefined;
  if (observed) {
    // From the base, not the branch tip: each state is what the base becomes once merged up to that step.
    const tree = await readTreeFiles(git, repo.baseCommit, "");
    const before = policiesInTree(tree);
    const proposal = new Set<string>();
    const states: WaveState[] = [];
    for (const s of steps) {
      for (const f of s.files) {
        tree.set(full(f.path), f.text);
        proposal.add(full(f.path));
      }
      for (const r of s.removals) tree.delete(full(r));
      states.push({ id: s.id, policies: policiesInTree(tree) });
    }
    const final = states[states.length - 1]?.policies ?? [];
    const result = replay(observed, final, (p) => !proposal.has(p.source?.file ?? ""));
    const waves = replayWaves(observed, before, states);
    for (const w of waves) {
      if (w.broken.length > 0) {
        writeLine(
          out.stderr,
          `warning: wave ${w.id} denies ${w.broken.length} observed connection(s) that the final state allows (listed in the pull request)`,
        );
      }
    }
    replaySections = {
      wouldDeny: wouldDenyMarkdown(result),
      unusedRules: unusedRulesMarkdown(result),
      waves: waveReplayMarkdown(waves),
    };
  }
  const prText = pullRequestText(template, templateFile, {
    steps,
    prefix: repo.prefix,
    base: options.base,
    branch,
    findings,
    graphMermaid: mermaid,
    replay: replaySections,
  });
  const observeExtras: PlacedFile[] = [
    { path: PULL_REQUEST_FILE, text: prText, wave: "observe", namespace: "", objects: [] },
  ];
  if (findings && mermaid !== undefined) {
    observeExtras.push({
      path: REPORT_FILE,
      text: `${MANAGED_MARKDOWN_MARKER}\n${reportMarkdown(findings, mermaid, undefined)}`,
      wave: "observe",
      namespace: "",
      objects: [],
    });
  }
  steps = steps.map((s) => (s.kind === "observe" ? { ...s, files: [...observeExtras, ...s.files] } : s));

  const { tip, commits } = await commitSteps(git, {
    parent,
    prefix: repo.prefix,
    steps,
    existing,
    managed,
    kustomizeDirs,
    update: repo.branchTip !== undefined,
  });

  if (commits.length === 0) {
    writeLine(out.stderr, `${branch} is up to date: nothing changed, no commit made`);
  } else {
    await git.run(["update-ref", `refs/heads/${branch}`, tip, repo.branchTip ?? ""]);
    writeLine(
      out.stderr,
      `${repo.branchTip ? "updated" : "created"} ${branch} from ${options.base}: ${commits.length} commit(s)`,
    );
    for (const c of commits) {
      writeLine(
        out.stderr,
        `  ${c.commit.slice(0, 12)} wave ${c.step.id} ${c.step.title} (+${c.added.length} ~${c.changed.length} -${c.removed.length})`,
      );
    }
  }
  if (options.wave && options.wave > 1) {
    const earlier = commits.filter((c) => c.step.wave < options.wave!);
    if (earlier.length > 0) {
      writeLine(
        out.stderr,
        `note: waves before ${options.wave} are not on ${options.base} yet, so this branch carries them too`,
      );
    }
  }
  out.stdout.write(prText);

  if (options.push) {
    await git.run(["push", "--quiet", options.push, `refs/heads/${branch}:refs/heads/${branch}`]);
    writeLine(out.stderr, `pushed ${branch} to ${options.push}`);
  }
  if (options.open) {
    const scratch = mkdtempSync(join(tmpdir(), "flowpol-pr-"));
    try {
      const bodyFile = join(scratch, PULL_REQUEST_FILE);
      writeFileSync(bodyFile, prText);
      const result = await openPullRequest(
        { cwd: repo.top, base: options.base, branch, title: pullRequestTitle(steps), bodyFile, env: options.env },
        ["git", "-C", repo.top, "show", `${branch}:${full(PULL_REQUEST_FILE)}`],
      );
      writeLine(out.stderr, result.opened ? `opened ${result.output}` : result.output);
    } finally {
      if (existsSync(scratch)) rmSync(scratch, { recursive: true, force: true });
    }
  }
}
