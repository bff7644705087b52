import { availableParallelism } from "node:os";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { CallOutcome, GrpcChannel, StreamCall } from "../collect/grpc/channel.js";
import { classifyGrpcError, type ErrorContext } from "../collect/grpc/errors.js";
import type { TlsFlags } from "../collect/grpc/tls.js";
import { compareTime, GRPC_FORMAT, type NanoTime, type Peek, peekResponse } from "../collect/hubble/grpc-chunk.js";
import { decodeResponse } from "../collect/hubble/grpc-flow.js";
import { connectObserver } from "../collect/hubble/observer-client.js";
import { getFlowsMethod } from "../collect/hubble/observer-service.js";
import { ParsePool } from "../collect/worker-pool.js";
import { SourceError } from "../errors.js";
import { FlowFilterSchema } from "../gen/flow/flow_pb.js";
import { type GetFlowsRequest, GetFlowsRequestSchema, type ServerStatusResponse } from "../gen/observer/observer_pb.js";
import type { IngestCounts } from "../store/ingest-log.js";
import type { FlowStore } from "../store/store.js";
import { Backoff, LiveSession, Stop, sleep } from "./live-session.js";
import { type NodeGap, RelayCommits } from "./relay-commits.js";
import { RelayResume } from "./relay-resume.js";

/**
 * `flowpol collect hubble`: streams GetFlows from Hubble Relay (or a Hubble server) into the store
 * through the same batch path as file ingest. Reconnects with exponential backoff and jitter,
 * resumes from the newest event stored and drops the overlap by key (see collect-cursor.ts).
 */

export interface CollectOptions {
  /** The store, or how to open it: opened once the server answered, so a failed connection creates no store. */
  store: FlowStore | (() => Promise<FlowStore>);
  /** `--cluster`: the cluster of every flow (else the cluster each flow names, else "default"). */
  cluster?: string | undefined;
  server: string;
  tls: TlsFlags;
  since?: NanoTime;
  until?: NanoTime;
  last?: number;
  follow: boolean;
  namespaces: string[];
  /** Stop after this long (ms). */
  durationMs?: number;
  requestTimeoutMs: number;
  /** Give up when no connection could be made for this long (ms). */
  reconnectTimeoutMs: number;
  /** Parse workers; 0 decodes on the main thread. */
  workers?: number;
  batchMessages?: number;
  flushIntervalMs?: number;
  signal?: AbortSignal;
  now?: () => number;
  onStatus?: (status: ServerStatusResponse) => void;
  onProgress?: (p: HubbleCollectProgress) => void;
  onReconnect?: (info: { attempt: number; delayMs: number; reason: string }) => void;
  onResume?: (from: NanoTime) => void;
  /** How often the cursor's lease is renewed while nothing is written (default LEASE_RENEW_MS). */
  leaseRenewMs?: number;
}

export interface HubbleCollectProgress {
  flows: number;
  lost: number;
  messages: number;
}

export interface HubbleCollectSummary extends IngestCounts {
  messages: number;
  duplicates: number;
  reconnects: number;
  unavailableNodes: string[];
  stoppedBy: "end" | "signal" | "duration";
  resumedFrom?: NanoTime;
}

const UNAVAILABLE_AT_START = "unavailable at start (ServerStatus)";
const UNAVAILABLE_STATES = new Set(["NODE_UNAVAILABLE", "NODE_GONE", "NODE_ERROR"]);
const BACKOFF_BASE_MS = 100;
const BACKOFF_MAX_MS = 5_000;

/** The resume key of a session: the server and the filters that shape what it returns. */
export function cursorSource(server: string, namespaces: string[]): string {
  const ns = [...new Set(namespaces)].sort();
  return `hubble://${server}${ns.length > 0 ? `?namespace=${ns.join(",")}` : ""}`;
}

function namespaceFilters(namespaces: string[]) {
  return namespaces.flatMap((ns) => [
    create(FlowFilterSchema, { sourcePod: [`${ns}/`] }),
    create(FlowFilterSchema, { destinationPod: [`${ns}/`] }),
  ]);
}

function toTimestamp(t: NanoTime) {
  return { ...timestampFromMs(0), seconds: BigInt(t.seconds), nanos: t.nanos };
}

/**
 * Decode workers when `--workers` is not given: one per core but one (which the main thread keeps
 * for the stream and the store), at most 4; none below 4 cores. With two cores, the one worker
 * spent twice the CPU of decoding on the main thread (its smaller heap collected garbage a third
 * of the time) and collected high-churn traffic at 18,700 flows/s against 31,700 without it, the
 * simulator's at the same rate (docs/design.md, "Hubble gRPC: speed").
 */
export function defaultDecodeWorkers(cores: number): number {
  return cores < 4 ? 0 : Math.min(4, cores - 1);
}

export async function collectHubble(options: CollectOptions): Promise<HubbleCollectSummary> {
  const now = options.now ?? Date.now;
  const stop = new Stop(options.signal);

  const source = cursorSource(options.server, options.namespaces);
  const workers = options.workers ?? defaultDecodeWorkers(availableParallelism());
  const pool = workers > 0 ? new ParsePool(workers) : undefined;
  const counts: IngestCounts = { flows: 0, replies: 0, skipped: 0, bad: 0, lost: 0 };
  const summary = emptySummary();
  let session: LiveSession | undefined;
  let connected: GrpcChannel | undefined;

  try {
    const {
      channel,
      status,
      errors: errorContext,
    } = await connectObserver(options.server, options.tls, options.requestTimeoutMs);
    connected = channel;
    options.onStatus?.(status);
    const live = await LiveSession.open({
      store: options.store,
      source,
      system: "hubble",
      format: GRPC_FORMAT,
      ...(options.leaseRenewMs !== undefined && { leaseRenewMs: options.leaseRenewMs }),
    });
    session = live;
    const stored = live.stored;
    const resume = await RelayResume.of(live);
    if (stored) {
      summary.resumedFrom = { seconds: stored.seconds, nanos: stored.nanos };
      options.onResume?.(summary.resumedFrom);
    }

    const commits = new RelayCommits(live, pool, options.cluster, resume, summary, counts, {
      batchMessages: options.batchMessages ?? 8192,
      maxQueue: Math.max(3, workers * 2 + 1),
      ...(options.onProgress && { onProgress: options.onProgress }),
    });
    for (const node of status.unavailableNodes) commits.addGap({ node, detail: UNAVAILABLE_AT_START, time: now() });
    const onMessage = (buf: Buffer) => {
      summary.messages++;
      let peek: Peek;
      try {
        peek = peekResponse(buf);
      } catch {
        commits.add(buf, current);
        return;
      }
      if (!resume.accept(buf, peek)) {
        summary.duplicates++;
        return;
      }
      if (peek.kind === "node_status") for (const gap of unavailableNodes(buf, now)) commits.addGap(gap);
      commits.add(buf, current);
    };

    let current: StreamCall | undefined;
    const flushTimer = setInterval(() => {
      commits.flush();
      commits.drain(0).catch(() => {}); // the error surfaces at the final drain
    }, options.flushIntervalMs ?? 1000);
    stop.limit(options.durationMs);
    stop.signal.addEventListener("abort", () => current?.cancel(), { once: true });

    try {
      const backoff = new Backoff(BACKOFF_BASE_MS, BACKOFF_MAX_MS);
      let lastGood = now();
      let firstRequest = true;
      while (!stop.signal.aborted) {
        const request = buildRequest(options, firstRequest && !stored ? undefined : resume.requestFrom());
        firstRequest = false;
        let received = false;
        const call = channel.serverStream(getFlowsMethod.path, toBinary(GetFlowsRequestSchema, request), (buf) => {
          if (!received) {
            received = true;
            backoff.reset();
          }
          lastGood = now();
          onMessage(buf);
        });
        current = call;
        if (stop.signal.aborted) call.cancel();
        const failure = await call.done;
        current = undefined;
        commits.streamEnded();
        if (stop.signal.aborted) break;
        if (!failure && !options.follow) break;
        const reason = retryableFailure(failure, errorContext, options, now() - lastGood);
        // Everything received so far is already in memory: re-read the window before the newest
        // event, where Relay's sort buffer may still hold late events, and drop what was received.
        commits.flush();
        resume.beginReconnect();
        const delayMs = backoff.next();
        summary.reconnects++;
        options.onReconnect?.({ attempt: backoff.attempts, delayMs, reason });
        await sleep(delayMs, stop.signal);
      }
    } finally {
      clearInterval(flushTimer);
      commits.flush();
      await commits.drain(0);
    }
    const done = live;
    session = undefined;
    await done.finish("complete");
    summary.unavailableNodes = [...new Set(status.unavailableNodes)];
    return { ...summary, ...counts, stoppedBy: stop.stoppedBy };
  } catch (err) {
    await session?.finish("failed").catch(() => {}); // the error that stopped the run is the one reported
    throw err;
  } finally {
    stop.dispose();
    connected?.close();
    await pool?.close();
  }
}

function emptySummary(): HubbleCollectSummary {
  return {
    ...{ flows: 0, replies: 0, skipped: 0, bad: 0, lost: 0 },
    messages: 0,
    duplicates: 0,
    reconnects: 0,
    unavailableNodes: [],
    stoppedBy: "end",
  };
}

/** The gaps a node status message reports: the nodes Relay could not reach. */
function unavailableNodes(buf: Buffer, now: () => number): NodeGap[] {
  const decoded = decodeResponse(buf);
  if (decoded.kind !== "node_status" || !UNAVAILABLE_STATES.has(decoded.status.state)) return [];
  const { state, message } = decoded.status;
  const detail = `${state}${message ? `: ${message}` : ""}`;
  return decoded.status.nodes.map((node) => ({ node, detail, time: decoded.time ?? now() }));
}

/**
 * Why the stream ended, when it is worth reconnecting; throws when it is not (an error no retry
 * mends, or no message for longer than `--reconnect-timeout`).
 */
function retryableFailure(
  failure: CallOutcome,
  errorContext: ErrorContext,
  options: CollectOptions,
  quietMs: number,
): string {
  const classified = failure
    ? classifyGrpcError(failure, errorContext)
    : { error: new SourceError(`${options.server} ended the stream`), retryable: true };
  if (!classified.retryable) throw classified.error;
  if (quietMs > options.reconnectTimeoutMs) {
    throw new SourceError(
      `gave up reconnecting to ${options.server} after ${Math.round(options.reconnectTimeoutMs / 1000)}s: ${classified.error.message}`,
      classified.error.hint,
      { cause: classified.error },
    );
  }
  return classified.error.message;
}

function buildRequest(options: CollectOptions, resumeFrom: NanoTime | undefined): GetFlowsRequest {
  const request = create(GetFlowsRequestSchema, {
    follow: options.follow,
    whitelist: namespaceFilters(options.namespaces),
  });
  if (options.until) request.until = toTimestamp(options.until);
  if (resumeFrom) {
    const since = options.since && compareTime(options.since, resumeFrom) > 0 ? options.since : resumeFrom;
    request.since = toTimestamp(since);
    return request;
  }
  if (options.since) request.since = toTimestamp(options.since);
  if (options.last !== undefined) request.number = BigInt(options.last);
  return request;
}
