import { Metadata, type ServiceError, status } from "@grpc/grpc-js";

/**
 * The gRPC status of a call as the HTTP/2 transports in this folder see it, in the shape grpc-js
 * gives its errors (ServiceError), so `classifyGrpcError` treats both transports alike.
 */

export function grpcStatusError(code: status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${status[code] ?? "UNKNOWN"}: ${details}`), {
    code,
    details,
    metadata: new Metadata(),
  });
}

/** `grpc-message` is percent-encoded: everything outside printable ASCII, and `%` itself. */
export function encodeGrpcMessage(message: string): string {
  return Array.from(Buffer.from(message, "utf8"), (b) =>
    b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
  ).join("");
}

export function decodeGrpcMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The gRPC code for a response that is not a gRPC response (HTTP status other than 200). */
export function grpcCodeOfHttpStatus(httpStatus: number): status {
  switch (httpStatus) {
    case 400:
      return status.INTERNAL;
    case 401:
      return status.UNAUTHENTICATED;
    case 403:
      return status.PERMISSION_DENIED;
    case 404:
      return status.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return status.UNAVAILABLE;
    default:
      return status.UNKNOWN;
  }
}

/** The gRPC status in response headers or trailers: undefined when `grpc-status` is absent. */
export function statusOfHeaders(headers: Record<string, unknown>): ServiceError | undefined {
  const raw = headers["grpc-status"];
  if (raw === undefined) return undefined;
  const code = Number(raw);
  const message = typeof headers["grpc-message"] === "string" ? decodeGrpcMessage(headers["grpc-message"]) : "";
  if (!Number.isInteger(code) || code < 0 || code > 16) {
    return grpcStatusError(status.UNKNOWN, `invalid grpc-status ${String(raw)}${message ? `: ${message}` : ""}`);
  }
  return grpcStatusError(code, message);
}
