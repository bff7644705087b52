import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Observed } from "../diff/observed.js";
import { InputError, UsageError } from "../errors.js";
import { MANAGED_MARKDOWN_MARKER } from "../model/labels.js";
import { buildTopology } from "../policy/objects.js";
import type { NetworkPolicy } from "../policy/types.js";
import { type Manifests, parseManifestText } from "../policy-io/read-manifests.js";
import type { Findings } from "../report/findings.js";
import { reportMarkdown } from "../report/markdown.js";
import { replay } from "../report/policy-verdicts.js";
import { unusedRulesMarkdown, wouldDenyMarkdown } from "../report/policy-verdicts-text.js";
import { isKustomizationPath, placeFiles } from "./classify.js";
import { commitSteps, type StepCommit } from "./commit-steps.js";
import { Git } from "./git.js";
import { openPullRequest } from "./github.js";
import { isManagedFile } from "./managed.js";
import { planSteps, type RolloutStep } from "./plan.js";
import type { PlacedFile, PolicyFile } from "./policy-set.js";
import { pullRequestText, pullRequestTitle, type ReplaySections } from "./pull-request.js";
import { inspectRepository, type RepositoryState, readTreeFiles, readTreeLinks } from "./repository.js";
import { replayWaves, type WaveState, waveReplayMarkdown } from "./wave-verdicts.js";

/**
 * The rollout use case: a policy set becomes one commit per wave step on a branch of a GitOps
 * repository, with the pull request text; nothing is written before every check passed.
 */

export const DEFAULT_BRANCH = "flowpol/network-policies";
export const PULL_REQUEST_FILE = "PULL_REQUEST.md";
export const REPORT_FILE = "REPORT.md";

/** What the store tells the pull request: the report, the graph, the observed connections. */
export interface RolloutEvidence {
  findings: Findings;
  mermaid: string;
  observed: Observed;
}

export interface RolloutInput {
  repo: string;
  path: string;
  base: string;
  branch: string;
  /** Only waves 1..N. */
  wave: number | undefined;
  waveOrder: string[] | undefined;
  egressOrder: string[] | undefined;
  files: PolicyFile[];
  /** Where `files` came from, for messages (the --from folder, or "generated"). */
  origin: string;
  template: string;
  templateFile: string;
  evidence: RolloutEvidence | undefined;
  push: string | undefined;
  open: boolean;
  env: NodeJS.ProcessEnv;
  /** Warnings on the way (a wave that denies what the final state allows). */
  warn: (line: string) => void;
}

export interface RolloutResult {
  branch: string;
  base: string;
  /** The branch existed before this run. */
  updated: boolean;
  /** Empty: the branch was up to date. */
  commits: StepCommit[];
  /** The branch carries waves before --wave that are not on the base yet. */
  carriesEarlierWaves: boolean;
  /** Where the pull request text is on the branch. */
  pullRequestPath: string;
  pullRequestText: string;
  pushedTo: string | undefined;
  /** The gh CLI's answer (or the command to run), with --open. */
  opened: { opened: boolean; output: string } | undefined;
}

/** The repository's files under --path and what flowpol may change there. */
interface TreeState {
  parent: string;
  existing: Map<string, string>;
  managed: Set<string>;
  kustomizeDirs: Map<string, string | undefined>;
  placed: PlacedFile[];
  stale: PlacedFile[];
}

export async function runRollout(input: RolloutInput): Promise<RolloutResult> {
  const git = new Git(input.repo, input.env);
  const repo = await inspectRepository(git, {
    repoDir: input.repo,
    path: input.path,
    base: input.base,
    branch: input.branch,
  });
  // Checked before anything is written: a refused push must leave the repository as it was.
  if (input.push) {
    const remote = await git.run(["remote", "get-url", input.push], { allowFailure: true });
    if (remote.code !== 0)
      throw new UsageError(`--push ${input.push} is not a remote of ${repo.top}`, "name a remote from `git remote -v`");
  }
  const tree = await readTree(git, repo, input);
  const maxWave = input.wave ?? 4;
  const inScope = (f: PlacedFile) => ({ observe: 1, allow: 2, "deny-ingress": 3, "deny-egress": 4 })[f.wave] <= maxWave;
  let steps = planSteps(tree.placed.filter(inScope), tree.stale.filter(inScope), {
    waveOrder: input.waveOrder,
    egressOrder: input.egressOrder,
    facts: input.evidence?.findings.namespaceFacts,
  });
  const replaySections = input.evidence ? await replayInRepo(git, repo, steps, input.evidence, input.warn) : undefined;
  const prText = pullRequestText(input.template, input.templateFile, {
    steps,
    prefix: repo.prefix,
    base: input.base,
    branch: input.branch,
    findings: input.evidence?.findings,
    graphMermaid: input.evidence?.mermaid,
    replay: replaySections,
  });
  steps = withObserveExtras(steps, prText, input.evidence);
  const { tip, commits } = await commitSteps(git, {
    parent: tree.parent,
    prefix: repo.prefix,
    steps,
    existing: tree.existing,
    managed: tree.managed,
    kustomizeDirs: tree.kustomizeDirs,
    update: repo.branchTip !== undefined,
  });
  if (commits.length > 0) await git.run(["update-ref", `refs/heads/${input.branch}`, tip, repo.branchTip ?? ""]);
  const pullRequestPath = joinPrefix(repo.prefix, PULL_REQUEST_FILE);
  if (input.push)
    await git.run(["push", "--quiet", input.push, `refs/heads/${input.branch}:refs/heads/${input.branch}`]);
  const opened = input.open ? await openRequest(repo, input, steps, prText, pullRequestPath) : undefined;
  return {
    branch: input.branch,
    base: input.base,
    updated: repo.branchTip !== undefined,
    commits,
    carriesEarlierWaves: input.wave !== undefined && commits.some((c) => c.step.wave < (input.wave as number)),
    pullRequestPath,
    pullRequestText: prText,
    pushedTo: input.push,
    opened,
  };
}

function joinPrefix(prefix: string, rel: string): string {
  return prefix ? `${prefix}/${rel}` : rel;
}

function parentDir(path: string): string {
  const i = path.lastIndexOf("/");
  return i === -1 ? "" : path.slice(0, i);
}

/** The files under --path, checked: flowpol never overwrites files it does not manage, nor writes through links. */
async function readTree(git: Git, repo: RepositoryState, input: RolloutInput): Promise<TreeState> {
  const { placed, kustomizations } = placeFiles(input.files);
  for (const f of placed) {
    if (f.path === PULL_REQUEST_FILE || f.path === REPORT_FILE) {
      throw new InputError(
        `${input.origin}/${f.path}: flowpol rollout writes this file itself`,
        undefined,
        "remove it from the policy folder",
      );
    }
  }
  const parent = repo.branchTip ?? repo.baseCommit;
  const existing = await readTreeFiles(git, parent, repo.prefix);
  const managed = new Set([...existing].filter(([p, t]) => isManagedFile(p, t)).map(([p]) => p));
  const full = (rel: string) => joinPrefix(repo.prefix, rel);
  const rel = (path: string) => (repo.prefix ? path.slice(repo.prefix.length + 1) : path);

  const kustomizeDirs = new Map<string, string | undefined>();
  for (const path of managed)
    if (isKustomizationPath(path)) kustomizeDirs.set(parentDir(rel(path)), existing.get(path));
  for (const k of kustomizations) kustomizeDirs.set(parentDir(k.path), k.text);

  const wanted = [
    ...placed.map((f) => f.path),
    ...[...kustomizeDirs.keys()].map((d) => (d ? `${d}/kustomization.yaml` : "kustomization.yaml")),
    PULL_REQUEST_FILE,
    REPORT_FILE,
  ];
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
  const desired = new Set(wanted.map(full));
  const stale = staleFiles([...managed].sort(), desired, existing, rel);
  return { parent, existing, managed, kustomizeDirs, placed, stale };
}

/** Managed files no longer generated: removed in the step they belong to. */
function staleFiles(
  managed: string[],
  desired: ReadonlySet<string>,
  existing: ReadonlyMap<string, string>,
  rel: (path: string) => string,
): PlacedFile[] {
  const stale: PlacedFile[] = [];
  for (const path of managed) {
    if (desired.has(path) || isKustomizationPath(path)) continue;
    const r = rel(path);
    try {
      const again = placeFiles([{ path: r, text: existing.get(path) ?? "" }]).placed;
      for (const a of again) stale.push({ ...a, path: r });
    } catch {
      const namespace = r.includes("/") ? r.slice(0, r.indexOf("/")) : "";
      stale.push({ path: r, text: "", wave: "deny-egress", namespace, objects: [] });
    }
  }
  return stale;
}

/** Every valid NetworkPolicy in a repository tree (files that are not Kubernetes YAML are skipped). */
function policiesInTree(files: ReadonlyMap<string, string>): NetworkPolicy[] {
  const manifests: Manifests = { objects: [], syntaxErrors: [], warnings: [], files: [] };
  const kind = /kind:\s*(Cilium|StagedKubernetes)?NetworkPolicy|"kind"\s*:\s*"(Cilium|StagedKubernetes)?NetworkPolicy"/;
  for (const [path, text] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!/\.(ya?ml|json)$/i.test(path) || isKustomizationPath(path)) continue;
    if (!kind.test(text)) continue;
    parseManifestText(path, text, manifests);
  }
  return buildTopology(manifests.objects).policies;
}

/** The observed connections replayed through the base as each step would leave it. */
async function replayInRepo(
  git: Git,
  repo: RepositoryState,
  steps: readonly RolloutStep[],
  evidence: RolloutEvidence,
  warn: (line: string) => void,
): Promise<ReplaySections> {
  // From the base, not the branch tip: each state is what the base becomes once merged up to that step.
  const tree = await readTreeFiles(git, repo.baseCommit, "");
  const before = policiesInTree(tree);
  const proposal = new Set<string>();
  const states: WaveState[] = [];
  for (const s of steps) {
    for (const f of s.files) {
      tree.set(joinPrefix(repo.prefix, f.path), f.text);
      proposal.add(joinPrefix(repo.prefix, f.path));
    }
    for (const r of s.removals) tree.delete(joinPrefix(repo.prefix, r));
    states.push({ id: s.id, policies: policiesInTree(tree) });
  }
  const final = states[states.length - 1]?.policies ?? [];
  const result = replay({ observed: evidence.observed, policies: final }, (p) => !proposal.has(p.source?.file ?? ""));
  const waves = replayWaves(evidence.observed, before, states);
  for (const w of waves) {
    if (w.broken.length > 0) {
      warn(
        `warning: wave ${w.id} denies ${w.broken.length} observed connection(s) that the final state allows (listed in the pull request)`,
      );
    }
  }
  return {
    wouldDeny: wouldDenyMarkdown(result),
    unusedRules: unusedRulesMarkdown(result),
    waves: waveReplayMarkdown(waves),
  };
}

/** The pull request text (and the report, with a store) go into the observe step. */
function withObserveExtras(steps: RolloutStep[], prText: string, evidence: RolloutEvidence | undefined): RolloutStep[] {
  const extras: PlacedFile[] = [{ path: PULL_REQUEST_FILE, text: prText, wave: "observe", namespace: "", objects: [] }];
  if (evidence) {
    extras.push({
      path: REPORT_FILE,
      text: `${MANAGED_MARKDOWN_MARKER}\n${reportMarkdown(evidence.findings, evidence.mermaid, undefined)}`,
      wave: "observe",
      namespace: "",
      objects: [],
    });
  }
  return steps.map((s) => (s.kind === "observe" ? { ...s, files: [...extras, ...s.files] } : s));
}

async function openRequest(
  repo: RepositoryState,
  input: RolloutInput,
  steps: readonly RolloutStep[],
  prText: string,
  pullRequestPath: string,
): Promise<{ opened: boolean; output: string }> {
  const scratch = mkdtempSync(join(tmpdir(), "flowpol-pr-"));
  try {
    const bodyFile = join(scratch, PULL_REQUEST_FILE);
    writeFileSync(bodyFile, prText);
    return await openPullRequest(
      {
        cwd: repo.top,
        base: input.base,
        branch: input.branch,
        title: pullRequestTitle([...steps]),
        bodyFile,
        env: input.env,
      },
      ["git", "-C", repo.top, "show", `${input.branch}:${pullRequestPath}`],
    );
  } finally {
    if (existsSync(scratch)) rmSync(scratch, { recursive: true, force: true });
  }
}
