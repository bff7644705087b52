import { type ServiceError, status } from "@grpc/grpc-js";
import { SourceError } from "../../errors.js";
import type { TlsProbeResult } from "../grpc/tls-probe.js";

/** gRPC codes after which the collector reconnects (the server went away or restarted). */
const RETRYABLE = new Set<number>([
  status.UNAVAILABLE,
  status.UNKNOWN,
  status.INTERNAL,
  status.ABORTED,
  status.RESOURCE_EXHAUSTED,
  status.DEADLINE_EXCEEDED,
]);

export function isRetryable(err: unknown): boolean {
  const code = (err as Partial<ServiceError>).code;
  return code !== undefined && RETRYABLE.has(code);
}

/**
 * A gRPC failure talking to Goldmane, explained: what went wrong and which flag fixes it. `probe` is
 * what a TLS probe found after a connection the server dropped without a reason (see probeTls).
 */
export function explainGoldmaneError(err: unknown, server: string, probe?: TlsProbeResult): SourceError {
  const e = err as Partial<ServiceError> & Error;
  const details = `${e.details ?? ""} ${e.message ?? ""}`;
  const portForward =
    "Goldmane listens on port 7443 in calico-system: `kubectl port-forward -n calico-system svc/goldmane 7443:7443`, then --server localhost:7443 --tls-server-name goldmane";
  if (e.code === status.UNIMPLEMENTED) {
    return new SourceError(
      `${server} does not implement goldmane.Flows (${e.details ?? "UNIMPLEMENTED"})`,
      `point --server at Goldmane, not at Whisker or Hubble. ${portForward}`,
      { cause: err },
    );
  }
  if (/altnames|does not match certificate|hostname/i.test(details)) {
    return new SourceError(
      `TLS: ${server}'s certificate is not valid for the name flowpol checked (${details.trim()})`,
      "set --tls-server-name to one of the names in Goldmane's certificate, e.g. goldmane or goldmane.calico-system.svc",
      { cause: err },
    );
  }
  if (/self[- ]signed|unable to (get|verify)|unknown ca|certificate verify failed|issuer/i.test(details)) {
    return new SourceError(
      `TLS: cannot verify ${server}'s certificate (${details.trim()})`,
      "give the CA that signed Goldmane's certificate with --tls-ca-cert-files (tls.crt of secret calico-system/goldmane-key-pair, or the tigera-ca-bundle)",
      { cause: err },
    );
  }
  if (/certificate required|handshake failure|bad certificate|alert|ssl|tls/i.test(details)) {
    return new SourceError(
      `TLS: ${server} refused the TLS handshake (${details.trim()})`,
      "Goldmane requires a client certificate signed by its CA: check --tls-client-cert-file and --tls-client-key-file (secret calico-system/node-certs)",
      { cause: err },
    );
  }
  if (probe === "client-cert-refused") {
    return new SourceError(
      `TLS: ${server} refused flowpol's client certificate (it closed the connection after the handshake)`,
      "--tls-client-cert-file must be signed by Goldmane's CA: give tls.crt and tls.key of secret calico-system/node-certs",
      { cause: err },
    );
  }
  if (probe === "not-tls") {
    return new SourceError(
      `${server} does not speak TLS`,
      `Goldmane always does: check that --server names Goldmane (${portForward})`,
      { cause: err },
    );
  }
  if (/ECONNREFUSED/.test(details)) {
    return new SourceError(`cannot connect to ${server}: connection refused`, portForward, { cause: err });
  }
  if (e.code === status.DEADLINE_EXCEEDED) {
    return new SourceError(`${server} did not answer in time (${details.trim()})`, portForward, { cause: err });
  }
  if (e.code === status.UNAVAILABLE) {
    // grpc-js hides why a TLS connection failed when the server drops it (e.g. a client
    // certificate it does not accept): name both likely causes.
    return new SourceError(
      `cannot connect to Goldmane at ${server} (${details.trim()})`,
      `check that it is reachable (${portForward}) and that it accepts the client certificate: --tls-client-cert-file and --tls-client-key-file must be signed by Goldmane's CA (secret calico-system/node-certs)`,
      { cause: err },
    );
  }
  return new SourceError(`Goldmane at ${server} failed: ${details.trim() || String(err)}`, portForward, {
    cause: err,
  });
}
