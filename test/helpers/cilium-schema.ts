import { isIP } from "node:net";

/**
 * A structural check of a cilium.io/v2 CiliumNetworkPolicy, written from Cilium's CRD
 * (pkg/k8s/apis/cilium.io/client/crds/v2/ciliumnetworkpolicies.yaml, generated from the kubebuilder
 * markers of pkg/policy/api: rule.go, ingress.go, egress.go, l4.go, entity.go, cidr.go, fqdn.go,
 * and pkg/k8s/slim/k8s/apis/meta/v1 for label selectors). It holds every constraint the schema sets
 * on the fields below (types, required fields, one-of groups, enums, patterns, formats, limits),
 * and rejects a field the schema does not know where the API server would prune it silently.
 * Fields flowpol never writes (L7 HTTP/Kafka, TLS, listeners, groups, services, deny rules) are
 * rejected too: writing one is a change that has to extend this check first.
 */
export function ciliumPolicyErrors(obj: unknown): string[] {
  const errors: string[] = [];
  const at = (path: string, message: string): void => {
    errors.push(`${path || "/"}: ${message}`);
  };

  const object = (v: unknown, path: string, known: readonly string[]): v is Record<string, unknown> => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      at(path, "must be an object");
      return false;
    }
    for (const k of Object.keys(v)) if (!known.includes(k)) at(`${path}/${k}`, "is not a field of the schema");
    return true;
  };
  const array = (v: unknown, path: string, each: (e: unknown, p: string) => void, maxItems = Infinity) => {
    if (!Array.isArray(v)) return at(path, "must be an array");
    if (v.length > maxItems) at(path, `must have at most ${maxItems} items`);
    for (const [i, e] of v.entries()) each(e, `${path}/${i}`);
  };
  const string = (v: unknown, path: string, test?: (s: string) => string | undefined) => {
    if (typeof v !== "string") return at(path, "must be a string");
    const why = test?.(v);
    if (why) at(path, why);
  };
  const stringMap = (v: unknown, path: string, value?: (s: string) => string | undefined) => {
    if (!object(v, path, Object.keys(v ?? {}))) return;
    for (const [k, e] of Object.entries(v)) string(e, `${path}/${k}`, value);
  };
  const oneOf = (v: Record<string, unknown>, path: string, keys: readonly string[]) => {
    const present = keys.filter((k) => v[k] !== undefined);
    if (present.length !== 1) at(path, `must have exactly one of ${keys.join(", ")} (has ${present.length})`);
  };
  const required = (v: Record<string, unknown>, path: string, key: string) => {
    if (v[key] === undefined) at(path, `must have ${key}`);
  };

  const labelSelector = (v: unknown, path: string) => {
    if (!object(v, path, ["matchLabels", "matchExpressions"])) return;
    if (v.matchLabels !== undefined) stringMap(v.matchLabels, `${path}/matchLabels`, labelValue);
    if (v.matchExpressions !== undefined)
      array(v.matchExpressions, `${path}/matchExpressions`, (e, p) => {
        if (!object(e, p, ["key", "operator", "values"])) return;
        string(e.key, `${p}/key`);
        string(e.operator, `${p}/operator`, oneOfValues(["In", "NotIn", "Exists", "DoesNotExist"]));
        if (e.values !== undefined) array(e.values, `${p}/values`, (s, q) => string(s, q));
      });
  };
  const cidr = (v: unknown, path: string) => string(v, path, cidrFormat);
  const cidrRule = (v: unknown, path: string) => {
    if (!object(v, path, ["cidr", "except"])) return;
    required(v, path, "cidr");
    if (v.cidr !== undefined) cidr(v.cidr, `${path}/cidr`);
    if (v.except !== undefined) array(v.except, `${path}/except`, cidr);
  };
  const fqdnSelector = (v: unknown, path: string) => {
    if (!object(v, path, ["matchName", "matchPattern"])) return;
    oneOf(v, path, ["matchName", "matchPattern"]);
    if (v.matchName !== undefined) string(v.matchName, `${path}/matchName`, fqdn(/^([-a-zA-Z0-9_]+[.]?)+$/));
    if (v.matchPattern !== undefined) string(v.matchPattern, `${path}/matchPattern`, fqdn(/^([-a-zA-Z0-9_*]+[.]?)+$/));
  };
  const portRule = (v: unknown, path: string) => {
    if (!object(v, path, ["ports", "rules"])) return;
    if (v.ports !== undefined)
      array(
        v.ports,
        `${path}/ports`,
        (e, p) => {
          if (!object(e, p, ["port", "endPort", "protocol"])) return;
          if (e.port !== undefined) string(e.port, `${p}/port`, portFormat);
          if (e.endPort !== undefined && !(Number.isInteger(e.endPort) && Number(e.endPort) <= 65535))
            at(`${p}/endPort`, "must be an integer in 0..65535");
          if (e.protocol !== undefined)
            string(e.protocol, `${p}/protocol`, oneOfValues(["TCP", "UDP", "SCTP", "VRRP", "IGMP", "ANY"]));
        },
        40,
      );
    if (v.rules !== undefined && object(v.rules, `${path}/rules`, ["dns"])) {
      required(v.rules, `${path}/rules`, "dns");
      if (v.rules.dns !== undefined) array(v.rules.dns, `${path}/rules/dns`, fqdnSelector);
    }
  };
  const rule = (v: unknown, path: string, dir: "from" | "to") => {
    const peers = [`${dir}Endpoints`, `${dir}CIDR`, `${dir}CIDRSet`, `${dir}Entities`];
    if (!object(v, path, [...peers, ...(dir === "to" ? ["toFQDNs"] : []), "toPorts"])) return;
    const field = (name: string, check: (e: unknown, p: string) => void) => {
      if (v[name] !== undefined) array(v[name], `${path}/${name}`, check);
    };
    field(`${dir}Endpoints`, labelSelector);
    field(`${dir}CIDR`, cidr);
    field(`${dir}CIDRSet`, cidrRule);
    field(`${dir}Entities`, (e, p) => string(e, p, oneOfValues(ENTITIES)));
    field("toFQDNs", fqdnSelector);
    field("toPorts", portRule);
  };

  if (!object(obj, "", ["apiVersion", "kind", "metadata", "spec"])) return errors;
  string(obj.apiVersion, "/apiVersion", oneOfValues(["cilium.io/v2"]));
  string(obj.kind, "/kind", oneOfValues(["CiliumNetworkPolicy"]));
  if (object(obj.metadata, "/metadata", ["name", "namespace", "labels", "annotations"])) {
    string(obj.metadata.name, "/metadata/name", dnsSubdomain);
    string(obj.metadata.namespace, "/metadata/namespace", dnsLabel);
    if (obj.metadata.labels !== undefined) stringMap(obj.metadata.labels, "/metadata/labels", labelValue);
    if (obj.metadata.annotations !== undefined) stringMap(obj.metadata.annotations, "/metadata/annotations");
  }
  const spec = obj.spec;
  if (!object(spec, "/spec", ["endpointSelector", "ingress", "egress"])) return errors;
  required(spec, "/spec", "endpointSelector");
  if (spec.endpointSelector !== undefined) labelSelector(spec.endpointSelector, "/spec/endpointSelector");
  if (spec.ingress === undefined && spec.egress === undefined) at("/spec", "must have ingress or egress");
  if (spec.ingress !== undefined) array(spec.ingress, "/spec/ingress", (e, p) => rule(e, p, "from"));
  if (spec.egress !== undefined) array(spec.egress, "/spec/egress", (e, p) => rule(e, p, "to"));
  return errors;
}

/** pkg/policy/api/entity.go: the reserved identities a policy may name. */
const ENTITIES = [
  "all",
  "world",
  "cluster",
  "host",
  "init",
  "ingress",
  "unmanaged",
  "remote-node",
  "health",
  "none",
  "kube-apiserver",
];

const oneOfValues = (values: readonly string[]) => (s: string) =>
  values.includes(s) ? undefined : `must be one of ${values.join(", ")}`;

/** l4.go PortProtocol.Port: a number 0-65535 or an IANA service name (the CRD's pattern, verbatim). */
const PORT =
  /^(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})|([a-zA-Z0-9]-?)*[a-zA-Z](-?[a-zA-Z0-9])*$/u;
const portFormat = (s: string) => (PORT.test(s) ? undefined : "must be a port number or name");

/** fqdn.go: matchName / matchPattern patterns, at most 255 characters. */
const fqdn = (pattern: RegExp) => (s: string) =>
  s.length > 255 ? "must be at most 255 characters" : pattern.test(s) ? undefined : `must match ${pattern.source}`;

/** cidr.go: `format: cidr`, an IPv4 or IPv6 address with a prefix length in range. */
function cidrFormat(s: string): string | undefined {
  const [ip = "", prefix, ...rest] = s.split("/");
  const family = isIP(ip);
  const bits = family === 4 ? 32 : 128;
  if (family === 0 || prefix === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefix) || Number(prefix) > bits)
    return "must be a CIDR (address/prefix)";
  return undefined;
}

/** Kubernetes label values (slim meta/v1 MatchLabelsValue): at most 63, alphanumeric ends. */
function labelValue(s: string): string | undefined {
  if (s.length > 63) return "must be at most 63 characters";
  return /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/u.test(s) ? undefined : "must be a label value";
}

/** The API server's name rules: RFC 1123 subdomain (object name), RFC 1123 label (namespace). */
function dnsSubdomain(s: string): string | undefined {
  return s.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(s)
    ? undefined
    : "must be an RFC 1123 subdomain";
}
function dnsLabel(s: string): string | undefined {
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(s) ? undefined : "must be an RFC 1123 label";
}
