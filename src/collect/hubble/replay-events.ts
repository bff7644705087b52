import { create, fromJson, type JsonValue, toBinary } from "@bufbuild/protobuf";
import { InputError } from "../../errors.js";
import { LostEventSource } from "../../gen/flow/flow_pb.js";
import { type GetFlowsResponse, GetFlowsResponseSchema } from "../../gen/observer/observer_pb.js";
import { openInput } from "../read-input.js";
import type { NanoTime } from "./grpc-chunk.js";

/**
 * Recorded Hubble JSON (the files `flowpol ingest` reads: `hubble observe -o jsonpb`, exporter
 * files, legacy bare flows, wrapped log lines) turned into encoded GetFlowsResponse messages for
 * the replay server, sorted by time as a Hubble ring buffer holds them.
 */

export interface ReplayEvent {
  kind: "flow" | "lost";
  time: NanoTime;
  bytes: Buffer;
  node: string;
  sourcePod: string;
  destinationPod: string;
}

export interface LoadedEvents {
  events: ReplayEvent[];
  skipped: number;
  bad: Array<{ file: string; line: number; reason: string }>;
}

type Json = Record<string, unknown>;

function asObject(v: unknown): Json | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Json) : undefined;
}

function unwrap(obj: Json): Json | undefined {
  const wrapped = typeof obj.log === "string" ? obj.log : typeof obj.message === "string" ? obj.message : undefined;
  if (wrapped !== undefined && obj.flow === undefined && wrapped.trimStart().startsWith("{")) {
    return asObject(JSON.parse(wrapped));
  }
  return obj;
}

/** The envelope for one record, or a reason it is not a flow or lost-events record. */
function toEnvelope(value: Json): Json | string {
  if (value.flow !== undefined || value.lost_events !== undefined || value.lostEvents !== undefined) {
    const out: Json = {};
    for (const key of ["flow", "lost_events", "lostEvents", "node_name", "nodeName", "time"]) {
      if (value[key] !== undefined) out[key] = value[key];
    }
    return out;
  }
  if (value.node_status !== undefined || value.agent_event !== undefined || value.debug_event !== undefined) {
    return "skip";
  }
  if (value.verdict !== undefined || value.IP !== undefined || value.source !== undefined) {
    const out: Json = { flow: value };
    if (typeof value.node_name === "string") out.node_name = value.node_name;
    if (value.time !== undefined) out.time = value.time;
    return out;
  }
  return "the object is not a Hubble flow, envelope or event";
}

function nanoTime(ts: { seconds: bigint; nanos: number } | undefined): NanoTime | undefined {
  return ts ? { seconds: Number(ts.seconds), nanos: ts.nanos } : undefined;
}

function podOf(ep: { namespace: string; podName: string } | undefined): string {
  return ep?.namespace ? `${ep.namespace}/${ep.podName}` : "";
}

export function eventFromResponse(response: GetFlowsResponse): ReplayEvent | undefined {
  const r = response.responseTypes;
  if (r.case === "flow") {
    const time = nanoTime(response.time) ?? nanoTime(r.value.time);
    if (!time) return undefined;
    if (!response.time) response.time = r.value.time;
    return {
      kind: "flow",
      time,
      bytes: Buffer.from(toBinary(GetFlowsResponseSchema, response)),
      node: response.nodeName || r.value.nodeName,
      sourcePod: podOf(r.value.source),
      destinationPod: podOf(r.value.destination),
    };
  }
  if (r.case === "lostEvents") {
    const time = nanoTime(response.time) ?? nanoTime(r.value.last) ?? { seconds: 0, nanos: 0 };
    return {
      kind: "lost",
      time,
      bytes: Buffer.from(toBinary(GetFlowsResponseSchema, response)),
      node: response.nodeName,
      sourcePod: "",
      destinationPod: "",
    };
  }
  return undefined;
}

/** Reads every file (plain or gzip) into time-sorted events. Bad lines are reported, not fatal. */
export async function loadReplayEvents(files: string[]): Promise<LoadedEvents> {
  const loaded: LoadedEvents = { events: [], skipped: 0, bad: [] };
  for (const file of files) {
    const input = await openInput(file);
    try {
      let text = "";
      for await (const chunk of input.stream) text += chunk.toString("utf8");
      const lines = text.split("\n");
      for (const [i, raw] of lines.entries()) {
        const line = raw.trim();
        if (!line) continue;
        const bad = (reason: string) => loaded.bad.push({ file, line: i + 1, reason });
        try {
          const parsed = JSON.parse(line) as unknown;
          const records = Array.isArray(parsed) ? parsed : [parsed];
          for (const item of records) {
            const obj = asObject(item);
            const inner = obj && unwrap(obj);
            const envelope = inner ? toEnvelope(inner) : "the line is not a JSON object";
            if (envelope === "skip") {
              loaded.skipped++;
              continue;
            }
            if (typeof envelope === "string") {
              bad(envelope);
              continue;
            }
            const response = fromJson(GetFlowsResponseSchema, envelope as JsonValue, { ignoreUnknownFields: true });
            const event = eventFromResponse(response);
            if (event) loaded.events.push(event);
            else bad("the record has no time");
          }
        } catch (err) {
          bad((err as Error).message);
        }
      }
    } finally {
      input.close();
    }
  }
  if (loaded.events.length === 0) {
    throw new InputError(
      `no Hubble flows in ${files.join(", ")}`,
      undefined,
      "give files written by `hubble observe -o jsonpb` or the Hubble exporter to --from",
    );
  }
  loaded.events.sort((a, b) => a.time.seconds - b.time.seconds || a.time.nanos - b.time.nanos);
  return loaded;
}

/** A synthetic ring-buffer overflow record at a given time, for `--lost-every`. */
export function lostEventsAt(time: NanoTime, node: string, lost: number): ReplayEvent {
  const ts = { seconds: BigInt(time.seconds), nanos: time.nanos };
  const response = create(GetFlowsResponseSchema, {
    responseTypes: {
      case: "lostEvents",
      value: { source: LostEventSource.HUBBLE_RING_BUFFER, numEventsLost: BigInt(lost), first: ts, last: ts },
    },
    nodeName: node,
    time: ts,
  });
  return {
    kind: "lost",
    time,
    bytes: Buffer.from(toBinary(GetFlowsResponseSchema, response)),
    node,
    sourcePod: "",
    destinationPod: "",
  };
}

export function describeTime(t: NanoTime): string {
  return new Date(t.seconds * 1000 + Math.floor(t.nanos / 1e6)).toISOString();
}
