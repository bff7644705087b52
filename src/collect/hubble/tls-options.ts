import { readFileSync } from "node:fs";
import { type ChannelCredentials, type ChannelOptions, credentials } from "@grpc/grpc-js";
import { UsageError } from "../../errors.js";

/** TLS flags, named as the `hubble` CLI names them. */
export interface ClientTlsOptions {
  tls: boolean;
  caCertFiles: string[];
  clientCertFile?: string;
  clientKeyFile?: string;
  serverName?: string;
  allowInsecure: boolean;
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${flag} ${path}: ${(err as Error).message}`, `check the path given to ${flag}`, {
      cause: err,
    });
  }
}

/** Channel credentials and options for the TLS flags; plaintext when no TLS flag is given. */
export function clientCredentials(o: ClientTlsOptions): { creds: ChannelCredentials; options: ChannelOptions } {
  const anyTls =
    o.tls || o.caCertFiles.length > 0 || o.clientCertFile || o.clientKeyFile || o.serverName || o.allowInsecure;
  if (!anyTls) return { creds: credentials.createInsecure(), options: {} };
  if ((o.clientCertFile === undefined) !== (o.clientKeyFile === undefined)) {
    throw new UsageError(
      "--tls-client-cert-file and --tls-client-key-file go together",
      "give both files for mutual TLS, or neither",
    );
  }
  const ca =
    o.caCertFiles.length > 0 ? Buffer.concat(o.caCertFiles.map((f) => readPem(f, "--tls-ca-cert-files"))) : null;
  const key = o.clientKeyFile ? readPem(o.clientKeyFile, "--tls-client-key-file") : null;
  const cert = o.clientCertFile ? readPem(o.clientCertFile, "--tls-client-cert-file") : null;
  const creds = credentials.createSsl(
    ca,
    key,
    cert,
    o.allowInsecure ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {},
  );
  const options: ChannelOptions = {};
  if (o.serverName) {
    options["grpc.ssl_target_name_override"] = o.serverName;
    options["grpc.default_authority"] = o.serverName;
  }
  return { creds, options };
}
