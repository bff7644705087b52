import { readFileSync } from "node:fs";
import { type ChannelCredentials, type ChannelOptions, credentials } from "@grpc/grpc-js";
import { UsageError } from "../../errors.js";
import { checkClientKeyPair, withoutIpServerName } from "../grpc/tls-identity.js";
import type { TlsProbeOptions } from "../grpc/tls-probe.js";

/** The TLS flags of `flowpol collect goldmane`, named as the `hubble` CLI names them. */
export interface TlsFlags {
  caCertFiles: string[];
  clientCertFile: string | undefined;
  clientKeyFile: string | undefined;
  serverName: string | undefined;
}

function readPem(path: string, flag: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new UsageError(
      `${flag}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`,
      `check the ${flag} path`,
      {
        cause: err,
      },
    );
  }
  if (!pem.includes("-----BEGIN ")) {
    throw new UsageError(`${flag}: ${path} is not a PEM file`, `give ${flag} a PEM-encoded file (-----BEGIN ...)`);
  }
  return pem;
}

/**
 * Credentials for Goldmane, which accepts mutual TLS only: a client certificate signed by the
 * operator's CA (e.g. secret calico-system/node-certs) and that CA to verify the server.
 */
export function goldmaneCredentials(tls: TlsFlags): {
  credentials: ChannelCredentials;
  options: ChannelOptions;
  /** For a TLS probe after a failure (see probeTls). */
  probe: TlsProbeOptions;
} {
  if (!tls.clientCertFile || !tls.clientKeyFile) {
    throw new UsageError(
      "Goldmane accepts mutual TLS only: a client certificate and key are required",
      "give --tls-client-cert-file and --tls-client-key-file (tls.crt and tls.key of secret calico-system/node-certs), and --tls-ca-cert-files (tls.crt of calico-system/goldmane-key-pair)",
    );
  }
  const ca =
    tls.caCertFiles.length > 0
      ? Buffer.concat(tls.caCertFiles.map((f) => readPem(f, "--tls-ca-cert-files")))
      : undefined;
  const cert = readPem(tls.clientCertFile, "--tls-client-cert-file");
  const key = readPem(tls.clientKeyFile, "--tls-client-key-file");
  checkClientKeyPair(cert, key, tls.clientCertFile, tls.clientKeyFile);
  const options: ChannelOptions = {};
  if (tls.serverName) {
    options["grpc.ssl_target_name_override"] = tls.serverName;
    options["grpc.default_authority"] = tls.serverName;
  }
  return {
    credentials: withoutIpServerName(credentials.createSsl(ca ?? null, key, cert)),
    options,
    probe: { cert, key, ...(tls.serverName ? { serverName: tls.serverName } : {}) },
  };
}
