import { UsageError } from "../../errors.js";
import { type ChannelTls, resolveTls, type TlsFlags } from "../grpc/tls.js";

/**
 * Goldmane accepts mutual TLS only: a client certificate signed by the operator's CA (e.g. secret
 * calico-system/node-certs) and that CA to verify the server.
 */
export function goldmaneTls(flags: TlsFlags): ChannelTls {
  if (!flags.clientCertFile || !flags.clientKeyFile) {
    throw new UsageError(
      "Goldmane accepts mutual TLS only: a client certificate and key are required",
      "give --tls-client-cert-file and --tls-client-key-file (tls.crt and tls.key of secret calico-system/node-certs), and --tls-ca-cert-files (tls.crt of calico-system/goldmane-key-pair)",
    );
  }
  const tls = resolveTls({ ...flags, tls: true });
  if (!tls) throw new Error("unreachable: TLS is forced on");
  return tls;
}
