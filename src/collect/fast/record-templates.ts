import type { Flow } from "../../model/flow.js";
import type { RepeatedFlow } from "../record.js";
import type { JsonMember } from "./json-scan.js";
import { type Hole, type HoleSpec, LineTemplates } from "./line-templates.js";
import { RepeatGate } from "./repeat-gate.js";

/**
 * Line templates of flow records that repeat themselves: a record differs from an earlier one of
 * the same connection pair mostly in its times and counters. So each record line that goes
 * through `JSON.parse` is learned (`LineTemplates`) with those integers as holes, and a later line
 * that fits a template is the learned record with its own start time and connection count, found
 * without parsing or converting anything. A format says what its members mean (`RecordMembers`);
 * every other integer member is a counter its conversion does not read, a hole whose value is
 * dropped. Integers are bare or quoted (protobuf-JSON writes int64 as strings); a hole takes only
 * canonical ones (`0`, or no leading zero), which every reader of the general path reads alike.
 *
 * Which path decodes a line never changes its result: a line that fits is, character for
 * character, the learned line with other integers where the conversion reads only the time and
 * the counts. The formats' tests compare both paths line by line.
 */
export interface RecordMembers {
  /** The start time in seconds, as aliases: the first one present is the one read. */
  time: readonly string[];
  /** Members read instead of the time when its member holds no integer (a fallback time). */
  timeFallback: ReadonlySet<string>;
  /** Connection counts, each as aliases (the first present is read): a record counts the largest, at least 1. */
  counts: ReadonlyArray<readonly string[]>;
  /** Integer members the conversion only checks against a bound (a source port). */
  bounded: ReadonlyMap<string, number>;
  /** Members the conversion reads: their text stays in the template as it is. */
  read: ReadonlySet<string>;
  /** The learned record's count from its count members but `holes` (which the matched lines give). */
  countWithout(record: Record<string, unknown>, holes: ReadonlySet<string>): number;
}

/** A line no template fits, parsed: convert it, and offer it to `learn` if `learns()`. */
export interface ParsedLine {
  kind: "parsed";
  value: unknown;
}

interface Template {
  flow: Flow;
  /** The learned record's time and count, for templates where those are not holes. */
  time: number;
  count: number;
}

const TIME = 0;
const ANY = Number.MAX_SAFE_INTEGER;
const UNREAD: HoleSpec = { slot: -1, max: ANY };

export class RecordTemplates {
  private readonly templates: LineTemplates<Template>;
  private readonly gate = new RepeatGate();
  /** The time (slot 0, -1 when not a hole), then each count (0 when not a hole). */
  private readonly values: number[];

  constructor(
    private readonly members: RecordMembers,
    maxSteps: number,
  ) {
    this.templates = new LineTemplates<Template>(maxSteps);
    this.values = new Array<number>(1 + members.counts.length).fill(0);
  }

  /**
   * The learned record this line repeats; else the line parsed (`ParsedLine`); undefined when the
   * line is not tried, or is not JSON (the general path parses it again and says why).
   */
  match(text: string): RepeatedFlow | ParsedLine | undefined {
    if (text.charCodeAt(0) !== 123 /* { */ || !this.gate.tries()) return undefined;
    const values = this.values;
    values.fill(0);
    values[TIME] = -1;
    const template = this.templates.match(text, values);
    if (!template) {
      try {
        return { kind: "parsed", value: JSON.parse(text) };
      } catch {
        return undefined;
      }
    }
    this.gate.hit();
    const start = values[TIME] as number;
    let count = template.count;
    for (let i = 1; i < values.length; i++) if ((values[i] as number) > count) count = values[i] as number;
    return { kind: "repeat", flow: template.flow, time: start >= 0 ? start * 1000 : template.time, count };
  }

  /** Whether a line that missed is worth learning now (`RepeatGate.learns`); ask once per line. */
  learns(): boolean {
    return this.gate.learns();
  }

  /**
   * Learns the line of a record converted to `flow`: `record` is the line's parsed object, whose
   * top-level `members` (`topLevelMembers`) are where the holes go.
   */
  learn(text: string, record: Record<string, unknown>, members: readonly JsonMember[], flow: Flow): void {
    const { time, timeFallback, counts, bounded, read } = this.members;
    const present = new Set(members.map((m) => m.key));
    const readAlias = (aliases: readonly string[]) => aliases.find((k) => present.has(k));
    const slots = new Map<string, HoleSpec>();
    const timeKey = readAlias(time);
    const timeMember = members.find((m) => m.key === timeKey);
    const timeIsHole = timeMember !== undefined && integerSpan(text, timeMember) !== undefined;
    if (timeKey !== undefined && timeIsHole) slots.set(timeKey, { slot: TIME, max: ANY });
    counts.forEach((aliases, i) => {
      const key = readAlias(aliases);
      if (key !== undefined) slots.set(key, { slot: 1 + i, max: ANY });
    });
    const isRead = (key: string) =>
      read.has(key) || key === timeKey || (!timeIsHole && timeFallback.has(key)) || slots.has(key);
    const holes: Hole[] = [];
    const countHoles = new Set<string>();
    // Where the last member the record depends on (other than through a hole) ends: the template's
    // value is fixed at the first hole after it, and the rest of the line is a shared tail.
    let fixedUntil = 0;
    for (const m of members) {
      const span = integerSpan(text, m);
      const spec = span && (slots.get(m.key) ?? boundedSpec(bounded, m.key) ?? (isRead(m.key) ? undefined : UNREAD));
      if (span && spec) {
        holes.push({ slot: spec.slot, max: spec.max, start: span[0], end: span[1] });
        if (spec.slot > TIME) countHoles.add(m.key);
      } else if (isRead(m.key) || bounded.has(m.key)) fixedUntil = m.end;
    }
    const valueAfter = holes.findIndex((h) => h.start > fixedUntil);
    // The flow keeps the learned line's unread fields (a source port, say): the aggregation does not read them.
    const count = this.members.countWithout(record, countHoles);
    this.templates.learn(text, holes, { flow, time: flow.time, count }, valueAfter === -1 ? undefined : valueAfter);
  }

  /** Whether the fast path stands aside for most lines now (`RepeatGate.bypassed`). */
  get bypassed(): boolean {
    return this.gate.bypassed;
  }
}

function boundedSpec(bounded: ReadonlyMap<string, number>, key: string): HoleSpec | undefined {
  const max = bounded.get(key);
  return max === undefined ? undefined : { slot: -1, max };
}

/** Where a member's integer digits are: the whole value, or inside its quotes; undefined when not an integer. */
function integerSpan(text: string, m: JsonMember): [number, number] | undefined {
  if (m.isInteger) return [m.start, m.end];
  if (m.end - m.start < 3 || text.charCodeAt(m.start) !== 34 || text.charCodeAt(m.end - 1) !== 34) return undefined;
  for (let i = m.start + 1; i < m.end - 1; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  return [m.start + 1, m.end - 1];
}
