/**
 * A simulated cluster: namespaces, workloads (expanded into pods with IPs), external hosts and
 * the connections between them. Format-agnostic: emitters turn events into Hubble JSON, Calico
 * flow logs or Goldmane flows.
 */

export type SimKind = "Deployment" | "StatefulSet" | "DaemonSet" | "CronJob";
export type SimProtocol = "TCP" | "UDP";

export interface SimWorkload {
  namespace: string;
  name: string;
  kind: SimKind;
  labels: Record<string, string>;
  replicas: number;
  serviceAccount?: string;
  /** The Service in front of it, if any (name = workload name). */
  service?: boolean;
}

export interface SimExternal {
  ip: string;
  names: string[];
}

/** A peer: a workload ("ns/name"), a reserved entity, or an external host. */
export type SimPeer =
  | { workload: string }
  | { entity: "host" | "kube-apiserver" | "world" | "remote-node"; ip?: string }
  | { external: SimExternal };

export interface SimConnection {
  from: SimPeer;
  to: SimPeer;
  protocol: SimProtocol;
  port: number;
  /** Relative frequency. */
  weight: number;
  verdict?: "forwarded" | "dropped";
  dropReason?: string;
}

export interface Scenario {
  name: string;
  clusterName: string;
  nodes: Array<{ name: string; ip: string }>;
  namespaces: Array<{ name: string; labels: Record<string, string> }>;
  workloads: SimWorkload[];
  connections: SimConnection[];
  /** Start of the simulated window (ms) and its length. */
  start: number;
  durationMs: number;
}

export interface SimPod {
  workload: SimWorkload;
  name: string;
  ip: string;
  node: { name: string; ip: string };
  labels: Record<string, string>;
}

/** One connection attempt at a time: what every emitter renders. */
export interface SimEvent {
  time: number;
  connection: SimConnection;
  srcPod: SimPod | undefined;
  dstPod: SimPod | undefined;
  srcIp: string;
  dstIp: string;
  srcPort: number;
}
