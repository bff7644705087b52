import { type Flow, isTcpFlags, type TcpFlags } from "../../model/flow.js";
import { type FlowRole, flowRole, roleFromMarkers } from "../../model/initiator.js";
import { BoundedMap } from "../fast/bounded-map.js";
import { jsonStringEnd, plainStringEnd, unsignedEnd, valueSpans } from "../fast/json-scan.js";
import type { RepeatedFlow } from "../record.js";
import { detached, textAt } from "../substrings.js";
import type { LocatedEndpoints, RememberedEndpoint } from "./endpoint-splice.js";

/**
 * Hubble lines between the same two endpoints differ in a few values only: times, uuid, ports,
 * TCP flags. A template is such a line with those values cut out: its constant text, and the
 * flow decoded from it. A line that matches a template, text for text, is decoded by reading the
 * cut-out values into a copy of that flow, with no JSON.parse at all.
 *
 * Why this is exact: the constant text comes from a line that parsed, every cut-out value is
 * checked to be a JSON value of the same type as in that line (a plain string without escapes, a
 * port number, a flat flags object, a remembered endpoint), so a matching line is valid JSON with
 * the same structure; and every field of the flow that depends on a cut-out value is set here by
 * the rules of `hubbleFlowToModel` (`test/unit/hubble-template.test.ts` compares both on every
 * simulated and captured line). Only `{"flow": ...}` envelope lines are templated.
 */

enum Slot {
  FlowTime,
  EnvelopeTime,
  Uuid,
  /** A value the flow model does not use (`Summary`, `l7.latency_ns`): any string or number. */
  Ignored,
  SourcePort,
  DestinationPort,
  Flags,
  Source,
  Destination,
}

const PORTED = new Set(["TCP", "UDP", "SCTP"]);

function slotAt(keys: string[]): Slot | undefined {
  if (keys.length === 1) return keys[0] === "time" ? Slot.EnvelopeTime : undefined;
  if (keys[0] !== "flow") return undefined;
  if (keys.length === 2) {
    switch (keys[1]) {
      case "time":
        return Slot.FlowTime;
      case "uuid":
        return Slot.Uuid;
      case "Summary":
      case "summary":
        return Slot.Ignored;
      case "source":
        return Slot.Source;
      case "destination":
        return Slot.Destination;
    }
    return undefined;
  }
  if (keys.length === 3 && keys[1] === "l7" && (keys[2] === "latency_ns" || keys[2] === "latencyNs")) {
    return Slot.Ignored;
  }
  if (keys.length === 4 && keys[1] === "l4" && PORTED.has(keys[2] as string)) {
    switch (keys[3]) {
      case "source_port":
      case "sourcePort":
        return Slot.SourcePort;
      case "destination_port":
      case "destinationPort":
        return Slot.DestinationPort;
      case "flags":
        return keys[2] === "TCP" ? Slot.Flags : undefined;
    }
  }
  return undefined;
}

const MAX_TEMPLATES_PER_PAIR = 64;
const MAX_TEMPLATES = 8192;
const MAX_FLAG_TEXTS = 256;
const MAX_VARIANTS = 8;

/** Variant keys: a reply, or a request to this destination port (none: `NO_PORT`). */
const REPLY = -1;
const NO_PORT = -2;

export class LineTemplate {
  /** Whether every line of the template is a request or a reply (`is_reply`, `trace_reason`). */
  readonly fixedRole: FlowRole | undefined;

  constructor(
    /** Constant text before each slot, and after the last one: one more than `slots`. */
    readonly segments: string[],
    readonly slots: Slot[],
    readonly base: Flow,
  ) {
    this.fixedRole = roleFromMarkers(base);
  }

  /**
   * One flow object per way this template's lines aggregate (a reply, or a request to a port),
   * so the batch can look the flow's edge up once per object (`BatchBuilder.addRepeat`). Only the
   * time and count differ between lines of a variant as far as aggregation goes.
   */
  private readonly variants = new Map<number, Flow>();

  /** The variant for `key` (a reply, or a request to a port), if a line has made it. */
  variant(key: number): Flow | undefined {
    return this.variants.get(key);
  }

  /** Makes `flow`, a line's flow, the variant for `key`. */
  addVariant(key: number, flow: Flow): Flow {
    if (this.variants.size >= MAX_VARIANTS) this.variants.clear();
    // Without its uuid, a view into the chunk's text that would keep the whole piece alive.
    const { uuid: _, ...kept } = flow;
    this.variants.set(key, kept);
    return kept;
  }

  /** The constant text right after the destination endpoint: where a pair's lines differ most. */
  get afterDestination(): string {
    return this.segments[this.slots.indexOf(Slot.Destination) + 1] as string;
  }
}

/**
 * The templates of one source and destination pair, indexed by the first characters after the
 * destination endpoint (as many as the shortest such text among them).
 */
class PairTemplates {
  private all: LineTemplate[] = [];
  private byKey = new Map<string, LineTemplate[]>();
  private window = Number.POSITIVE_INFINITY;

  candidates(line: string, destinationEnd: number): LineTemplate[] | undefined {
    return this.byKey.get(line.slice(destinationEnd, destinationEnd + this.window));
  }

  /** Adds a template; answers whether the pair grew (false when it replaced its oldest). */
  add(template: LineTemplate): boolean {
    const full = this.all.length >= MAX_TEMPLATES_PER_PAIR;
    if (full) this.all.shift();
    this.all.push(template);
    const window = Math.min(this.window, template.afterDestination.length);
    if (full || window !== this.window) {
      this.window = window;
      this.byKey = new Map();
      for (const t of this.all) this.index(t);
    } else {
      this.index(template);
    }
    return !full;
  }

  private index(template: LineTemplate): void {
    const key = template.afterDestination.slice(0, this.window);
    const list = this.byKey.get(key);
    if (list) list.push(template);
    else this.byKey.set(key, [template]);
  }
}

/**
 * What one line's slots hold, reused from line to line: strings as the span between their quotes
 * (-1: no such slot), numbers and flags as values.
 */
class SlotValues {
  flowTime = -1;
  flowTimeEnd = -1;
  envelopeTime = -1;
  envelopeTimeEnd = -1;
  uuid = -1;
  uuidEnd = -1;
  sourcePort = 0;
  destinationPort = 0;
  flags: TcpFlags | undefined = undefined;

  reset(): void {
    this.flowTime = -1;
    this.envelopeTime = -1;
    this.uuid = -1;
    this.flags = undefined;
  }
}

/** Milliseconds from the RFC 3339 time between `start` and `end` of `text`, as `parseTime` reads it. */
export type TimeSpanParser = (text: string, start: number, end: number) => number | undefined;

export class LineTemplates {
  private readonly byPair = new Map<RememberedEndpoint, Map<RememberedEndpoint, PairTemplates>>();
  private readonly flagTexts = new BoundedMap<string, TcpFlags>(MAX_FLAG_TEXTS);
  private count = 0;
  private readonly values = new SlotValues();

  constructor(private readonly parseTimeSpan: TimeSpanParser) {}

  /**
   * The line as a repeat of a template's flow if it matches one, else undefined (then decode it
   * and `learn`). Aggregates exactly as the line's own flow (`flowOf`) would.
   */
  match(line: string, at: LocatedEndpoints): RepeatedFlow | undefined {
    const templates = this.candidates(line, at);
    if (templates) {
      for (const template of templates) {
        const repeat = this.read(line, at, template) ? this.repeat(line, template) : undefined;
        if (repeat) return repeat;
      }
    }
    return undefined;
  }

  /** The line's whole flow, read from a template it matches; the same as decoding the line. */
  flowOf(line: string, at: LocatedEndpoints): Flow | undefined {
    for (const template of this.candidates(line, at) ?? []) {
      const flow = this.read(line, at, template) ? this.flow(line, template) : undefined;
      if (flow) return flow;
    }
    return undefined;
  }

  private candidates(line: string, at: LocatedEndpoints): LineTemplate[] | undefined {
    const pair = this.byPair.get(at.source)?.get(at.destination);
    return pair?.candidates(line, at.destinationStart + at.destination.text.length);
  }

  /** Remembers the line's shape, with the flow decoded from it by the general rules. */
  learn(line: string, at: LocatedEndpoints, flow: Flow): void {
    if (!line.startsWith('{"flow":')) return;
    const spans = valueSpans(line, 4);
    const segments: string[] = [];
    const slots: Slot[] = [];
    let pos = 0;
    for (const span of spans.sort((a, b) => a.start - b.start)) {
      const slot = slotAt(span.keys);
      if (slot === undefined) continue;
      if ((slot !== Slot.Ignored && slots.includes(slot)) || span.start < pos) return;
      if (!this.fits(line, span.start, span.end, slot, at)) return;
      segments.push(line.slice(pos, span.start));
      slots.push(slot);
      pos = span.end;
    }
    segments.push(line.slice(pos));
    if (!slots.includes(Slot.Source) || !slots.includes(Slot.Destination)) return;
    const template = new LineTemplate(segments.map(detached), slots, flow);
    if (!this.read(line, at, template) || !this.flow(line, template)) return;
    if (this.count >= MAX_TEMPLATES) this.forget();
    let byDestination = this.byPair.get(at.source);
    if (!byDestination) {
      byDestination = new Map();
      this.byPair.set(at.source, byDestination);
    }
    let pair = byDestination.get(at.destination);
    if (!pair) {
      pair = new PairTemplates();
      byDestination.set(at.destination, pair);
    }
    if (pair.add(template)) this.count++;
  }

  /** Whether a learned line's value can be a slot of this kind. */
  private fits(line: string, start: number, end: number, slot: Slot, at: LocatedEndpoints): boolean {
    const first = line.charCodeAt(start);
    switch (slot) {
      case Slot.Source:
        return start === at.sourceStart && end === start + at.source.text.length;
      case Slot.Destination:
        return start === at.destinationStart && end === start + at.destination.text.length;
      case Slot.SourcePort:
      case Slot.DestinationPort:
        return first >= 48 && first <= 57;
      case Slot.Flags:
        return first === 123 && line.indexOf("}", start) === end - 1 && !line.slice(start + 1, end).includes("{");
      case Slot.Ignored:
        return first === 34 ? jsonStringEnd(line, start) === end : unsignedEnd(line, start) === end;
      default:
        return first === 34 && plainStringEnd(line, start + 1) === end - 1;
    }
  }

  /** Whether the line matches the template, text for text; its slots go to `this.values`. */
  private read(line: string, at: LocatedEndpoints, template: LineTemplate): boolean {
    const { segments, slots } = template;
    const values = this.values;
    values.reset();
    let pos = 0;
    for (let i = 0; i < slots.length; i++) {
      const segment = segments[i] as string;
      if (!textAt(line, pos, segment)) return false;
      pos += segment.length;
      const slot = slots[i] as Slot;
      if (slot === Slot.Source) {
        if (pos !== at.sourceStart) return false;
        pos += at.source.text.length;
      } else if (slot === Slot.Destination) {
        if (pos !== at.destinationStart) return false;
        pos += at.destination.text.length;
      } else if (slot === Slot.Ignored) {
        pos = line.charCodeAt(pos) === 34 ? jsonStringEnd(line, pos) : unsignedEnd(line, pos);
        if (pos === -1) return false;
      } else if (slot === Slot.SourcePort || slot === Slot.DestinationPort) {
        const start = pos;
        let port = 0;
        for (let c = line.charCodeAt(pos); c >= 48 && c <= 57; c = line.charCodeAt(++pos)) port = port * 10 + c - 48;
        const digits = pos - start;
        if (digits === 0 || digits > 5 || port > 65535 || (digits > 1 && line.charCodeAt(start) === 48)) return false;
        if (slot === Slot.SourcePort) values.sourcePort = port;
        else values.destinationPort = port;
      } else if (slot === Slot.Flags) {
        if (line.charCodeAt(pos) !== 123) return false;
        const end = line.indexOf("}", pos) + 1;
        if (end === 0) return false;
        const flags = this.flags(line.slice(pos, end));
        if (!flags) return false;
        values.flags = flags;
        pos = end;
      } else {
        if (line.charCodeAt(pos) !== 34) return false;
        const start = pos + 1;
        const end = plainStringEnd(line, start);
        if (end === -1) return false;
        if (slot === Slot.FlowTime) {
          values.flowTime = start;
          values.flowTimeEnd = end;
        } else if (slot === Slot.EnvelopeTime) {
          values.envelopeTime = start;
          values.envelopeTimeEnd = end;
        } else if (slot === Slot.Uuid) {
          values.uuid = start;
          values.uuidEnd = end;
        }
        pos = end + 1;
      }
    }
    const last = segments[slots.length] as string;
    return line.length - pos === last.length && textAt(line, pos, last);
  }

  /** The time of the line just read. The envelope's time counts only when the flow has none. */
  private time(line: string): number | undefined {
    const { flowTime, flowTimeEnd, envelopeTime, envelopeTimeEnd } = this.values;
    if (flowTime !== -1) return this.parseTimeSpan(line, flowTime, flowTimeEnd);
    if (envelopeTime !== -1) return this.parseTimeSpan(line, envelopeTime, envelopeTimeEnd);
    return undefined;
  }

  /** The line just read as a repeat of one of its template's variants. */
  private repeat(line: string, template: LineTemplate): RepeatedFlow | undefined {
    const values = this.values;
    const time = this.time(line);
    if (time === undefined || (values.uuid !== -1 && values.uuid === values.uuidEnd)) return undefined;
    const { base, fixedRole } = template;
    // The whole flow only where the template's constant text does not decide the role.
    let flow: Flow | undefined;
    let key: number;
    if (fixedRole === "reply") {
      key = REPLY;
    } else if (fixedRole === "request") {
      key = base.destinationPort === undefined ? NO_PORT : values.destinationPort;
    } else {
      flow = this.flow(line, template) as Flow;
      key = flowRole(flow) === "reply" ? REPLY : (flow.destinationPort ?? NO_PORT);
    }
    const variant = template.variant(key) ?? template.addVariant(key, flow ?? (this.flow(line, template) as Flow));
    if (values.uuid === -1) return { kind: "repeat", flow: variant, time, count: base.count };
    return {
      kind: "repeat",
      flow: variant,
      time,
      count: base.count,
      uuid: detached(line.slice(values.uuid, values.uuidEnd)),
    };
  }

  /** The line just read as a whole flow, by the rules of `hubbleFlowToModel`. */
  private flow(line: string, template: LineTemplate): Flow | undefined {
    const values = this.values;
    const time = this.time(line);
    if (time === undefined) return undefined;
    const flow: Flow = { ...template.base };
    flow.time = time;
    if (values.uuid !== -1) {
      if (values.uuid === values.uuidEnd) return undefined;
      flow.uuid = line.slice(values.uuid, values.uuidEnd);
    }
    if (flow.sourcePort !== undefined) flow.sourcePort = values.sourcePort;
    if (flow.destinationPort !== undefined) flow.destinationPort = values.destinationPort;
    if (values.flags) flow.tcpFlags = values.flags;
    return flow;
  }

  private flags(text: string): TcpFlags | undefined {
    let flags = this.flagTexts.get(text);
    if (flags) return flags;
    try {
      const value: unknown = JSON.parse(text);
      if (!isTcpFlags(value)) return undefined;
      flags = value;
    } catch {
      return undefined;
    }
    this.flagTexts.set(detached(text), flags);
    return flags;
  }

  private forget(): void {
    this.byPair.clear();
    this.count = 0;
  }
}
