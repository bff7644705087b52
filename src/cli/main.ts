#!/usr/bin/env node
import { existsSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { EXIT_CODES, toFlowpolError, UsageError } from "../errors.js";
import { DEFAULT_SHARED_MIN_NAMESPACES } from "../graph/build.js";
import { DEFAULT_EXCLUDED_NAMESPACES } from "../graph/input.js";
import { resolveDbPath } from "../store/db.js";
import { parseDurationFlag } from "./duration-flag.js";
import { collectList } from "./flags.js";
import { type Output, processOutput, writeLine } from "./output.js";
import { parseDurationMs, parseTimeFlag } from "./time-flags.js";

/**
 * The thin command layer: parses flags, then calls a plain async command function. Only this file
 * turns errors into exit codes: 0 ok, 1 failure, 2 usage, 3 a check the user asked for failed.
 */

export function parseIntFlag(flag: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} takes a whole number >= ${min}`);
    return n;
  };
}

function splitList(value: string): string[] {
  const items = value.split(",").map((s) => s.trim());
  if (items.some((s) => s === "")) throw new InvalidArgumentError("give a comma-separated list without empty items");
  return items;
}

/** The store when one is named, or the default store when it exists; undefined otherwise. */
function existingDb(flag: string | undefined): string | undefined {
  const path = resolveDbPath(flag);
  return flag !== undefined || process.env.FLOWPOL_DB !== undefined || existsSync(path) ? path : undefined;
}

function durationFlag(flag: string) {
  return (value: string): number => {
    const ms = parseDurationMs(value);
    if (ms === undefined) throw new InvalidArgumentError(`${flag} takes a duration like 30s, 5m or 1h30m`);
    return ms;
  };
}

export const dbOption = () => new Option("--db <path>", "the flowpol store (default: $FLOWPOL_DB or ./flowpol.db)");
/** `--cluster` of the commands that read the store. */
export const readClusterOption = () =>
  new Option("--cluster <name>", "the Kubernetes cluster to read (needed when the store holds several)");
/** `--cluster` of the commands that write flows. */
export const writeClusterOption = () =>
  new Option(
    "--cluster <name>",
    "the Kubernetes cluster these flows come from (default: the cluster the records name, else 'default')",
  );

export function buildProgram(out: Output): Command {
  const program = new Command("flowpol")
    .description("Least-privilege Kubernetes NetworkPolicies from observed Hubble and Calico flows")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.stdout.write(s),
      writeErr: (s) => out.stderr.write(s),
    });

  program
    .command("ingest")
    .description(
      "read flow files (Hubble JSON, exporter files, Calico flow logs, Goldmane and Whisker JSON; .gz; - for stdin) into the store",
    )
    .argument("<files...>", "flow files, or - for stdin")
    .addOption(dbOption())
    .addOption(writeClusterOption())
    .option("--format <name>", "input format: auto, hubble, calico, goldmane, whisker", "auto")
    .option("--strict", "stop at the first bad line and store nothing from that input", false)
    .option(
      "--default-time <time>",
      "RFC 3339 time for records that carry no time at all (without it they are bad lines)",
    )
    .option(
      "--workers <n>",
      "parse worker threads (default: one per 256 MiB of input, at most one per core and 4)",
      parseIntFlag("--workers"),
    )
    .option("--json", "print the per-input results as JSON", false)
    .action(async (files: string[], o) => {
      const { ingest } = await import("./commands/ingest.js");
      await ingest(
        {
          inputs: files,
          db: resolveDbPath(o.db),
          cluster: o.cluster,
          format: o.format,
          strict: o.strict,
          workers: o.workers,
          defaultTime: o.defaultTime,
          json: o.json,
        },
        out,
      );
    });

  program
    .command("stats")
    .description("summarise the store: flows, edges, workloads, namespaces, window, gaps, bad lines")
    .addOption(dbOption())
    .addOption(readClusterOption())
    .option("--json", "one JSON object", false)
    .action(async (o) => {
      const { stats } = await import("./commands/stats.js");
      await stats({ db: resolveDbPath(o.db), cluster: o.cluster, json: o.json }, out);
    });

  const collect = program.command("collect").description("stream flows from a live source into the store");
  collect
    .command("hubble")
    .description("stream flows from Hubble Relay (or a Hubble server) over gRPC into the store")
    .addOption(dbOption())
    .addOption(writeClusterOption())
    .option("--server <host:port>", "Hubble Relay address", "localhost:4245")
    .option("--tls", "use TLS", false)
    .option("--tls-ca-cert-files <files...>", "CA certificates (PEM) that verify the server", collectList, [])
    .option("--tls-client-cert-file <file>", "client certificate (PEM) for mutual TLS")
    .option("--tls-client-key-file <file>", "client key (PEM) for mutual TLS")
    .option("--tls-server-name <name>", "the name the server certificate must carry")
    .option("--tls-allow-insecure", "do not verify the server certificate (insecure)", false)
    .option("--since <time>", "flows since this time: a duration ago (1h) or RFC 3339")
    .option("--until <time>", "flows until this time: a duration ago (5m) or RFC 3339")
    .option("--last <n>", "the last N flows of the ring buffer", parseIntFlag("--last", 1))
    .option("-f, --follow", "keep streaming new flows", false)
    .option("--duration <duration>", "stop after this long (30s, 10m, 2h)", durationFlag("--duration"))
    .option("--namespace <ns>", "only flows from or to this namespace (repeat or comma-separate)", collectList, [])
    .option(
      "--request-timeout <duration>",
      "how long to wait for the server to answer",
      durationFlag("--request-timeout"),
      12_000,
    )
    .option(
      "--reconnect-timeout <duration>",
      "give up when the server stays unreachable this long",
      durationFlag("--reconnect-timeout"),
      300_000,
    )
    .option(
      "--workers <n>",
      "decode worker threads (default: cores - 1, at most 4; 0 decodes on the main thread)",
      parseIntFlag("--workers"),
    )
    .option("--json", "print the summary as JSON", false)
    .action(async (o) => {
      if (o.last !== undefined && (o.since !== undefined || o.until !== undefined)) {
        throw new UsageError("--last cannot be combined with --since or --until", "use --last N, or a time window");
      }
      if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):\d{1,5}$/.test(o.server)) {
        throw new UsageError(
          `--server ${JSON.stringify(o.server)} is not host:port`,
          "write --server like localhost:4245 or hubble-relay.kube-system.svc:80",
        );
      }
      const now = Date.now();
      const { collectHubbleCommand } = await import("./commands/collect-hubble.js");
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        await collectHubbleCommand(
          {
            db: resolveDbPath(o.db),
            cluster: o.cluster,
            server: o.server,
            tls: {
              tls: o.tls,
              caCertFiles: o.tlsCaCertFiles,
              ...(o.tlsClientCertFile ? { clientCertFile: o.tlsClientCertFile } : {}),
              ...(o.tlsClientKeyFile ? { clientKeyFile: o.tlsClientKeyFile } : {}),
              ...(o.tlsServerName ? { serverName: o.tlsServerName } : {}),
              allowInsecure: o.tlsAllowInsecure,
            },
            ...(o.since !== undefined ? { since: parseTimeFlag("--since", o.since, now) } : {}),
            ...(o.until !== undefined ? { until: parseTimeFlag("--until", o.until, now) } : {}),
            ...(o.last !== undefined ? { last: o.last } : {}),
            follow: o.follow,
            ...(o.duration !== undefined ? { durationMs: o.duration } : {}),
            namespaces: o.namespace,
            requestTimeoutMs: o.requestTimeout,
            reconnectTimeoutMs: o.reconnectTimeout,
            ...(o.workers !== undefined ? { workers: o.workers } : {}),
            json: o.json,
            signal: stop.signal,
          },
          out,
        );
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });

  program
    .command("replay-server")
    .description("serve recorded Hubble flows over the Hubble Observer gRPC API (try flowpol without a cluster)")
    .requiredOption("--from <files...>", "recorded flow files (hubble observe -o jsonpb, exporter files; .gz)")
    .option("--listen <host:port>", "address to listen on (port 0: any free port)", "127.0.0.1:4245")
    .option("--tls-cert <file>", "server certificate (PEM)")
    .option("--tls-key <file>", "server key (PEM)")
    .option("--tls-client-ca <file>", "require client certificates signed by this CA (mutual TLS)")
    .option("--rate <n>", "events per second per stream (default: as fast as possible)", parseIntFlag("--rate", 1))
    .option("--lost-every <n>", "emit a lost_events record after every N flows", parseIntFlag("--lost-every", 1))
    .option("--unavailable-node <name>", "report this node as unavailable (repeatable)", collectList, [])
    .action(async (o) => {
      const { replayServer } = await import("./commands/replay-server.js");
      const stopped = new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
      await replayServer(
        {
          from: o.from,
          listen: o.listen,
          ...(o.tlsCert ? { tlsCert: o.tlsCert } : {}),
          ...(o.tlsKey ? { tlsKey: o.tlsKey } : {}),
          ...(o.tlsClientCa ? { tlsClientCa: o.tlsClientCa } : {}),
          ...(o.rate !== undefined ? { rate: o.rate } : {}),
          ...(o.lostEvery !== undefined ? { lostEvery: o.lostEvery } : {}),
          unavailableNodes: o.unavailableNode,
          stopped,
        },
        out,
      );
    });

  const analyze = program
    .command("analyze")
    .description("connectivity of Kubernetes manifests, in np-guard netpol-analyzer's formats");
  analyze
    .command("list")
    .description("list the allowed connections between the workloads (and external IP ranges) of a manifest folder")
    .requiredOption("--dirpath <path>", "a folder (read recursively) or file of manifests, or - for stdin")
    .option("-o, --output <format>", "txt, json, csv or md", "txt")
    .option(
      "--focusworkload <names>",
      "only connections of these workloads (name or ns/name, comma-separated)",
      collectList,
    )
    .option("--focus-direction <dir>", "with --focusworkload: only ingress or only egress")
    .option("--focusworkload-peer <names>", "with --focusworkload: only connections with these peers", collectList)
    .option("--k8s-semantics", "Kubernetes semantics instead of the analyzer's (ipBlocks match pod IPs)", false)
    .option("-q, --quiet", "no warnings on stderr", false)
    .action(async (o) => {
      const { analyzeList } = await import("./commands/analyze.js");
      await analyzeList(
        {
          dirpath: o.dirpath,
          output: o.output,
          focusWorkloads: o.focusworkload ?? [],
          focusDirection: o.focusDirection,
          focusPeers: o.focusworkloadPeer ?? [],
          semantics: o.k8sSemantics ? "kubernetes" : "analyzer",
          quiet: o.quiet,
        },
        out,
      );
    });
  analyze
    .command("diff")
    .description("the connectivity change between two manifest folders (added, removed, changed)")
    .requiredOption("--dir1 <path>", "the reference manifests")
    .requiredOption("--dir2 <path>", "the changed manifests")
    .option("-o, --output <format>", "txt, csv or md", "txt")
    .option("--k8s-semantics", "Kubernetes semantics instead of the analyzer's (ipBlocks match pod IPs)", false)
    .option("-q, --quiet", "no warnings on stderr", false)
    .action(async (o) => {
      const { analyzeDiff } = await import("./commands/analyze.js");
      await analyzeDiff(
        {
          dir1: o.dir1,
          dir2: o.dir2,
          output: o.output,
          semantics: o.k8sSemantics ? "kubernetes" : "analyzer",
          quiet: o.quiet,
        },
        out,
      );
    });

  collect
    .command("goldmane")
    .description("read Calico Goldmane flows (goldmane.Flows List, or Stream with --follow) over mutual TLS")
    .addOption(dbOption())
    .addOption(writeClusterOption())
    .option(
      "--server <host:port>",
      "Goldmane's address (after kubectl port-forward -n calico-system svc/goldmane 7443:7443)",
      "localhost:7443",
    )
    .option(
      "--tls-ca-cert-files <files>",
      "CA certificate(s) to verify Goldmane (PEM; repeat or comma-separate)",
      collectList,
    )
    .option("--tls-client-cert-file <file>", "client certificate (PEM) signed by the Calico operator's CA")
    .option("--tls-client-key-file <file>", "the client certificate's private key (PEM)")
    .option("--tls-server-name <name>", "name to check in Goldmane's certificate (e.g. goldmane)")
    .option(
      "--follow",
      "stream new flows until --duration, Ctrl-C or SIGTERM (reconnects when the server goes away)",
      false,
    )
    .option(
      "--since <duration>",
      "read this much history first, before Goldmane's now (e.g. 30m; it keeps about 1h); not used once a cursor is stored",
      parseDurationFlag("--since"),
    )
    .option("--duration <duration>", "with --follow: stop after this long (e.g. 2h)", parseDurationFlag("--duration"))
    .option(
      "--page-size <n>",
      "flow records per List page (above the number of flow keys: one page, no re-reads)",
      parseIntFlag("--page-size", 1),
      1000,
    )
    .option("--timeout <duration>", "how long to wait for Goldmane to answer", parseDurationFlag("--timeout"), 10_000)
    .option("--json", "print the summary as JSON", false)
    .action(async (o) => {
      if (o.duration !== undefined && !o.follow) {
        throw new UsageError("--duration only applies with --follow", "add --follow, or drop --duration");
      }
      const { collectGoldmaneCommand } = await import("./commands/collect-goldmane.js");
      await collectGoldmaneCommand(
        {
          db: resolveDbPath(o.db),
          cluster: o.cluster,
          server: o.server,
          tls: {
            caCertFiles: o.tlsCaCertFiles ?? [],
            clientCertFile: o.tlsClientCertFile,
            clientKeyFile: o.tlsClientKeyFile,
            serverName: o.tlsServerName,
          },
          follow: o.follow,
          sinceMs: o.since,
          durationMs: o.duration,
          pageSize: o.pageSize,
          timeoutMs: o.timeout,
          json: o.json,
        },
        out,
      );
    });

  program
    .command("report")
    .description("the discovery report: observation window and trust, graph, shared services, externals, drops")
    .addOption(dbOption())
    .addOption(readClusterOption())
    .option("--format <name>", "markdown or html (one self-contained page)", "markdown")
    .option("-o, --out <file>", "write to FILE instead of stdout")
    .option(
      "--min-job-runs <n>",
      "Jobs and CronJobs seen in fewer runs are flagged",
      parseIntFlag("--min-job-runs", 1),
      3,
    )
    .option("--policies <paths...>", "declared policies: add their coverage and gaps (flowpol diff)")
    .action(async (o) => {
      const { report } = await import("./commands/report.js");
      await report(
        {
          db: resolveDbPath(o.db),
          cluster: o.cluster,
          format: o.format,
          out: o.out,
          minJobRuns: o.minJobRuns,
          policies: o.policies,
        },
        out,
      );
    });

  program
    .command("verify")
    .description("after a wave: every flow dropped or audited by policy since it began (exit 3 if any)")
    .argument("[files...]", "flow files (Hubble JSON, exporter files; .gz; - for stdin)")
    .option("--server <host:port>", "read the flows since --since from Hubble Relay instead of files")
    .option("--tls", "use TLS with --server", false)
    .option("--tls-ca-cert-files <files...>", "CA certificates (PEM) that verify the server", collectList, [])
    .option("--tls-server-name <name>", "the name the server certificate must carry")
    .option("--timeout <duration>", "give up reading from --server after this long", durationFlag("--timeout"), 120_000)
    .requiredOption("--since <time>", "when the wave was applied: ISO 8601, or a duration ago (30m, 2h, 1d)")
    .option("--policies <paths...>", "the wave's policy files or folders")
    .option("--wave <id>", "the wave's policies from the rollout branch: a step id such as 2 or 3.1")
    .option("--repo <dir>", "the GitOps repository, for --wave", ".")
    .option("--ref <rev>", "the rollout branch or commit, for --wave", "HEAD")
    .option("--format <name>", "input format: auto, hubble", "auto")
    .option("--json", "one JSON object", false)
    .action(async (files: string[], o) => {
      const { verify } = await import("./commands/verify.js");
      await verify(
        {
          inputs: files,
          since: o.since,
          policies: o.policies,
          wave: o.wave,
          repo: o.repo,
          ref: o.ref,
          format: o.format,
          json: o.json,
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
        },
        out,
      );
    });

  program
    .command("rollout")
    .description("commit generated policies to a GitOps repository in staged waves, with the pull request text")
    .requiredOption("--repo <dir>", "a working clone of the GitOps repository")
    .option("--from <dir>", "the folder `flowpol generate --out` wrote (default: generate from the store)")
    .option("--flavor <name>", "when generating from the store: kubernetes, cilium or calico-staged", "kubernetes")
    .option("--path <dir>", "folder inside the repository for the policies", "policies")
    .option("--base <branch>", "branch to start from", "main")
    .option("--branch <name>", "branch to create or update (default: flowpol/network-policies[-wave-N])")
    .option(
      "--wave <n>",
      "only waves 1..N, on a branch of their own (1 observe, 2 allow, 3 deny ingress, 4 deny egress)",
      parseIntFlag("--wave", 1),
    )
    .option("--wave-order <namespaces>", "comma-separated order of the deny-ingress steps", splitList)
    .option("--egress-order <namespaces>", "comma-separated order of the deny-egress steps", splitList)
    .addOption(dbOption())
    .addOption(readClusterOption())
    .option("--no-db", "use no store: no report, no evidence tables, alphabetical order")
    .option("--template <file>", "pull request template (default: templates/pull-request.md)")
    .option(
      "--min-job-runs <n>",
      "Jobs and CronJobs seen in fewer runs are flagged",
      parseIntFlag("--min-job-runs", 1),
      3,
    )
    .option("--push <remote>", "push the branch to this remote")
    .option("--open", "open the pull request with the gh CLI (or print the command)", false)
    .action(async (o) => {
      const { rollout } = await import("./commands/rollout.js");
      await rollout(
        {
          repo: o.repo,
          from: o.from,
          flavor: o.flavor,
          path: o.path,
          base: o.base,
          branch: o.branch,
          wave: o.wave,
          waveOrder: o.waveOrder,
          egressOrder: o.egressOrder,
          db: o.db === false ? undefined : existingDb(o.db),
          cluster: o.cluster,
          template: o.template,
          minJobRuns: o.minJobRuns,
          push: o.push,
          open: o.open,
          env: process.env,
        },
        out,
      );
    });

  program
    .command("simulate")
    .description("write realistic flow records from a simulated cluster (to try flowpol, and for benchmarks)")
    .option("--scenario <name>", "the simulated cluster", "online-boutique")
    .option("--flows <n>", "how many records to write", parseIntFlag("--flows", 1), 5000)
    .option(
      "--format <name>",
      "output format: hubble, calico (EE defaults), calico-level0..3 (flow logs at one aggregation level), goldmane",
      "hubble",
    )
    .option("--seed <n>", "random seed: the same seed gives the same file", parseIntFlag("--seed"), 1)
    .option("-o, --out <file>", "write to FILE (gzip when it ends in .gz) instead of stdout")
    .action(async (o) => {
      const { simulate } = await import("./commands/simulate.js");
      await simulate({ scenario: o.scenario, flows: o.flows, format: o.format, seed: o.seed, out: o.out }, out);
    });

  const scopeOptions = (cmd: Command) =>
    cmd
      .addOption(dbOption())
      .addOption(readClusterOption())
      .option("--namespace <ns>", "only these namespaces get policies (repeat or comma-separate)", collectList, [])
      .option(
        "--exclude-namespace <ns>",
        `never these namespaces (repeat or comma-separate; default: ${DEFAULT_EXCLUDED_NAMESPACES.join(",")})`,
        collectList,
      )
      .option("--since <time>", "only connections seen since TIME (ISO 8601, or 30m/24h/7d before now)")
      .option("--until <time>", "only connections seen until TIME (ISO 8601, or 30m/24h/7d before now)")
      .option("--min-flows <n>", "leave out connections with fewer flows", parseIntFlag("--min-flows", 1), 1)
      .option("--catalog <file>", "extra shared-service catalog YAML (repeatable)", collectList, [])
      .option(
        "--shared-min-namespaces <n>",
        "a destination called from this many namespaces on one port is a shared service",
        parseIntFlag("--shared-min-namespaces", 2),
        DEFAULT_SHARED_MIN_NAMESPACES,
      );
  const scopeOf = (o: Record<string, unknown>) => ({
    db: resolveDbPath(o.db as string | undefined),
    cluster: o.cluster as string | undefined,
    namespaces: o.namespace as string[],
    ...(o.excludeNamespace !== undefined ? { excludeNamespaces: o.excludeNamespace as string[] } : {}),
    ...(o.since !== undefined ? { since: o.since as string } : {}),
    ...(o.until !== undefined ? { until: o.until as string } : {}),
    minFlows: o.minFlows as number,
    catalogs: o.catalog as string[],
    sharedMinNamespaces: o.sharedMinNamespaces as number,
    now: Date.now(),
  });

  scopeOptions(
    program
      .command("graph")
      .description("the service dependency graph: workloads, platform entities, external peers")
      .option("--format <name>", "table, json, dot, mermaid or html (one self-contained page)", "table")
      .option("-o, --out <file>", "write to FILE instead of stdout"),
  ).action(async (o) => {
    const { graph } = await import("./commands/graph.js");
    await graph({ ...scopeOf(o), format: o.format, ...(o.out !== undefined ? { out: o.out } : {}) }, out);
  });

  scopeOptions(
    program
      .command("generate")
      .description("least-privilege NetworkPolicies from the observed flows, one folder per namespace")
      .requiredOption("--out <dir>", "output folder (created; only flowpol's own files are replaced)")
      .option("--flavor <name>", "kubernetes, cilium or calico-staged", "kubernetes")
      .option("--cidr-prefix <n>", "widen external IPv4 peers to this prefix", parseIntFlag("--cidr-prefix"), 32)
      .option("--cidr-prefix-v6 <n>", "widen external IPv6 peers to this prefix", parseIntFlag("--cidr-prefix-v6"), 128)
      .option("--node-cidr <cidr>", "node address blocks for host/probe traffic (repeatable)", collectList, [])
      .option("--allow-metadata", "allow egress to the cloud metadata address 169.254.169.254 when observed", false)
      .option("--allow-any-address", "permit a prefix of 0 (0.0.0.0/0, ::/0)", false)
      .option(
        "--accept-denied",
        "keep isolation that denies observed connections (listed) and exit 0; default: leave that direction un-isolated where a workload has no stable labels, exit 3 for anything else denied",
        false,
      ),
  ).action(async (o) => {
    const { generate } = await import("./commands/generate.js");
    await generate(
      {
        ...scopeOf(o),
        out: o.out,
        flavor: o.flavor,
        cidrPrefix: o.cidrPrefix,
        cidrPrefixV6: o.cidrPrefixV6,
        nodeCidrs: o.nodeCidr,
        allowMetadata: o.allowMetadata,
        allowAnyAddress: o.allowAnyAddress,
        acceptDenied: o.acceptDenied,
      },
      out,
    );
  });

  program
    .command("lint")
    .description(
      "review NetworkPolicy manifests: split peers, missing DNS, allow-alls, flat trust, missing default deny...",
    )
    .argument(
      "<paths...>",
      "manifest files or folders (policies, and the Pods/workloads/Namespaces they apply to), or -",
    )
    .option("--format <name>", "text or json", "text")
    .option("--fail-on <severity>", "exit 3 on findings at this level or above: error, warning, info, never", "warning")
    .option(
      "--cluster-cidr <cidr>",
      "pod and Service address ranges, for ipBlock checks (repeat or comma-separate)",
      collectList,
      [],
    )
    .action(async (paths: string[], o) => {
      const { lint } = await import("./commands/lint.js");
      await lint({ paths, format: o.format, failOn: o.failOn, clusterCidrs: o.clusterCidr }, out);
    });

  program
    .command("diff")
    .description(
      "observed traffic against declared NetworkPolicies: allowed, denied, unprotected; unused rules; coverage",
    )
    .requiredOption("--policies <paths...>", "policy files or folders (read recursively; YAML or JSON), or - for stdin")
    .addOption(dbOption())
    .addOption(readClusterOption())
    .option("--format <name>", "table, markdown or json", "table")
    .option(
      "--fail-on <checks>",
      "exit 3 when: denied (an observed flow would break), unused (a rule nothing uses)",
      collectList,
      [],
    )
    .action(async (o) => {
      const { diff } = await import("./commands/diff.js");
      await diff(
        { policies: o.policies, db: resolveDbPath(o.db), cluster: o.cluster, format: o.format, failOn: o.failOn },
        out,
      );
    });

  return program;
}

/** Runs the CLI and returns the exit code. */
export async function run(argv: string[], out: Output = processOutput()): Promise<number> {
  const program = buildProgram(out);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0;
      return EXIT_CODES.usage;
    }
    const e = toFlowpolError(err);
    if (e instanceof UsageError || e.code !== "internal") {
      writeLine(out.stderr, `error: ${e.message}`);
    } else {
      writeLine(out.stderr, `internal error: ${e.message}`);
      if (e.cause instanceof Error && e.cause.stack) writeLine(out.stderr, e.cause.stack);
    }
    if (e.hint) writeLine(out.stderr, `  fix: ${e.hint}`);
    return EXIT_CODES[e.code];
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * A reader that stops early (`flowpol stats | head`) closes the pipe: the command still finishes
 * its work (an ingest stores everything it read); only its remaining output goes nowhere.
 */
function ignoreClosedPipes(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "EPIPE") throw err;
    });
  }
}

if (isEntryPoint()) {
  ignoreClosedPipes();
  run(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
