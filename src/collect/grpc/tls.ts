import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { type ChannelCredentials, type ChannelOptions, credentials } from "@grpc/grpc-js";
import { UsageError } from "../../errors.js";
import { checkClientKeyPair, withoutIpServerName } from "./tls-identity.js";
import type { TlsProbeOptions } from "./tls-probe.js";

/** The TLS flags of every gRPC client command, named as the `hubble` CLI names them. */
export interface TlsFlags {
  /** `--tls`; implied by any other TLS flag. */
  tls?: boolean;
  caCertFiles: string[];
  clientCertFile?: string | undefined;
  clientKeyFile?: string | undefined;
  serverName?: string | undefined;
  allowInsecure?: boolean;
}

/** The flags resolved: the PEM files read and checked. `undefined` means plaintext. */
export interface ChannelTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  serverName?: string;
  allowInsecure: boolean;
}

function readPem(path: string, flag: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new UsageError(
      `${flag}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`,
      `check the ${flag} path`,
      { cause: err },
    );
  }
  if (!pem.includes("-----BEGIN ")) {
    throw new UsageError(`${flag}: ${path} is not a PEM file`, `give ${flag} a PEM-encoded file (-----BEGIN ...)`);
  }
  return pem;
}

/** Reads and checks the files the flags name; undefined when no TLS flag is given. */
export function resolveTls(flags: TlsFlags): ChannelTls | undefined {
  const { caCertFiles, clientCertFile, clientKeyFile, serverName } = flags;
  const anyTls =
    flags.tls || caCertFiles.length > 0 || clientCertFile || clientKeyFile || serverName || flags.allowInsecure;
  if (!anyTls) return undefined;
  if ((clientCertFile === undefined) !== (clientKeyFile === undefined)) {
    throw new UsageError(
      "--tls-client-cert-file and --tls-client-key-file go together",
      "give both files for mutual TLS, or neither",
    );
  }
  const resolved: ChannelTls = { allowInsecure: flags.allowInsecure ?? false };
  if (caCertFiles.length > 0) resolved.ca = Buffer.concat(caCertFiles.map((f) => readPem(f, "--tls-ca-cert-files")));
  if (clientCertFile && clientKeyFile) {
    resolved.cert = readPem(clientCertFile, "--tls-client-cert-file");
    resolved.key = readPem(clientKeyFile, "--tls-client-key-file");
    checkClientKeyPair(resolved.cert, resolved.key, clientCertFile, clientKeyFile);
  }
  if (serverName) resolved.serverName = serverName;
  return resolved;
}

/** What a TLS probe after a failure sends (see probeTls): the client certificate and server name. */
export function probeOptions(tls: ChannelTls | undefined): TlsProbeOptions {
  return {
    ...(tls?.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
    ...(tls?.serverName ? { serverName: tls.serverName } : {}),
  };
}

/** node:tls options for the HTTP/2 transport, and the `:authority` to send. */
export function nodeTlsOptions(tls: ChannelTls): { tls: ConnectionOptions; authority?: string } {
  const options: ConnectionOptions = {};
  if (tls.ca) options.ca = tls.ca;
  if (tls.key) options.key = tls.key;
  if (tls.cert) options.cert = tls.cert;
  if (tls.allowInsecure) {
    options.rejectUnauthorized = false;
    options.checkServerIdentity = () => undefined;
  }
  if (tls.serverName) options.servername = tls.serverName;
  return tls.serverName ? { tls: options, authority: tls.serverName } : { tls: options };
}

/** grpc-js credentials and channel options; plaintext when `tls` is undefined. */
export function grpcJsCredentials(tls: ChannelTls | undefined): {
  creds: ChannelCredentials;
  options: ChannelOptions;
} {
  if (!tls) return { creds: credentials.createInsecure(), options: {} };
  const creds = withoutIpServerName(
    credentials.createSsl(
      tls.ca ?? null,
      tls.key ?? null,
      tls.cert ?? null,
      tls.allowInsecure ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {},
    ),
  );
  const options: ChannelOptions = {};
  if (tls.serverName) {
    options["grpc.ssl_target_name_override"] = tls.serverName;
    options["grpc.default_authority"] = tls.serverName;
  }
  return { creds, options };
}
