/**
 * Parses Hubble JSON lines without re-parsing their endpoints. A flow's `source` and `destination`
 * objects are two thirds of a line, and the same pod writes the same text into thousands of lines.
 * The splicer remembers each endpoint's exact text with its parsed value; a line whose endpoints
 * are both remembered is parsed with the two objects replaced by placeholders, and the remembered
 * values are put back. The result equals `JSON.parse(line)`, except that the endpoint objects are
 * shared between lines: never mutate them.
 *
 * Why this is exact: an unescaped `"source":{` can only be a key and the start of its object value
 * (inside a JSON string the quotes would be escaped); a remembered text is a complete JSON value,
 * so a line that starts with it there holds exactly that value; and the placeholders are strings
 * of control characters that only the escape `\u0000` can write, so a line without that escape
 * cannot hold them. If the placeholders do not land on the flow's `source` and `destination`
 * (duplicate keys, another nesting), the line takes the general path.
 */

import { valueEnd } from "../fast/json-scan.js";
import { detached, textAt } from "../substrings.js";

type Json = Record<string, unknown>;

const SOURCE_KEY = '"source":{';
const DESTINATION_KEY = '"destination":{';
const SOURCE_PLACEHOLDER = "\u0000\u0001";
const DESTINATION_PLACEHOLDER = "\u0000\u0002";
const SOURCE_PLACEHOLDER_TEXT = '"\\u0000\\u0001"';
const DESTINATION_PLACEHOLDER_TEXT = '"\\u0000\\u0002"';
/** Remembered texts are looked up by their first characters, then compared in full. */
const PREFIX_LENGTH = 32;
/** Bounds memory: about 4,096 endpoints of at most 4 KiB of text each. */
const MAX_ENTRIES = 4096;
const MAX_TEXT_LENGTH = 4096;

export interface RememberedEndpoint {
  /** The exact text of the endpoint object, as it appears in lines. */
  text: string;
  /** Its parsed value, shared by every line that holds it. */
  value: Json;
}

export interface LocatedEndpoints {
  source: RememberedEndpoint;
  /** Index of the source object's `{` in the line. */
  sourceStart: number;
  destination: RememberedEndpoint;
  destinationStart: number;
}

export class EndpointSplicer {
  private readonly byPrefix = new Map<string, RememberedEndpoint[]>();
  /** Texts shorter than the prefix (`{"identity":2,"labels":["reserved:world"]}`). */
  private short: RememberedEndpoint[] = [];
  private entries = 0;

  /** The parsed line, or undefined when it must take the general path (`JSON.parse`). */
  parse(line: string): Json | undefined {
    const located = this.locate(line);
    return located && this.splice(line, located);
  }

  /** Where the line's remembered endpoints are; learns the endpoints of a line that has none, if asked. */
  locate(line: string, learns = true): LocatedEndpoints | undefined {
    const sourceKey = line.indexOf(SOURCE_KEY);
    if (sourceKey === -1) return undefined;
    const sourceStart = sourceKey + SOURCE_KEY.length - 1;
    const source = this.find(line, sourceStart);
    const destinationKey = line.indexOf(DESTINATION_KEY, source ? sourceStart + source.text.length : sourceStart);
    if (destinationKey === -1) return undefined;
    const destinationStart = destinationKey + DESTINATION_KEY.length - 1;
    const destination = source && this.find(line, destinationStart);
    if (!source || !destination) {
      if (learns) {
        this.learn(line, sourceStart);
        this.learn(line, destinationStart);
      }
      return undefined;
    }
    return { source, sourceStart, destination, destinationStart };
  }

  /** The parsed line with the located endpoints put back, or undefined for the general path. */
  splice(line: string, at: LocatedEndpoints): Json | undefined {
    if (line.includes("\\u0000")) return undefined;
    const { source, sourceStart, destination, destinationStart } = at;
    const rest =
      line.slice(0, sourceStart) +
      SOURCE_PLACEHOLDER_TEXT +
      line.slice(sourceStart + source.text.length, destinationStart) +
      DESTINATION_PLACEHOLDER_TEXT +
      line.slice(destinationStart + destination.text.length);
    let parsed: unknown;
    try {
      parsed = JSON.parse(rest);
    } catch {
      return undefined;
    }
    const top = parsed as Json;
    const flow = isObject(top.flow) ? top.flow : top;
    if (flow.source !== SOURCE_PLACEHOLDER || flow.destination !== DESTINATION_PLACEHOLDER) return undefined;
    flow.source = source.value;
    flow.destination = destination.value;
    return top;
  }

  private find(line: string, start: number): RememberedEndpoint | undefined {
    const candidates = this.byPrefix.get(line.slice(start, start + PREFIX_LENGTH));
    if (candidates) {
      for (const c of candidates) if (textAt(line, start, c.text)) return c;
    }
    for (const c of this.short) if (textAt(line, start, c.text)) return c;
    return undefined;
  }

  private learn(line: string, start: number): void {
    if (this.find(line, start)) return;
    const end = valueEnd(line, start);
    if (end === -1 || end - start > MAX_TEXT_LENGTH) return;
    const text = detached(line.slice(start, end));
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return;
    }
    if (!isObject(value)) return;
    if (this.entries >= MAX_ENTRIES) this.forget();
    const entry = { text, value };
    if (text.length < PREFIX_LENGTH) {
      this.short.push(entry);
    } else {
      const prefix = text.slice(0, PREFIX_LENGTH);
      const list = this.byPrefix.get(prefix);
      if (list) list.push(entry);
      else this.byPrefix.set(prefix, [entry]);
    }
    this.entries++;
  }

  private forget(): void {
    this.byPrefix.clear();
    this.short = [];
    this.entries = 0;
  }
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
