/**
 * Recognises lines seen before up to some unsigned integers, without parsing them again.
 *
 * A template is a learned line cut at its "holes" (integer values that may differ from line to
 * line: times, counters): literal text, hole, literal text, hole, ..., literal text, end of line.
 * Templates share their common beginnings in a tree. A line matches when it is, character for
 * character, the literals of one learned line with other integers (`0` or no leading zero, at most
 * `max`) in its holes. So a matching line has exactly the learned line's structure: when the
 * learned line was valid JSON and its holes were whole integer values, so is the matching line,
 * with the same values everywhere else.
 *
 * Literals are compared as strings (`===` on a slice is a memcmp); where a line can go several
 * ways, the character just past the ways' common beginning picks the candidates (a radix tree).
 *
 * A template's value can be fixed part-way (`valueAfter`): the rest of the line (counters, say) is
 * then a tail, compiled into one sticky regular expression shared by all templates with the same
 * tail, so a line checks its twenty-odd counters in one native call rather than a step per hole.
 */

import { detached, textAt } from "./substrings.js";

export interface HoleSpec {
  /** Index in the matched values; -1 to check the hole without keeping its value. */
  slot: number;
  max: number;
}

export interface Hole extends HoleSpec {
  start: number;
  end: number;
}

interface Step<T> {
  literal: string;
  /** The hole after the literal, then the next choice; undefined at the end of the line. */
  hole: HoleSpec | undefined;
  next: Choice<T> | undefined;
  /** The template's value, at its end or where its tails start. */
  value: T | undefined;
  /** Where the template's value is fixed before the end: the tails seen after the hole. */
  tails: Tail[] | undefined;
}

/** The rest of a line after a template's value is fixed: literals and holes as one pattern. */
interface Tail {
  key: string;
  pattern: RegExp;
  /** The holes whose value is kept or bounded, by capture group (from 1). */
  captured: HoleSpec[];
}

const INTEGER = "0|[1-9][0-9]{0,14}";

function escapeRegExp(literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

function compileTail(key: string, literals: readonly string[], holes: readonly HoleSpec[]): Tail {
  let source = "";
  const captured: HoleSpec[] = [];
  for (const [i, literal] of literals.entries()) {
    source += escapeRegExp(literal);
    const hole = holes[i];
    if (!hole) continue;
    const keep = hole.slot >= 0 || hole.max < Number.MAX_SAFE_INTEGER;
    if (keep) captured.push(hole);
    source += keep ? `(${INTEGER})` : `(?:${INTEGER})`;
  }
  return { key, pattern: new RegExp(`${source}$`, "y"), captured };
}

/** Whether `tail` is the rest of `text` from `pos`; its kept holes go to `values`. */
function tailMatches(tail: Tail, text: string, pos: number, values: number[]): boolean {
  tail.pattern.lastIndex = pos;
  const m = tail.pattern.exec(text);
  if (!m) return false;
  const captured = tail.captured;
  for (let i = 0; i < captured.length; i++) {
    const hole = captured[i] as HoleSpec;
    const n = Number(m[i + 1]);
    if (n > hole.max) return false;
    if (hole.slot >= 0) values[hole.slot] = n;
  }
  return true;
}

/** Up to this many ways are tried one by one. */
const LINEAR_STEPS = 2;
/** More digits than this is not a safe integer: such lines take the general path. */
const MAX_DIGITS = 15;

/** Tails kept per template, and in all: more means the line's tail is not a template's. */
const MAX_TAILS = 4;
const MAX_ALL_TAILS = 64;
/** Characters a tree holds by default: 16 Mi (16-32 MiB of V8 strings), a quarter of a worker's heap. */
const MAX_CHARS = 16 * 1024 * 1024;

/** By halving, with native comparisons: literals are long and share most of their text. */
function commonPrefixLength(a: string, b: string): number {
  let lo = 0;
  let hi = Math.min(a.length, b.length);
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (a.slice(lo, mid) === b.slice(lo, mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The ways a line can continue at one point. With more than a few, they are indexed by the first
 * character past their common beginning, and each group again by its own: a radix tree whose
 * every level costs one character read and one small map lookup.
 */
class Choice<T> {
  readonly steps: Step<T>[] = [];
  /** The steps by literal and hole, so learning a new way costs one lookup, not a scan of the ways. */
  private readonly byKey = new Map<string, Step<T>>();
  /** Where the indexed character is, from the choice's position; -1 when not indexed. */
  private probe = -1;
  private index: Map<number, Choice<T>> | undefined;

  select(text: string, pos: number): Step<T> | undefined {
    let choice: Choice<T> | undefined = this;
    while (choice.index) {
      choice = choice.index.get(text.charCodeAt(pos + choice.probe));
      if (!choice) return undefined;
    }
    for (const step of choice.steps) {
      if (!textAt(text, pos, step.literal)) continue;
      const after = pos + step.literal.length;
      // The first step that fits: the end of the line, or a digit where its hole starts. Should the
      // line then not match further, it takes the general path.
      if (step.hole === undefined ? after === text.length : isDigit(text.charCodeAt(after))) return step;
    }
    return undefined;
  }

  find(literal: string, hole: HoleSpec | undefined): Step<T> | undefined {
    return this.byKey.get(stepKey(literal, hole));
  }

  add(step: Step<T>): void {
    this.steps.push(step);
    this.byKey.set(stepKey(step.literal, step.hole), step);
    const literal = step.literal;
    if (
      this.index &&
      literal.length > this.probe &&
      commonPrefixLength((this.steps[0] as Step<T>).literal, literal) >= this.probe
    ) {
      this.group(step);
      return;
    }
    this.reindex();
  }

  private reindex(): void {
    this.index = undefined;
    this.probe = -1;
    if (this.steps.length <= LINEAR_STEPS) return;
    const first = (this.steps[0] as Step<T>).literal;
    let probe = first.length;
    let shortest = first.length;
    for (const s of this.steps) {
      probe = Math.min(probe, commonPrefixLength(first, s.literal));
      shortest = Math.min(shortest, s.literal.length);
    }
    // A literal that ends where the others go on has no character there to index it by.
    if (shortest === probe) return;
    this.probe = probe;
    this.index = new Map();
    for (const s of this.steps) this.group(s);
  }

  private group(step: Step<T>): void {
    const key = step.literal.charCodeAt(this.probe);
    let group = this.index?.get(key);
    if (!group) {
      group = new Choice<T>();
      this.index?.set(key, group);
    }
    group.add(step);
  }
}

function stepKey(literal: string, hole: HoleSpec | undefined): string {
  return hole === undefined ? `e${literal}` : `${hole.slot},${hole.max},${literal}`;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The end of an integer hole starting at `pos`, or -1 if the text there is not one. */
function holeEnd(text: string, pos: number, max: number, values: number[], slot: number): number {
  let n = 0;
  let i = pos;
  for (; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
  }
  const digits = i - pos;
  if (digits === 0 || digits > MAX_DIGITS || (digits > 1 && text.charCodeAt(pos) === 48) || n > max) return -1;
  if (slot >= 0) values[slot] = n;
  return i;
}

export class LineTemplates<T> {
  private root = new Choice<T>();
  private readonly tails = new Map<string, Tail>();
  private steps = 0;
  /** Characters the tree holds: its literals, and its tails' text (twice: key and pattern). */
  private chars = 0;

  /**
   * At most `maxSteps` steps and `maxChars` characters (then the tree starts over: bounded by
   * design whatever the lines' length); lines over a 64th of `maxChars` are not learned.
   */
  constructor(
    private readonly maxSteps: number,
    private readonly maxChars = MAX_CHARS,
  ) {}

  /**
   * The value learned with the line's template, with the holes' integers in `values` (slots
   * not in the template are left as they were), or undefined when no template fits.
   */
  match(text: string, values: number[]): T | undefined {
    let choice: Choice<T> | undefined = this.root;
    let pos = 0;
    while (choice) {
      const step = choice.select(text, pos);
      if (!step) return undefined;
      pos += step.literal.length;
      const hole = step.hole;
      if (!hole) return step.value;
      pos = holeEnd(text, pos, hole.max, values, hole.slot);
      if (pos === -1) return undefined;
      const tails = step.tails;
      if (tails) {
        for (const tail of tails) if (tailMatches(tail, text, pos, values)) return step.value;
        return undefined;
      }
      choice = step.next;
    }
    return undefined;
  }

  /**
   * Learns a line cut at `holes` (in order, not overlapping; each a whole integer in the line).
   * With `valueAfter`, the value is fixed at that hole and the rest of the line is a tail.
   */
  learn(text: string, holes: readonly Hole[], value: T, valueAfter?: number): void {
    if (text.length > this.maxChars / 64) return;
    if (this.steps + holes.length + 1 > this.maxSteps || this.chars + 3 * text.length > this.maxChars) {
      this.root = new Choice<T>();
      this.tails.clear();
      this.steps = 0;
      this.chars = 0;
    }
    let choice = this.root;
    let pos = 0;
    const last = valueAfter ?? holes.length;
    for (let i = 0; i < last + 1 && i < holes.length; i++) {
      const hole = holes[i] as Hole;
      const spec: HoleSpec = { slot: hole.slot, max: hole.max };
      const literal = text.slice(pos, hole.start);
      const fixesValue = i === valueAfter;
      let step = choice.find(literal, spec);
      // One step per literal and hole in a choice: a line that would need a second one, ending
      // its template where another goes on (or the other way round), is not learned.
      if (step && (step.tails !== undefined) !== fixesValue) return;
      if (!step) {
        step = {
          literal: detached(literal),
          hole: spec,
          next: fixesValue ? undefined : new Choice<T>(),
          value: undefined,
          tails: fixesValue ? [] : undefined,
        };
        choice.add(step);
        this.steps++;
        this.chars += literal.length;
      }
      pos = hole.end;
      if (fixesValue) {
        step.value = value;
        this.addTail(step, text, holes.slice(i + 1), pos);
        return;
      }
      choice = step.next as Choice<T>;
    }
    const literal = text.slice(pos);
    const end = choice.find(literal, undefined);
    if (end) end.value = value;
    else {
      choice.add({ literal: detached(literal), hole: undefined, next: undefined, value, tails: undefined });
      this.steps++;
      this.chars += literal.length;
    }
  }

  private addTail(step: Step<T>, text: string, holes: readonly Hole[], from: number): void {
    const tails = step.tails as Tail[];
    if (tails.length >= MAX_TAILS) return;
    // A tail has its holes where its text says (the keys), so one that fits is this line's tail.
    for (const known of [...tails, ...this.tails.values()]) {
      known.pattern.lastIndex = from;
      if (!known.pattern.test(text)) continue;
      if (!tails.includes(known)) tails.push(known);
      return;
    }
    const literals: string[] = [];
    let pos = from;
    for (const hole of holes) {
      literals.push(text.slice(pos, hole.start));
      pos = hole.end;
    }
    literals.push(text.slice(pos));
    const specs = holes.map((h): HoleSpec => ({ slot: h.slot, max: h.max }));
    const key = JSON.stringify([literals, specs]);
    let tail = this.tails.get(key);
    if (!tail) {
      if (this.tails.size >= MAX_ALL_TAILS) return;
      tail = compileTail(key, literals, specs);
      this.tails.set(key, tail);
      this.steps++;
      this.chars += 2 * key.length;
    }
    tails.push(tail);
  }
}
