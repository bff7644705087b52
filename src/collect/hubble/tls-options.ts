import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { type ChannelCredentials, type ChannelOptions, credentials } from "@grpc/grpc-js";
import { UsageError } from "../../errors.js";
import type { GrpcChannelOptions } from "../grpc/http2-client.js";
import { checkClientKeyPair, withoutIpServerName } from "../grpc/tls-identity.js";
import type { TlsProbeOptions } from "../grpc/tls-probe.js";

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

/** The PEM files the TLS flags name, read; undefined when no TLS flag is given (plaintext). */
function tlsFiles(o: ClientTlsOptions): { ca: Buffer | null; key: Buffer | null; cert: Buffer | null } | undefined {
  const anyTls =
    o.tls || o.caCertFiles.length > 0 || o.clientCertFile || o.clientKeyFile || o.serverName || o.allowInsecure;
  if (!anyTls) return undefined;
  if ((o.clientCertFile === undefined) !== (o.clientKeyFile === undefined)) {
    throw new UsageError(
      "--tls-client-cert-file and --tls-client-key-file go together",
      "give both files for mutual TLS, or neither",
    );
  }
  const key = o.clientKeyFile ? readPem(o.clientKeyFile, "--tls-client-key-file") : null;
  const cert = o.clientCertFile ? readPem(o.clientCertFile, "--tls-client-cert-file") : null;
  if (cert && key && o.clientCertFile && o.clientKeyFile)
    checkClientKeyPair(cert, key, o.clientCertFile, o.clientKeyFile);
  return {
    ca: o.caCertFiles.length > 0 ? Buffer.concat(o.caCertFiles.map((f) => readPem(f, "--tls-ca-cert-files"))) : null,
    key,
    cert,
  };
}

/** What a TLS probe after a failure sends (see probeTls): the client certificate and server name. */
export function tlsProbeOptions(o: ClientTlsOptions): TlsProbeOptions {
  const files = tlsFiles(o);
  return {
    ...(files?.cert && files.key ? { cert: files.cert, key: files.key } : {}),
    ...(o.serverName ? { serverName: o.serverName } : {}),
  };
}

/** Options for the node:http2 gRPC channel (http2-client.ts) for the TLS flags. */
export function clientChannelOptions(o: ClientTlsOptions): GrpcChannelOptions {
  const files = tlsFiles(o);
  if (!files) return {};
  const tls: ConnectionOptions = {};
  if (files.ca) tls.ca = files.ca;
  if (files.key) tls.key = files.key;
  if (files.cert) tls.cert = files.cert;
  if (o.allowInsecure) {
    tls.rejectUnauthorized = false;
    tls.checkServerIdentity = () => undefined;
  }
  if (o.serverName) tls.servername = o.serverName;
  return o.serverName ? { tls, authority: o.serverName } : { tls };
}

/** grpc-js channel credentials and options for the TLS flags; plaintext when no TLS flag is given. */
export function clientCredentials(o: ClientTlsOptions): { creds: ChannelCredentials; options: ChannelOptions } {
  const files = tlsFiles(o);
  if (!files) return { creds: credentials.createInsecure(), options: {} };
  const { ca, key, cert } = files;
  const creds = withoutIpServerName(
    credentials.createSsl(
      ca,
      key,
      cert,
      o.allowInsecure ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {},
    ),
  );
  const options: ChannelOptions = {};
  if (o.serverName) {
    options["grpc.ssl_target_name_override"] = o.serverName;
    options["grpc.default_authority"] = o.serverName;
  }
  return { creds, options };
}
