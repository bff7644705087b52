/**
 * Services, Ingresses and OpenShift Routes, read as far as netpol-analyzer uses them to infer the
 * connections of an ingress controller: which Service each one sends to, on which port, and which
 * pods each Service selects. Pure; unreadable parts are skipped, as the analyzer skips them.
 */
export interface ServicePort {
  name?: string;
  port: number;
  /** A number, a container port name, or undefined (then `port` is used). */
  targetPort?: number | string;
}

export interface Service {
  namespace: string;
  name: string;
  /** undefined: a Service without selector (the analyzer ignores it). */
  selector: Record<string, string> | undefined;
  ports: ServicePort[];
}

/**
 * The port a backend asks for. An Ingress names a Service port by number or name; a Route names
 * a target port (a number, or a name matched against the Service port's name or targetPort).
 */
export type BackendPort =
  | { from: "Ingress"; number: number }
  | { from: "Ingress"; name: string }
  | { from: "Route"; targetPort: number | string }
  | undefined;

export interface Backend {
  service: string;
  port: BackendPort;
}

export interface IngressObject {
  kind: "Ingress" | "Route";
  namespace: string;
  name: string;
  backends: Backend[];
}

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Obj) : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function str(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function int(value: unknown): number | undefined {
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}

export function readService(value: Obj, namespace: string, name: string): Service {
  const spec = obj(value.spec);
  const rawSelector = spec.selector;
  let selector: Record<string, string> | undefined;
  if (rawSelector && typeof rawSelector === "object" && !Array.isArray(rawSelector)) {
    selector = {};
    for (const [k, v] of Object.entries(rawSelector)) if (typeof v === "string") selector[k] = v;
  }
  const ports: ServicePort[] = [];
  for (const raw of list(spec.ports)) {
    const p = obj(raw);
    const port = int(p.port);
    if (port === undefined) continue;
    const entry: ServicePort = { port };
    const portName = str(p.name);
    if (portName) entry.name = portName;
    const target = int(p.targetPort) ?? str(p.targetPort);
    if (target !== undefined) entry.targetPort = target;
    ports.push(entry);
  }
  return { namespace, name, selector, ports };
}

export function readIngress(value: Obj, namespace: string, name: string): IngressObject {
  const spec = obj(value.spec);
  const backends: Backend[] = [];
  const add = (backend: unknown) => {
    const service = obj(obj(backend).service);
    const serviceName = str(service.name);
    if (!serviceName) return;
    const port = obj(service.port);
    const portName = str(port.name);
    const portNumber = int(port.number);
    backends.push({
      service: serviceName,
      port: portName
        ? { from: "Ingress", name: portName }
        : portNumber
          ? { from: "Ingress", number: portNumber }
          : undefined,
    });
  };
  if (spec.defaultBackend) add(spec.defaultBackend);
  for (const rule of list(spec.rules)) {
    for (const path of list(obj(obj(rule).http).paths)) add(obj(path).backend);
  }
  return { kind: "Ingress", namespace, name, backends };
}

export function readRoute(value: Obj, namespace: string, name: string): IngressObject {
  const spec = obj(value.spec);
  const target = int(obj(spec.port).targetPort) ?? str(obj(spec.port).targetPort);
  const port: BackendPort = target === undefined ? undefined : { from: "Route", targetPort: target };
  const backends: Backend[] = [];
  for (const ref of [spec.to, ...list(spec.alternateBackends)]) {
    const r = obj(ref);
    const kind = str(r.kind);
    const service = str(r.name);
    if ((kind === undefined || kind === "Service") && service) backends.push({ service, port });
  }
  return { kind: "Route", namespace, name, backends };
}
