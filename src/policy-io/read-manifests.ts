import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { type Document, isMap, isSeq, LineCounter, parseAllDocuments } from "yaml";
import { InputError } from "../errors.js";
import type { RawObject } from "../policy/objects.js";

/**
 * Reads Kubernetes manifests: files, folders (recursively, in name order, only .yaml/.yml/.json
 * inside folders) and `-` for stdin; YAML or JSON, multi-document, `List` kinds flattened.
 * Every object keeps its file, document index and line.
 */
export interface ManifestWarning {
  file: string;
  document?: number;
  line?: number;
  message: string;
}

export interface Manifests {
  objects: RawObject[];
  /** YAML syntax errors (fatal unless the caller is lenient) and things that are not Kubernetes objects. */
  syntaxErrors: ManifestWarning[];
  warnings: ManifestWarning[];
  files: string[];
}

const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

export interface ReadManifestsOptions {
  /** The text of stdin, read by the caller when a path is `-`. */
  stdin?: () => string;
}

export function listManifestFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) out.push(full);
    }
  };
  for (const path of paths) {
    if (path === "-") {
      out.push("-");
      continue;
    }
    let isDir: boolean;
    try {
      isDir = statSync(path).isDirectory();
    } catch {
      throw new InputError(
        `no such file or folder: ${path}`,
        undefined,
        "check the path given to --policies/--dirpath",
      );
    }
    if (isDir) walk(path);
    else out.push(path);
  }
  return out;
}

export function readManifests(paths: readonly string[], options: ReadManifestsOptions = {}): Manifests {
  const result: Manifests = { objects: [], syntaxErrors: [], warnings: [], files: [] };
  for (const file of listManifestFiles(paths)) {
    const text = file === "-" ? (options.stdin?.() ?? "") : readFileSync(file, "utf8");
    result.files.push(file);
    const name = file === "-" ? "<stdin>" : file;
    parseManifestText(name, text, result);
  }
  return result;
}

/** Manifests given as texts (files of a git tree), read as `readManifests` reads files. */
export function readManifestTexts(files: ReadonlyArray<{ path: string; text: string }>): Manifests {
  const result: Manifests = { objects: [], syntaxErrors: [], warnings: [], files: [] };
  for (const { path, text } of files) {
    result.files.push(path);
    parseManifestText(path, text, result);
  }
  return result;
}

/**
 * One file's documents, each object with its line; field lines are found when asked for (an error,
 * a lint finding). The first syntax error is reported with its line and ends the file.
 */
export function parseManifestText(file: string, text: string, into: Manifests): void {
  const { list, lineCounter } = parseYamlDocuments(text);
  // Like kubectl and netpol-analyzer, a syntax error ends the file: later documents are not read.
  const firstBad = list.findIndex((d) => d.errors.length > 0);
  if (firstBad !== -1) {
    const err = list[firstBad]!.errors[0]!;
    const rest = list.length - firstBad - 1;
    into.syntaxErrors.push({
      file,
      document: firstBad,
      line: lineCounter.linePos(err.pos[0]).line,
      message: `YAML syntax error: ${err.message.split("\n")[0]}${rest > 0 ? ` (the ${rest} documents after it were not read)` : ""}`,
    });
  }
  list.slice(0, firstBad === -1 ? list.length : firstBad).forEach((doc, index) => {
    const root = doc.contents;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      into.syntaxErrors.push({ file, document: index, message: `YAML error: ${(err as Error).message}` });
      return;
    }
    if (value === null || value === undefined) return;
    const add = (v: unknown, node: unknown) => addObject(file, index, v, node, lineCounter, into);
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        add(v, isSeq(root) ? root.items[i] : undefined);
      });
      return;
    }
    const obj = value as Record<string, unknown>;
    if (typeof obj.kind === "string" && obj.kind.endsWith("List") && Array.isArray(obj.items)) {
      const itemsNode = isMap(root) ? root.get("items", true) : undefined;
      // Items of a typed list (PodList, NamespaceList...) may omit their kind.
      const itemKind = obj.kind.slice(0, -"List".length);
      obj.items.forEach((v, i) => {
        const node = isSeq(itemsNode) ? itemsNode.items[i] : undefined;
        const item =
          v && typeof v === "object" && !Array.isArray(v) && itemKind && !("kind" in v) ? { kind: itemKind, ...v } : v;
        add(item, node);
      });
      return;
    }
    add(value, root);
  });
}

type YamlDocuments = { list: Document.Parsed[]; lineCounter: LineCounter };

const TAB_IN_INDENT = /^ *\t/m;
const FLOW_INDENT_ERROR = /^Flow (sequence|map) in block collection must be sufficiently indented/;

/**
 * YAML forbids tabs in indentation, but Go's YAML reader (kubectl, netpol-analyzer) skips them
 * inside `[ ]` and `{ }`, and real manifests have them there. A text whose first error is a flow
 * collection's indentation, and that has such a tab, is read again with leading tabs expanded to
 * the next multiple of 8 columns (lines keep their numbers); the first reading stands if that one
 * fails too. A tab in block indentation stays an error, as in kubectl.
 */
function parseYamlDocuments(text: string): YamlDocuments {
  const read = (t: string): YamlDocuments => {
    const lineCounter = new LineCounter();
    const docs = parseAllDocuments(t, { lineCounter, uniqueKeys: false });
    return { list: Array.isArray(docs) ? docs : [], lineCounter };
  };
  const first = read(text);
  const firstError = first.list.find((d) => d.errors.length > 0)?.errors[0];
  if (!firstError || !FLOW_INDENT_ERROR.test(firstError.message) || !TAB_IN_INDENT.test(text)) return first;
  const again = read(text.replace(/^[ \t]+/gm, expandTabs));
  return again.list.some((d) => d.errors.length > 0) ? first : again;
}

function expandTabs(indent: string): string {
  let out = "";
  for (const c of indent) out += c === "\t" ? " ".repeat(8 - (out.length % 8)) : c;
  return out;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range?.[0];
}

function addObject(
  file: string,
  document: number,
  value: unknown,
  node: unknown,
  lineCounter: LineCounter,
  into: Manifests,
): void {
  const start = rangeStart(node);
  const line = start === undefined ? undefined : lineCounter.linePos(start).line;
  const source = line === undefined ? { file, document } : { file, document, line };
  if (!isObject(value) || typeof value.kind !== "string") {
    notAnObject(into, file, document, line);
    return;
  }
  const lineOf = (path: string) => {
    const at = rangeStart(nodeAt(node, path));
    return at === undefined ? line : lineCounter.linePos(at).line;
  };
  into.objects.push({ value, source, lineOf });
}

const NOT_OBJECT = "not a Kubernetes object (no kind)";

/** One warning per document, however many of its items are not Kubernetes objects. */
function notAnObject(into: Manifests, file: string, document: number, line: number | undefined): void {
  const last = into.warnings[into.warnings.length - 1];
  if (last && last.file === file && last.document === document && last.message.startsWith(NOT_OBJECT)) {
    const n = Number(/\((\d+) items\)/.exec(last.message)?.[1] ?? "1") + 1;
    last.message = `${NOT_OBJECT} (${n} items): skipped`;
  } else {
    into.warnings.push(
      line === undefined
        ? { file, document, message: `${NOT_OBJECT}: skipped` }
        : { file, document, line, message: `${NOT_OBJECT}: skipped` },
    );
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The YAML node at a JSON path such as `spec.ingress[0].from`, or the nearest existing parent. */
export function nodeAt(root: unknown, path: string): unknown {
  const segments = path.match(/[^.[\]]+/g) ?? [];
  let node = root;
  for (const segment of segments) {
    const key: string | number = /^\d+$/.test(segment) ? Number(segment) : segment;
    let next: unknown;
    if (isMap(node)) next = node.get(key, true);
    else if (isSeq(node) && typeof key === "number") next = node.items[key];
    if (next === undefined || next === null) return node;
    node = next;
  }
  return node;
}
