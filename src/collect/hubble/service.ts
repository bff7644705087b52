import type { GrpcService } from "../grpc/errors.js";

/** Hubble Relay (or one agent's Hubble server), as flowpol's explanations name it. */
export const HUBBLE_OBSERVER: GrpcService = {
  api: "the Hubble Observer API (observer.Observer)",
  wrongServer: "point --server at Hubble Relay (port 4245) or a Cilium agent's Hubble server (port 4244)",
  reach:
    "check --server (host:port of Hubble Relay, default localhost:4245); `cilium hubble port-forward` exposes Relay on localhost:4245",
  serverNames: "Hubble Relay: *.hubble-relay.cilium.io",
  serverCa: "Cilium's CA: ca.crt of secret kube-system/hubble-relay-client-certs",
  clientCa: "a CA the server trusts",
  timeoutFlag: "--request-timeout",
  requestFlags: "--since, --until, --last and --namespace",
  alwaysTls: false,
};
