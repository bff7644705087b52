import type { ErrorContext, GrpcService } from "../grpc/errors.js";

const PORT_FORWARD =
  "Goldmane listens on port 7443 in calico-system: `kubectl port-forward -n calico-system svc/goldmane 7443:7443`, then --server localhost:7443 --tls-server-name goldmane";

/** Calico's Goldmane (`goldmane.Flows`), as flowpol's explanations name it. */
export const GOLDMANE_FLOWS: GrpcService = {
  api: "goldmane.Flows",
  wrongServer: `point --server at Goldmane, not at Whisker or Hubble. ${PORT_FORWARD}`,
  reach: PORT_FORWARD,
  serverNames: "e.g. goldmane or goldmane.calico-system.svc",
  serverCa: "tls.crt of secret calico-system/goldmane-key-pair, or the tigera-ca-bundle",
  clientCa: "Goldmane's CA: give tls.crt and tls.key of secret calico-system/node-certs",
  timeoutFlag: "--timeout",
  requestFlags: "--since",
  alwaysTls: true,
};

/** How failures talking to Goldmane at `server` are explained (always mutual TLS). */
export function goldmaneErrors(server: string, requestTimeoutMs: number): ErrorContext {
  return { service: GOLDMANE_FLOWS, server, tls: true, clientCert: true, requestTimeoutMs };
}
