import { isIP } from "node:net";
import { createSecureContext } from "node:tls";
import type { ChannelCredentials } from "@grpc/grpc-js";
import { UsageError } from "../../errors.js";

/**
 * Checks that a client certificate and key are a pair before any connection is tried: Node's own
 * error ("key values mismatch") names neither file nor flag.
 */
export function checkClientKeyPair(cert: Buffer, key: Buffer, certFile: string, keyFile: string): void {
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    const reason = (err as Error).message ?? String(err);
    if (/key values mismatch|KEY_VALUES_MISMATCH/i.test(reason)) {
      throw new UsageError(
        `--tls-client-key-file ${keyFile} is not the private key of --tls-client-cert-file ${certFile}`,
        "give the key issued with that certificate (tls.key next to tls.crt in the same secret)",
        { cause: err },
      );
    }
    throw new UsageError(
      `cannot use --tls-client-cert-file ${certFile} with --tls-client-key-file ${keyFile}: ${reason}`,
      "give a PEM certificate and its unencrypted PEM private key",
      { cause: err },
    );
  }
}

type SecureConnectorFactory = (...args: unknown[]) => { connectionOptions?: { servername?: string } };

/**
 * grpc-js sends the target's host as the TLS server name (SNI) even when it is an IP address,
 * which RFC 6066 forbids and Node warns about (DEP0123). These credentials send no server name
 * for an IP target; the certificate is still checked against the IP. Relies on grpc-js's
 * `_createSecureConnector` (1.14): without it the credentials are returned unchanged.
 */
export function withoutIpServerName(creds: ChannelCredentials): ChannelCredentials {
  const target = creds as unknown as { _createSecureConnector?: SecureConnectorFactory };
  const original = target._createSecureConnector;
  if (typeof original !== "function") return creds;
  target._createSecureConnector = (...args: unknown[]) => {
    const connector = original.apply(creds, args);
    const options = connector.connectionOptions;
    if (options?.servername !== undefined && isIP(options.servername)) delete options.servername;
    return connector;
  };
  return creds;
}
