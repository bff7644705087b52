import { parse } from "yaml";
import { InputError } from "../errors.js";
import { isDns1123Label, isLabelKey, isLabelValue } from "../model/k8s-names.js";
import type { SharedRole } from "./dependency-graph.js";

/**
 * The shared-service catalog (`templates/shared-services.yaml`, extended with `--catalog FILE`):
 * parsed from YAML text and validated here; the CLI reads the files.
 */

export interface CatalogMatch {
  namespaces: string[];
  workloads: string[];
  labels: Array<Record<string, string>>;
  entities: string[];
  ips: string[];
}

export interface CatalogEntry {
  name: string;
  role: SharedRole;
  description: string;
  match: CatalogMatch;
  ports: Array<{ protocol: string; port: number }>;
}

const ROLES: readonly SharedRole[] = ["dns", "api-server", "callee", "caller"];
const PORT_PROTOCOLS = ["TCP", "UDP", "SCTP"];

/** Parses one catalog file's text. `file` names it in errors. */
export function parseCatalog(text: string, file: string): CatalogEntry[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new InputError(`not valid YAML: ${(err as Error).message}`, { file }, "fix the catalog file's syntax", {
      cause: err,
    });
  }
  const list = (doc as { sharedServices?: unknown } | null)?.sharedServices;
  if (!Array.isArray(list)) {
    throw new InputError("expected a top-level `sharedServices:` list", { file }, "see templates/shared-services.yaml");
  }
  return list.map((raw, i) => parseEntry(raw, { file, document: i + 1 }));
}

function parseEntry(raw: unknown, where: { file: string; document: number }): CatalogEntry {
  const at = { file: where.file };
  const fail = (what: string): never => {
    throw new InputError(`sharedServices[${where.document - 1}]: ${what}`, at, "see templates/shared-services.yaml");
  };
  if (!raw || typeof raw !== "object") fail("each entry must be a mapping");
  const e = raw as Record<string, unknown>;
  const name = e.name;
  if (typeof name !== "string" || !isDns1123Label(name)) fail("`name` must be a DNS-1123 label (a-z, 0-9, -)");
  const role = e.role;
  if (!ROLES.includes(role as SharedRole)) fail(`\`role\` must be one of ${ROLES.join(", ")}`);
  const m = (e.match ?? {}) as Record<string, unknown>;
  if (typeof m !== "object") fail("`match` must be a mapping");
  const strings = (key: string): string[] => {
    const v = m[key];
    if (v === undefined) return [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string" && typeof x !== "number")) {
      fail(`\`match.${key}\` must be a list of strings`);
    }
    return (v as unknown[]).map(String);
  };
  const labelSets = m.labels === undefined ? [] : m.labels;
  if (!Array.isArray(labelSets)) fail("`match.labels` must be a list of label mappings");
  const labels = (labelSets as unknown[]).map((set) => {
    if (!set || typeof set !== "object" || Array.isArray(set)) fail("`match.labels` entries must be mappings");
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(set as Record<string, unknown>)) {
      if (!isLabelKey(k) || !isLabelValue(String(v))) fail(`label ${k}=${String(v)} is not valid label syntax`);
      out[k] = String(v);
    }
    return out;
  });
  const match: CatalogMatch = {
    namespaces: strings("namespaces"),
    workloads: strings("workloads"),
    labels,
    entities: strings("entities"),
    ips: strings("ips"),
  };
  if (Object.values(match).every((v) => v.length === 0)) fail("`match` must name at least one criterion");
  const rawPorts = e.ports === undefined ? [] : e.ports;
  if (!Array.isArray(rawPorts)) fail("`ports` must be a list of {protocol, port}");
  const ports = (rawPorts as unknown[]).map((p) => {
    const pp = p as { protocol?: unknown; port?: unknown };
    if (!PORT_PROTOCOLS.includes(String(pp?.protocol))) fail("`ports[].protocol` must be TCP, UDP or SCTP");
    const port = Number(pp.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) fail("`ports[].port` must be 1-65535");
    return { protocol: String(pp.protocol), port };
  });
  return {
    name: name as string,
    role: role as SharedRole,
    description: typeof e.description === "string" ? e.description : "",
    match,
    ports,
  };
}

/** Later catalogs extend earlier ones; an entry with an existing name replaces it. */
export function mergeCatalogs(...catalogs: CatalogEntry[][]): CatalogEntry[] {
  const byName = new Map<string, CatalogEntry>();
  for (const c of catalogs) for (const e of c) byName.set(e.name, e);
  return [...byName.values()];
}
