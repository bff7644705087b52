import { Command, type OptionValues } from "commander";
import { CheckFailedError, InputError, UsageError } from "../../errors.js";
import type { Flow } from "../../model/flow.js";
import { VerifyCollector, type VerifyFinding } from "../../verify/match.js";
import { type ReadFlowsResult, readFlows } from "../../verify/read-flows.js";
import { type HubbleSource, readHubbleFlows } from "../../verify/read-hubble.js";
import { waveFilesFromGit } from "../../verify/wave-from-git.js";
import { readWavePolicyPaths, readWavePolicyTexts, type WavePolicies } from "../../verify/wave-policies.js";
import { collectList } from "../flags.js";
import { addOutputOptions } from "../options.js";
import { type Output, writeLine } from "../output.js";
import { recordFormatOption } from "../record-format.js";
import { durationOption, parseTimeMs, timeOption } from "../time-flags.js";

export function define(out: Output): Command {
  const cmd = new Command("verify")
    .description(
      "after a wave: every flow (Hubble or Calico) dropped or audited by policy since it began (exit 3 if any)",
    )
    .argument(
      "[files...]",
      "flow files in any format ingest reads (Hubble JSON, exporter files, Calico flow logs, Goldmane, Whisker; .gz; - for stdin)",
    )
    .option("--server <host:port>", "read the flows since --since from Hubble Relay instead of files")
    .option("--tls", "use TLS with --server", false)
    .option("--tls-ca-cert-files <files...>", "CA certificates (PEM) that verify the server", collectList, [])
    .option("--tls-server-name <name>", "the name the server certificate must carry")
    .addOption(durationOption("--timeout <duration>", "give up reading from --server after this long", "2m"))
    .addOption(timeOption("--since <time>", "when the wave was applied").makeOptionMandatory())
    .option("--policies <paths...>", "the wave's policy files or folders")
    .option("--wave <id>", "the wave's policies from the rollout branch: a step id such as 2 or 3.1")
    .option("--repo <dir>", "the GitOps repository, for --wave", ".")
    .option("--ref <rev>", "the rollout branch or commit, for --wave", "HEAD")
    .addOption(recordFormatOption());
  return addOutputOptions(cmd, { formats: ["text", "json"], default: "text", legacyJson: true }, out).action(
    async (files: string[], o) => {
      await verify(verifyOptions(files, o), out);
    },
  );
}

function verifyOptions(files: string[], o: OptionValues): VerifyOptions {
  return {
    inputs: files,
    since: o.since,
    policies: o.policies,
    wave: o.wave,
    repo: o.repo,
    ref: o.ref,
    format: o.format,
    json: o.output === "json",
    now: Date.now(),
    env: process.env,
    hubble:
      o.server === undefined
        ? undefined
        : {
            server: o.server,
            tls: {
              tls: o.tls,
              caCertFiles: o.tlsCaCertFiles,
              ...(o.tlsServerName !== undefined ? { serverName: o.tlsServerName } : {}),
              allowInsecure: false,
            },
            requestTimeoutMs: o.timeout,
          },
  };
}

export interface VerifyOptions {
  inputs: string[];
  since: string;
  policies: string[] | undefined;
  wave: string | undefined;
  repo: string;
  ref: string;
  format: string;
  json: boolean;
  now: number;
  env: NodeJS.ProcessEnv;
  /** Read from Hubble Relay instead of files. */
  hubble: HubbleSource | undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

const SIDES = { egress: "egress", ingress: "ingress" } as const;

function waveLine(f: VerifyFinding): string {
  if (f.wave === "denied")
    return `  wave policies: ${f.policies.join(", ")} (deny it at ${f.deniedBy.map((d) => SIDES[d]).join(" and ")})`;
  if (f.wave === "allowed") return "  wave policies: allow it (stopped by a policy outside this wave)";
  return "  wave policies: none selects either side (stopped by a policy outside this wave)";
}

function describe(f: VerifyFinding, withWave: boolean): string[] {
  const lines = [
    `${f.verdict.toUpperCase()} ${f.source} -> ${f.destination} ${f.port}/${f.protocol} x${f.count}${f.dropReason ? ` (${f.dropReason})` : ""}, ${iso(f.first)} .. ${iso(f.last)}`,
  ];
  if (withWave) lines.push(waveLine(f));
  return lines;
}

/** `flowpol verify`: every flow stopped by policy since the wave began; exit 3 when there is any. */
export async function verify(options: VerifyOptions, out: Output): Promise<void> {
  if (options.policies && options.wave)
    throw new UsageError("--policies and --wave both name the wave's policies", "give one of them");
  const since = parseTimeMs("--since", options.since, options.now);
  const warn = (m: string) => writeLine(out.stderr, `warning: ${m}`);
  let wave: WavePolicies | undefined;
  if (options.policies) wave = readWavePolicyPaths(options.policies, { warn });
  if (options.wave) {
    const files = await waveFilesFromGit(options.repo, options.ref, options.wave, options.env);
    wave = readWavePolicyTexts(files, `wave ${options.wave} on ${options.ref}`, { warn });
  }
  if (options.inputs.length === 0 && !options.hubble) {
    throw new UsageError(
      "verify needs flows to read",
      "name flow files (or - for stdin), or a Hubble Relay with --server",
    );
  }
  if (options.inputs.length > 0 && options.hubble) {
    throw new UsageError("give flow files or --server, not both", "run verify once per source");
  }
  const collector = new VerifyCollector(since, wave);
  const add = (flow: Flow) => collector.add(flow);
  let read: ReadFlowsResult;
  if (options.hubble) {
    const fromHubble = await readHubbleFlows(options.hubble, since, add);
    if (fromHubble.evicted && (fromHubble.oldest === undefined || fromHubble.oldest > since)) {
      writeLine(
        out.stderr,
        `warning: ${options.hubble.server}'s ring buffer has dropped older flows and its oldest flow since --since is ${fromHubble.oldest === undefined ? "none" : iso(fromHubble.oldest)}: drops before it are not checked`,
      );
    }
    if (fromHubble.unavailableNodes.length > 0) {
      writeLine(
        out.stderr,
        `warning: nodes unavailable to ${options.hubble.server}: ${fromHubble.unavailableNodes.join(", ")}; their drops are not checked`,
      );
    }
    read = fromHubble;
  } else {
    read = await readFlows(options.inputs, options.format, add);
  }
  const findings = collector.findings();
  const total = findings.reduce((n, f) => n + f.count, 0);
  const policyCount = wave?.policies.length ?? 0;
  if (options.json) {
    writeLine(
      out.stdout,
      JSON.stringify(
        {
          since: iso(since),
          flowsRead: read.flows,
          repliesRead: read.replies,
          flowsSince: collector.flowsSince,
          wavePolicies: policyCount,
          lostEvents: read.lost,
          badLines: read.bad,
          stopped: total,
          findings: findings.map((f) => ({ ...f, first: iso(f.first), last: iso(f.last) })),
        },
        null,
        2,
      ),
    );
  } else {
    writeLine(
      out.stdout,
      `${read.flows} flows read, ${collector.flowsSince} since ${iso(since)}, ${policyCount} wave policies; ${total} flow(s) dropped or audited by policy`,
    );
    for (const f of findings) for (const l of describe(f, wave !== undefined)) writeLine(out.stdout, l);
  }
  for (const b of read.badLines) writeLine(out.stderr, `warning: ${b.file}:${b.line}: ${b.reason}`);
  if (read.lost > 0)
    writeLine(out.stderr, `warning: the source lost ${read.lost} events: drops may be missing from this check`);
  if (total > 0) {
    throw new CheckFailedError(
      `${total} flow(s) dropped or audited by policy since ${iso(since)}`,
      "roll the wave back (see its Roll back line in PULL_REQUEST.md), or add the missing allow and re-run `flowpol rollout`",
    );
  }
  if (read.bad > 0) {
    throw new InputError(
      `${read.bad} bad line(s) in the flow input: the check is incomplete`,
      undefined,
      "fix or drop the bad lines, then verify again",
    );
  }
  if (collector.flowsSince === 0) {
    throw new InputError(
      `no flow at or after ${iso(since)} in the input: nothing was verified`,
      undefined,
      "give flows recorded since the wave began, or an earlier --since",
    );
  }
}
