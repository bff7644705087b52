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

/** One parsed YAML document, kept for `flowpol lint` (which needs node positions). */
export interface ParsedDocument {
  file: string;
  index: number;
  doc: Document.Parsed;
  lineCounter: LineCounter;
}

export interface Manifests {
  objects: RawObject[];
  documents: ParsedDocument[];
  /** YAML syntax errors (fatal unless the caller is lenient) and things that are not Kubernetes objects. */
  syntaxErrors: ManifestWarning[];
  warnings: ManifestWarning[];
  files: string[];
}

const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

export interface ReadOptions {
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

export function readManifests(paths: readonly string[], options: ReadOptions = {}): Manifests {
  const result: Manifests = { objects: [], documents: [], syntaxErrors: [], warnings: [], files: [] };
  for (const file of listManifestFiles(paths)) {
    const text = file === "-" ? (options.stdin?.() ?? "") : readFileSync(file, "utf8");
    result.files.push(file);
    parseManifestText(file === "-" ? "<stdin>" : file, text, result);
  }
  return result;
}

export function parseManifestText(file: string, text: string, into: Manifests): void {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [];
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
    into.documents.push({ file, index, doc, lineCounter });
    const lineOf = (offset: number | undefined) =>
      offset === undefined ? undefined : lineCounter.linePos(offset).line;
    const root = doc.contents;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 1000 });
    } catch (err) {
      into.syntaxErrors.push({ file, document: index, message: `YAML error: ${(err as Error).message}` });
      return;
    }
    if (value === null || value === undefined) return;
    const add = (v: unknown, line: number | undefined) => addObject(file, index, v, line, into);
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        add(v, lineOf(isSeq(root) ? rangeStart(root.items[i]) : undefined));
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
        add(item, lineOf(rangeStart(node)));
      });
      return;
    }
    add(value, lineOf(rangeStart(root)));
  });
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
  return range?.[0];
}

function addObject(file: string, document: number, value: unknown, line: number | undefined, into: Manifests): void {
  const source = line === undefined ? { file, document } : { file, document, line };
  if (
    !value ||
    typeof value !== "object" ||
    Array.isArray(value) ||
    typeof (value as { kind?: unknown }).kind !== "string"
  ) {
    into.warnings.push({ ...source, message: "not a Kubernetes object (no kind): skipped" });
    return;
  }
  into.objects.push({ value: value as Record<string, unknown>, source });
}
