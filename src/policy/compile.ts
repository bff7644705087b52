import { ConnSet, type PolicyProtocol } from "./conn-set.js";
import { type IpRange, parseCidr } from "./ip-range.js";
import { PortSet } from "./port-set.js";
import { compileSelector, type LabelMatcher } from "./selector.js";
import type { Entity, FqdnSelector, NetworkPolicy, PolicyPeer, PolicyPort, PolicyType, RuleRef } from "./types.js";

/**
 * Policies compiled once into matchers, so that evaluating many pairs does not re-read selectors,
 * CIDRs or ports. Compilation assumes validated input (see validate.ts).
 */
export type CompiledPeer =
  | { kind: "pods"; pods: LabelMatcher; namespaces: LabelMatcher | undefined; ownNamespace: string }
  | { kind: "ipBlock"; block: IpRange; except: IpRange[]; worldOnly: boolean }
  | { kind: "entities"; entities: ReadonlySet<Entity> }
  | { kind: "fqdn"; matches: (name: string) => boolean };

export type CompiledPort =
  | { kind: "numbered"; conns: ConnSet }
  | { kind: "named"; protocol: PolicyProtocol; name: string };

export interface CompiledRule {
  ref: RuleRef;
  /** undefined: the rule names no peers, so every peer matches (including every IP). */
  peers: CompiledPeer[] | undefined;
  /** undefined: the rule names no ports, so every port of every protocol matches. */
  ports: CompiledPort[] | undefined;
}

export interface CompiledPolicy {
  policy: NetworkPolicy;
  selects: LabelMatcher;
  /** undefined when the policy does not isolate that direction; [] isolates and allows nothing. */
  ingress: CompiledRule[] | undefined;
  egress: CompiledRule[] | undefined;
}

/** policyTypes, or its default: Ingress always, Egress when the policy has egress rules. */
export function effectivePolicyTypes(policy: NetworkPolicy): PolicyType[] {
  if (policy.policyTypes && policy.policyTypes.length > 0) return policy.policyTypes;
  return (policy.egress ?? []).length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
}

export function compilePolicy(policy: NetworkPolicy): CompiledPolicy {
  const types = effectivePolicyTypes(policy);
  const ref = (direction: "ingress" | "egress", index: number): RuleRef => ({
    policy: policy.name,
    namespace: policy.namespace,
    direction,
    index,
  });
  return {
    policy,
    selects: compileSelector(policy.podSelector),
    ingress: types.includes("Ingress")
      ? (policy.ingress ?? []).map((r, i) => compileRule(ref("ingress", i), r.from, r.ports, policy.namespace))
      : undefined,
    egress: types.includes("Egress")
      ? (policy.egress ?? []).map((r, i) => compileRule(ref("egress", i), r.to, r.ports, policy.namespace))
      : undefined,
  };
}

function compileRule(
  ref: RuleRef,
  peers: PolicyPeer[] | undefined,
  ports: PolicyPort[] | undefined,
  namespace: string,
): CompiledRule {
  return {
    ref,
    peers: peers && peers.length > 0 ? peers.map((p) => compilePeer(p, namespace)) : undefined,
    ports: ports && ports.length > 0 ? ports.map(compilePort) : undefined,
  };
}

export function compilePeer(peer: PolicyPeer, namespace: string): CompiledPeer {
  const block = peer.ipBlock ?? peer.worldBlock;
  if (block) {
    return {
      kind: "ipBlock",
      block: mustCidr(block.cidr),
      except: (block.except ?? []).map(mustCidr),
      worldOnly: peer.worldBlock !== undefined,
    };
  }
  if (peer.entities) return { kind: "entities", entities: new Set(peer.entities) };
  if (peer.fqdn) return { kind: "fqdn", matches: fqdnMatcher(peer.fqdn) };
  return {
    kind: "pods",
    pods: compileSelector(peer.podSelector ?? {}),
    namespaces: peer.namespaceSelector ? compileSelector(peer.namespaceSelector) : undefined,
    ownNamespace: namespace,
  };
}

function mustCidr(text: string): IpRange {
  const r = parseCidr(text);
  if (!r) throw new Error(`invalid CIDR ${JSON.stringify(text)} reached the engine unvalidated`);
  return r;
}

export function compilePort(port: PolicyPort): CompiledPort {
  const protocol = port.protocol ?? "TCP";
  if (typeof port.port === "string") return { kind: "named", protocol, name: port.port };
  if (port.port === undefined) return { kind: "numbered", conns: ConnSet.of(protocol, PortSet.ALL) };
  return { kind: "numbered", conns: ConnSet.of(protocol, PortSet.range(port.port, port.endPort ?? port.port)) };
}

/**
 * Cilium's toFQDNs matching: case-insensitive, trailing dot ignored; in a pattern `*` stands for
 * any run of DNS name characters (`*` alone: every name).
 */
export function fqdnMatcher(selector: FqdnSelector): (name: string) => boolean {
  const norm = (n: string) => n.toLowerCase().replace(/\.$/, "");
  if (selector.matchName !== undefined) {
    const want = norm(selector.matchName);
    return (name) => norm(name) === want;
  }
  const pattern = norm(selector.matchPattern ?? "");
  if (pattern === "*") return () => true;
  const re = new RegExp(
    `^${pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, "\\$&"))
      .join("[-a-z0-9_.]*")}$`,
  );
  return (name) => re.test(norm(name));
}
