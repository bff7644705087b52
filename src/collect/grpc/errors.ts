import { type ServiceError, status } from "@grpc/grpc-js";
import { SourceError } from "../../errors.js";
import { type ChannelTls, probeOptions } from "./tls.js";
import { isUnexplainedDrop, probeTls, type TlsProbeResult } from "./tls-probe.js";

/**
 * Turns a gRPC failure into a SourceError that says what went wrong and which flag fixes it, and
 * tells whether a collector should reconnect (the server went away) or stop (it never will work).
 * One explanation for every client and transport; what differs per service is in GrpcService.
 */

/** What the explanations say about one service. */
export interface GrpcService {
  /** The API the server must implement, e.g. "goldmane.Flows". */
  api: string;
  /** Where --server must point when the server is something else. */
  wrongServer: string;
  /** How to reach the service (its port, a port-forward). */
  reach: string;
  /** Names the service's certificate is issued for, for --tls-server-name. */
  serverNames: string;
  /** Which CA signs the service's certificate, for --tls-ca-cert-files. */
  serverCa: string;
  /** Which CA must sign a client certificate, for --tls-client-cert-file. */
  clientCa: string;
  /** The flag that gives a call more time. */
  timeoutFlag: string;
  /** The flags that shape the request, for a request the server rejects. */
  requestFlags: string;
  /** The service always speaks TLS (flowpol has no plaintext flag for it). */
  alwaysTls: boolean;
}

/** The fix when flowpol spoke TLS to a server that does not. */
function plaintextServerHint(service: GrpcService): string {
  return service.alwaysTls
    ? `${service.api} always speaks TLS: check that --server names it (${service.reach})`
    : "drop --tls and the other --tls-* flags";
}

export interface ClassifiedError {
  error: SourceError;
  retryable: boolean;
}

export interface ErrorContext {
  service: GrpcService;
  server: string;
  tls: boolean;
  clientCert: boolean;
  requestTimeoutMs: number;
  /** What a TLS probe found after a connection the server dropped without a reason (see probeTls). */
  probe?: TlsProbeResult;
}

const TLS_VERIFY =
  /self[- ]signed|unable to (get|verify)|unknown ca|certificate (verify|has expired|is not yet valid|signature)|CERT_|UNABLE_TO_VERIFY|DEPTH_ZERO/i;
const NAME_MISMATCH = /does not match certificate|altnames|ERR_TLS_CERT_ALTNAME/i;
const CLIENT_CERT = /certificate required|alert number 116|peer did not return a certificate|handshake failure/i;
const WRONG_PROTOCOL =
  /wrong version number|packet length too long|http\/1|unexpected http|Protocol error|ssl3_get_record/i;

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number";
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
    return { message: `${server} does not speak TLS (${details})`, hint: plaintextServerHint(ctx.service) };
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
      hint: `--tls-client-cert-file must be signed by ${ctx.service.clientCa}`,
    };
  }
  return undefined;
}

/** The TLS failures grpc-js and node:http2 report in the details, each with its flag. */
function tlsCause(ctx: ErrorContext, details: string): { message: string; hint: string } | undefined {
  const { server, service } = ctx;
  if (NAME_MISMATCH.test(details)) {
    return {
      message: `the TLS certificate of ${server} is not valid for the name flowpol checked (${details})`,
      hint: `set --tls-server-name to a name the server certificate is issued for (${service.serverNames})`,
    };
  }
  if (TLS_VERIFY.test(details)) {
    return {
      message: `TLS verification of ${server} failed: ${details}`,
      hint: `give the CA that signed the server certificate with --tls-ca-cert-files (${service.serverCa}; or, to skip verification, --tls-allow-insecure)`,
    };
  }
  if (ctx.tls && CLIENT_CERT.test(details)) {
    return {
      message: `${server} refused the TLS handshake: it requires a client certificate (${details})`,
      hint: ctx.clientCert
        ? `check that --tls-client-cert-file is signed by ${service.clientCa}`
        : "give a client certificate and key with --tls-client-cert-file and --tls-client-key-file (mutual TLS)",
    };
  }
  return undefined;
}

function unavailable(ctx: ErrorContext, details: string): { message: string; hint: string; retryable: boolean } {
  const { server, service } = ctx;
  if (/ECONNREFUSED/.test(details)) {
    return { message: `cannot connect to ${server}: connection refused`, hint: service.reach, retryable: true };
  }
  if (/ENOTFOUND|EAI_AGAIN|Name resolution failed|DNS resolution failed/i.test(details)) {
    return {
      message: `cannot resolve the host of ${server}: ${details}`,
      hint: "check the host name in --server",
      retryable: false,
    };
  }
  if (WRONG_PROTOCOL.test(details) || (!ctx.tls && /Connection dropped|ECONNRESET|socket hang up/i.test(details))) {
    return {
      message: `cannot talk to ${server}: ${details}`,
      hint: ctx.tls
        ? `the server may not use TLS: ${plaintextServerHint(service)}`
        : "the server may require TLS: add --tls (and --tls-ca-cert-files)",
      retryable: true,
    };
  }
  // A TLS server that drops the connection (e.g. for a client certificate it does not accept)
  // is reported without a reason: name both likely causes.
  return {
    message: `${server} is unavailable: ${details}`,
    hint: ctx.clientCert
      ? `check that it is reachable (${service.reach}) and that it accepts the client certificate (--tls-client-cert-file must be signed by ${service.clientCa})`
      : `check that it is reachable: ${service.reach}`,
    retryable: true,
  };
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
  const cause = probeCause(ctx, details) ?? tlsCause(ctx, details);
  if (cause) return fail(cause.message, cause.hint);
  const { server, service } = ctx;
  switch (err.code) {
    case status.UNIMPLEMENTED:
      return fail(`${server} does not implement ${service.api}: ${details}`, service.wrongServer);
    case status.DEADLINE_EXCEEDED:
      return fail(
        `${server} did not answer within ${ctx.requestTimeoutMs / 1000}s`,
        `check that --server names the service (${service.reach}), or allow more time with ${service.timeoutFlag}`,
        true,
      );
    case status.UNAUTHENTICATED:
    case status.PERMISSION_DENIED:
      return fail(
        `${server} refused the request: ${details}`,
        "check the client certificate (--tls-client-cert-file, --tls-client-key-file)",
      );
    case status.INVALID_ARGUMENT:
      return fail(`${server} rejected the request: ${details}`, `check ${service.requestFlags}`);
    case status.UNAVAILABLE: {
      const u = unavailable(ctx, details);
      return fail(u.message, u.hint, u.retryable);
    }
    case status.CANCELLED:
    case status.INTERNAL:
    case status.UNKNOWN:
    case status.ABORTED:
    case status.RESOURCE_EXHAUSTED:
      return fail(`the stream from ${server} broke: ${details}`, "check the server's logs", true);
    default:
      return fail(`${server} failed: ${status[err.code] ?? err.code}: ${details}`, "check the server's logs");
  }
}

/**
 * The explanation of a failure to connect: when the server dropped the connection without a
 * reason, a TLS probe (see probeTls) finds the cause first.
 */
export async function explainConnectFailure(
  err: unknown,
  ctx: ErrorContext,
  tls: ChannelTls | undefined,
): Promise<SourceError> {
  const probe = isUnexplainedDrop(err) ? await probeTls(ctx.server, probeOptions(tls)) : undefined;
  return classifyGrpcError(err, { ...ctx, ...(probe ? { probe } : {}) }).error;
}
