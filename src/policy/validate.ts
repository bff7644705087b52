import { isDns1123Label, isDns1123Subdomain, isLabelKey, isLabelValue } from "../model/k8s-names.js";
import { isProtocol } from "./conn-set.js";
import { parseCidr, rangeContains } from "./ip-range.js";
import type {
  EgressRule,
  IngressRule,
  IpBlock,
  LabelSelector,
  LabelSelectorRequirement,
  Labels,
  NetworkPolicy,
  PolicyPeer,
  PolicyPort,
  PolicyType,
} from "./types.js";

/**
 * Turns an untrusted parsed object into a NetworkPolicy, rejecting what the Kubernetes API server
 * would reject. Pure: the I/O layer adds the file and document to each issue.
 */
export interface ValidationIssue {
  /** A JSON path such as `spec.ingress[0].from[1].ipBlock.cidr`. */
  path: string;
  message: string;
}

/** Message fragments, shared with tests (several follow netpol-analyzer's wording). */
export const MESSAGES = {
  badCidr: "CIDR error: invalid CIDR address",
  exceptNotSubset: "except entries must be strict subsets of cidr",
  peerBothKinds: "rule NetworkPolicyPeer error: cannot have both IPBlock and PodSelector/NamespaceSelector set",
  peerEmpty: "rule NetworkPolicyPeer error: cannot have empty rule peer",
  selectorKey: "selector error: key: Invalid value",
  selectorValue: "selector error: value: Invalid value",
  selectorOperator: "selector error: operator",
  endPortNamed: "endPort field cannot be defined if the port field is defined as a named (string) port",
  endPortWithoutPort: "endPort field cannot be defined if the port field is not defined",
  portRange: "start and end values of the port range should be in {1-65535} and end may not be less than start",
  namedPortToIp: "named port error: cannot convert named port for an IP destination",
  duplicateName: "Only one object of a given kind can have a given name at a time",
  invalidName: "is not a valid DNS subdomain",
} as const;

const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]{0,13}[a-z0-9])?$/;

export function isNamedPort(name: string): boolean {
  return IANA_SVC_NAME.test(name) && /[a-z]/.test(name) && !name.includes("--");
}

type Obj = Record<string, unknown>;

class Reader {
  readonly issues: ValidationIssue[] = [];

  fail(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  object(value: unknown, path: string): Obj | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "object" || Array.isArray(value)) {
      this.fail(path, "must be an object");
      return undefined;
    }
    return value as Obj;
  }

  list(value: unknown, path: string): unknown[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) {
      this.fail(path, "must be a list");
      return undefined;
    }
    return value;
  }

  string(value: unknown, path: string): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") {
      this.fail(path, "must be a string");
      return undefined;
    }
    return value;
  }
}

/** The API server's rule for a policy name, apart so that callers may tolerate it (netpol-analyzer does). */
export function policyNameIssue(name: string): ValidationIssue | undefined {
  if (isDns1123Subdomain(name)) return undefined;
  return { path: "metadata.name", message: `${JSON.stringify(name)} ${MESSAGES.invalidName}` };
}

export interface ParseOptions {
  /** Leave the DNS-subdomain rule on the name to the caller (see policyNameIssue). */
  allowInvalidName?: boolean;
}

export function parseNetworkPolicy(
  raw: unknown,
  defaultNamespace = "default",
  options: ParseOptions = {},
): { policy: NetworkPolicy | undefined; issues: ValidationIssue[] } {
  const r = new Reader();
  const obj = r.object(raw, "") ?? {};
  const metadata = r.object(obj.metadata, "metadata") ?? {};
  const name = r.string(metadata.name, "metadata.name");
  const nameIssue = name === undefined || options.allowInvalidName ? undefined : policyNameIssue(name);
  if (name === undefined) r.fail("metadata.name", "a NetworkPolicy needs a name");
  else if (nameIssue) r.fail(nameIssue.path, nameIssue.message);
  const namespace = r.string(metadata.namespace, "metadata.namespace") ?? defaultNamespace;
  if (!isDns1123Label(namespace)) {
    r.fail("metadata.namespace", `${JSON.stringify(namespace)} is not a valid namespace name`);
  }
  const spec = r.object(obj.spec, "spec") ?? {};
  const podSelector = readSelector(r, spec.podSelector, "spec.podSelector") ?? {};
  const policy: NetworkPolicy = { name: name ?? "", namespace, podSelector };
  const labels = metadataLabels(metadata.labels);
  if (labels) policy.labels = labels;
  const types = r.list(spec.policyTypes, "spec.policyTypes");
  if (types) {
    policy.policyTypes = [];
    types.forEach((t, i) => {
      if (t === "Ingress" || t === "Egress") policy.policyTypes!.push(t as PolicyType);
      else r.fail(`spec.policyTypes[${i}]`, `${JSON.stringify(t)} is not a policy type: use Ingress or Egress`);
    });
  }
  const ingress = r.list(spec.ingress, "spec.ingress");
  if (ingress) policy.ingress = ingress.map((rule, i) => readRule(r, rule, `spec.ingress[${i}]`, "from"));
  const egress = r.list(spec.egress, "spec.egress");
  if (egress) policy.egress = egress.map((rule, i) => readRule(r, rule, `spec.egress[${i}]`, "to"));
  return { policy: r.issues.length === 0 ? policy : undefined, issues: r.issues };
}

function readRule(r: Reader, raw: unknown, path: string, peersKey: "from"): IngressRule;
function readRule(r: Reader, raw: unknown, path: string, peersKey: "to"): EgressRule;
function readRule(r: Reader, raw: unknown, path: string, peersKey: "from" | "to"): IngressRule & EgressRule {
  const obj = r.object(raw, path) ?? {};
  const rule: IngressRule & EgressRule = {};
  const peers = r.list(obj[peersKey], `${path}.${peersKey}`);
  if (peers) rule[peersKey] = peers.map((p, i) => readPeer(r, p, `${path}.${peersKey}[${i}]`));
  const ports = r.list(obj.ports, `${path}.ports`);
  if (ports) rule.ports = ports.map((p, i) => readPort(r, p, `${path}.ports[${i}]`));
  return rule;
}

function readPeer(r: Reader, raw: unknown, path: string): PolicyPeer {
  const obj = r.object(raw, path) ?? {};
  const peer: PolicyPeer = {};
  const pods = readSelector(r, obj.podSelector, `${path}.podSelector`);
  const namespaces = readSelector(r, obj.namespaceSelector, `${path}.namespaceSelector`);
  const ipBlock = readIpBlock(r, obj.ipBlock, `${path}.ipBlock`);
  if (pods) peer.podSelector = pods;
  if (namespaces) peer.namespaceSelector = namespaces;
  if (ipBlock) peer.ipBlock = ipBlock;
  const hasIp = obj.ipBlock !== undefined && obj.ipBlock !== null;
  const hasSelector = obj.podSelector != null || obj.namespaceSelector != null;
  if (hasIp && hasSelector) r.fail(path, MESSAGES.peerBothKinds);
  if (!hasIp && !hasSelector) r.fail(path, `${MESSAGES.peerEmpty}: set podSelector, namespaceSelector or ipBlock`);
  return peer;
}

function readIpBlock(r: Reader, raw: unknown, path: string): IpBlock | undefined {
  const obj = r.object(raw, path);
  if (!obj) return undefined;
  const cidrText = r.string(obj.cidr, `${path}.cidr`);
  const cidr = cidrText === undefined ? undefined : parseCidr(cidrText);
  if (cidrText === undefined) r.fail(`${path}.cidr`, "an ipBlock needs a cidr");
  else if (!cidr) r.fail(`${path}.cidr`, `${MESSAGES.badCidr} ${JSON.stringify(cidrText)}`);
  const block: IpBlock = { cidr: cidrText ?? "" };
  const except = r.list(obj.except, `${path}.except`);
  if (except) {
    block.except = [];
    except.forEach((e, i) => {
      const p = `${path}.except[${i}]`;
      const text = r.string(e, p);
      if (text === undefined) return;
      const range = parseCidr(text);
      if (!range) r.fail(p, `${MESSAGES.badCidr} ${JSON.stringify(text)}`);
      else if (cidr && !(rangeContains(cidr, range) && range.prefix > cidr.prefix)) {
        r.fail(p, `${JSON.stringify(text)}: ${MESSAGES.exceptNotSubset} ${JSON.stringify(cidrText)}`);
      }
      block.except!.push(text);
    });
  }
  return block;
}

function readPort(r: Reader, raw: unknown, path: string): PolicyPort {
  const obj = r.object(raw, path) ?? {};
  const port: PolicyPort = {};
  if (obj.protocol !== undefined && obj.protocol !== null) {
    if (isProtocol(obj.protocol)) port.protocol = obj.protocol;
    else r.fail(`${path}.protocol`, `${JSON.stringify(obj.protocol)} is not a protocol: use TCP, UDP or SCTP`);
  }
  const p = obj.port;
  if (typeof p === "number") {
    if (!Number.isInteger(p) || p < 1 || p > 65535) r.fail(`${path}.port`, `port ${p}: ${MESSAGES.portRange}`);
    port.port = p;
  } else if (typeof p === "string") {
    if (!isNamedPort(p)) {
      r.fail(`${path}.port`, `${JSON.stringify(p)} is neither a port number nor a valid port name (IANA_SVC_NAME)`);
    }
    port.port = p;
  } else if (p !== undefined && p !== null) {
    r.fail(`${path}.port`, "must be a number or a port name");
  }
  const end = obj.endPort;
  if (end !== undefined && end !== null) {
    if (typeof end !== "number" || !Number.isInteger(end)) r.fail(`${path}.endPort`, "must be a whole number");
    else if (typeof p === "string") r.fail(`${path}.endPort`, MESSAGES.endPortNamed);
    else if (typeof p !== "number") r.fail(`${path}.endPort`, MESSAGES.endPortWithoutPort);
    else if (end < p || end > 65535)
      r.fail(`${path}.endPort`, `port range ${p}-${end} is not legal; ${MESSAGES.portRange}`);
    else port.endPort = end;
  }
  return port;
}

function readSelector(r: Reader, raw: unknown, path: string): LabelSelector | undefined {
  const obj = r.object(raw, path);
  if (!obj) return undefined;
  const selector: LabelSelector = {};
  const labels = r.object(obj.matchLabels, `${path}.matchLabels`);
  if (labels) {
    selector.matchLabels = {};
    for (const [k, v] of Object.entries(labels)) {
      const value = typeof v === "string" ? v : undefined;
      if (!isLabelKey(k)) r.fail(`${path}.matchLabels`, `${MESSAGES.selectorKey}: ${JSON.stringify(k)}`);
      if (value === undefined) {
        r.fail(
          `${path}.matchLabels.${k}`,
          `${MESSAGES.selectorValue}: ${JSON.stringify(v)} must be a string (quote it)`,
        );
      } else if (!isLabelValue(value)) {
        r.fail(`${path}.matchLabels.${k}`, `${MESSAGES.selectorValue}: ${JSON.stringify(v)}`);
      } else selector.matchLabels[k] = value;
    }
  }
  const exprs = r.list(obj.matchExpressions, `${path}.matchExpressions`);
  if (exprs) {
    selector.matchExpressions = exprs.map((e, i) => readRequirement(r, e, `${path}.matchExpressions[${i}]`));
  }
  return selector;
}

function readRequirement(r: Reader, raw: unknown, path: string): LabelSelectorRequirement {
  const obj = r.object(raw, path) ?? {};
  const key = r.string(obj.key, `${path}.key`) ?? "";
  if (!isLabelKey(key)) r.fail(`${path}.key`, `${MESSAGES.selectorKey}: ${JSON.stringify(key)}`);
  const operator = obj.operator;
  const values = (r.list(obj.values, `${path}.values`) ?? []).map((v) => (typeof v === "string" ? v : String(v)));
  const req: LabelSelectorRequirement = { key, operator: "Exists" };
  if (operator === "In" || operator === "NotIn") {
    req.operator = operator;
    if (values.length === 0) r.fail(`${path}.values`, `${MESSAGES.selectorOperator} ${operator} needs values`);
    for (const v of values) if (!isLabelValue(v)) r.fail(`${path}.values`, `${MESSAGES.selectorValue}: ${v}`);
    req.values = values;
  } else if (operator === "Exists" || operator === "DoesNotExist") {
    req.operator = operator;
    if (values.length > 0) r.fail(`${path}.values`, `${MESSAGES.selectorOperator} ${operator} takes no values`);
  } else {
    r.fail(
      `${path}.operator`,
      `${MESSAGES.selectorOperator} ${JSON.stringify(operator)} is not In, NotIn, Exists or DoesNotExist`,
    );
  }
  return req;
}

/** A policy's string-valued metadata labels; anything else there is not the engine's business. */
function metadataLabels(raw: unknown): Labels | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return undefined;
  const labels = Object.entries(raw).filter((e): e is [string, string] => typeof e[1] === "string");
  return labels.length > 0 ? Object.fromEntries(labels) : undefined;
}
