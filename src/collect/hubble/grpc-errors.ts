import { type ServiceError, status } from "@grpc/grpc-js";
import { SourceError } from "../../errors.js";
import type { TlsProbeResult } from "../grpc/tls-probe.js";

/**
 * Turns a gRPC failure into a SourceError that says what went wrong and which flag fixes it, and
 * tells whether a collector should reconnect (the server went away) or stop (it never will work).
 */

export interface ClassifiedError {
  error: SourceError;
  retryable: boolean;
}

const TLS_VERIFY =
  /self[- ]signed|unable to (get|verify)|certificate (verify|has expired|is not yet valid|signature)|CERT_|UNABLE_TO_VERIFY|DEPTH_ZERO/i;
const NAME_MISMATCH = /does not match certificate|altnames|ERR_TLS_CERT_ALTNAME/i;
const CLIENT_CERT = /certificate required|alert number 116|peer did not return a certificate|handshake failure/i;
const WRONG_PROTOCOL =
  /wrong version number|packet length too long|http\/1|unexpected http|Protocol error|ssl3_get_record/i;

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number";
}

export interface ErrorContext {
  server: string;
  tls: boolean;
  clientCert: boolean;
  requestTimeoutMs: number;
  /** What a TLS probe found after a connection the server dropped without a reason (see probeTls). */
  probe?: TlsProbeResult;
}

/** What the server's TLS says about a dropped connection, when it names a cause and its flag. */
function probeCause(ctx: ErrorContext, details: string): { message: string; hint: string } | undefined {
  const { server, probe } = ctx;
  if (!ctx.tls && (probe === "tls-ok" || probe === "client-cert-required")) {
    return {
      message: `${server} speaks TLS and flowpol connected without it (${details})`,
      hint:
        probe === "client-cert-required"
          ? "add --tls (and --tls-ca-cert-files for a private CA); the server also requires a client certificate (mutual TLS: --tls-client-cert-file and --tls-client-key-file)"
          : "add --tls (and --tls-ca-cert-files for a private CA)",
    };
  }
  if (ctx.tls && probe === "not-tls") {
    return { message: `${server} does not speak TLS (${details})`, hint: "drop --tls and the other --tls-* flags" };
  }
  if (ctx.tls && probe === "client-cert-required" && !ctx.clientCert) {
    return {
      message: `${server} requires a client certificate (mutual TLS) and none was given`,
      hint: "give a client certificate and key with --tls-client-cert-file and --tls-client-key-file",
    };
  }
  if (ctx.tls && probe === "client-cert-refused") {
    return {
      message: `${server} refused the client certificate (it closed the connection after the TLS handshake)`,
      hint: "--tls-client-cert-file must be signed by a CA the server trusts",
    };
  }
  return undefined;
}

export function classifyGrpcError(err: unknown, ctx: ErrorContext): ClassifiedError {
  if (!isServiceError(err)) {
    return {
      error: new SourceError(`talking to ${ctx.server} failed: ${(err as Error).message ?? String(err)}`, undefined, {
        cause: err,
      }),
      retryable: false,
    };
  }
  const details = err.details || err.message;
  const fail = (message: string, hint: string, retryable = false): ClassifiedError => ({
    error: new SourceError(message, hint, { cause: err }),
    retryable,
  });
  const cause = probeCause(ctx, details);
  if (cause) return fail(cause.message, cause.hint);
  if (NAME_MISMATCH.test(details)) {
    return fail(
      `the TLS certificate of ${ctx.server} is not valid for the name flowpol checked (${details})`,
      "set --tls-server-name to a name the server certificate is issued for (Hubble Relay: *.hubble-relay.cilium.io)",
    );
  }
  if (TLS_VERIFY.test(details)) {
    return fail(
      `TLS verification of ${ctx.server} failed: ${details}`,
      "give the CA that signed the server certificate with --tls-ca-cert-files (or, to skip verification, --tls-allow-insecure)",
    );
  }
  if (ctx.tls && CLIENT_CERT.test(details)) {
    return fail(
      `${ctx.server} refused the TLS handshake: it requires a client certificate (${details})`,
      ctx.clientCert
        ? "check that --tls-client-cert-file is signed by a CA the server trusts"
        : "give a client certificate and key with --tls-client-cert-file and --tls-client-key-file (mutual TLS)",
    );
  }
  switch (err.code) {
    case status.UNIMPLEMENTED:
      return fail(
        `${ctx.server} does not implement the Hubble Observer API (observer.Observer): ${details}`,
        "point --server at Hubble Relay (port 4245) or a Cilium agent's Hubble server (port 4244)",
      );
    case status.DEADLINE_EXCEEDED:
      return fail(
        `${ctx.server} did not answer within ${ctx.requestTimeoutMs / 1000}s`,
        "check that --server names a Hubble Relay, or allow more time with --request-timeout",
        true,
      );
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED:
      return fail(
        `${ctx.server} refused the request: ${details}`,
        "check the client certificate (--tls-client-cert-file, --tls-client-key-file)",
      );
    case status.INVALID_ARGUMENT:
      return fail(`${ctx.server} rejected the request: ${details}`, "check --since, --until, --last and --namespace");
    case status.UNAVAILABLE: {
      if (/ECONNREFUSED/.test(details)) {
        return fail(
          `cannot connect to ${ctx.server}: connection refused`,
          "check --server (host:port of Hubble Relay, default localhost:4245); `cilium hubble port-forward` exposes Relay on localhost:4245",
          true,
        );
      }
      if (/ENOTFOUND|EAI_AGAIN|Name resolution failed|DNS resolution failed/i.test(details)) {
        return fail(`cannot resolve the host of ${ctx.server}: ${details}`, "check the host name in --server");
      }
      if (WRONG_PROTOCOL.test(details) || (!ctx.tls && /Connection dropped|ECONNRESET|socket hang up/i.test(details))) {
        return fail(
          `cannot talk to ${ctx.server}: ${details}`,
          ctx.tls
            ? "the server may not use TLS: drop --tls"
            : "the server may require TLS: add --tls (and --tls-ca-cert-files)",
          true,
        );
      }
      return fail(`${ctx.server} is unavailable: ${details}`, "check that Hubble Relay is running and --server", true);
    }
    case status.CANCELLED:
    case status.INTERNAL:
    case status.UNKNOWN:
    case status.ABORTED:
    case status.RESOURCE_EXHAUSTED:
      return fail(`the stream from ${ctx.server} broke: ${details}`, "check the server's logs", true);
    default:
      return fail(`${ctx.server} failed: ${status[err.code] ?? err.code}: ${details}`, "check the server's logs");
  }
}
