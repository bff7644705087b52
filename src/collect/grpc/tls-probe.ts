import { isIP } from "node:net";
import { connect } from "node:tls";

/**
 * Why a gRPC connection failed at the TLS layer, found by a second, plain TLS connection to the
 * same server. grpc-js and node:http2 report a server that drops the connection after the
 * handshake (what servers do with a client certificate they refuse, and what a TLS server does
 * with a plaintext client) as "connection reset" or "stream reset with code 8", which names no
 * cause. The probe does not verify the server (that failure has its own clear message); it sends
 * the HTTP/2 preface and waits for the server's first frame.
 */
export type TlsProbeResult =
  /** The server answered over TLS with this client certificate (or without one when none is given). */
  | "tls-ok"
  /** The server speaks TLS and asked for a client certificate that was not given. */
  | "client-cert-required"
  /** The server closed the connection or sent an alert after seeing the client certificate. */
  | "client-cert-refused"
  /** The server does not speak TLS. */
  | "not-tls"
  | "unknown";

export interface TlsProbeOptions {
  cert?: Buffer;
  key?: Buffer;
  /** Sent as SNI only when it is a name: RFC 6066 forbids IP addresses there. */
  serverName?: string;
  timeoutMs?: number;
}

const HTTP2_PREFACE = Buffer.concat([
  Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
  // An empty SETTINGS frame: length 0, type 4, flags 0, stream 0.
  Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
]);

function hostPort(server: string): { host: string; port: number } | undefined {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(server.replace(/^(dns|ipv4|ipv6):(\/\/\/)?/, ""));
  return m?.[1] && m[2] ? { host: m[1], port: Number(m[2]) } : undefined;
}

export function probeTls(server: string, options: TlsProbeOptions = {}): Promise<TlsProbeResult> {
  const target = hostPort(server);
  if (!target) return Promise.resolve("unknown");
  const withCert = options.cert !== undefined && options.key !== undefined;
  return new Promise((resolve) => {
    let handshaken = false;
    let settled = false;
    const socket = connect({
      host: target.host,
      port: target.port,
      rejectUnauthorized: false,
      ALPNProtocols: ["h2"],
      ...(withCert ? { cert: options.cert, key: options.key } : {}),
      ...(options.serverName && !isIP(options.serverName) ? { servername: options.serverName } : {}),
      ...(!options.serverName && !isIP(target.host) ? { servername: target.host } : {}),
    });
    const done = (result: TlsProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(handshaken ? "tls-ok" : "unknown"), options.timeoutMs ?? 3000);
    socket.once("secureConnect", () => {
      handshaken = true;
      socket.write(HTTP2_PREFACE);
    });
    socket.once("data", () => done("tls-ok"));
    socket.once("error", (err: NodeJS.ErrnoException) => {
      const text = `${err.code ?? ""} ${err.message}`;
      if (/CERTIFICATE_REQUIRED|certificate required|alert number 116/i.test(text)) done("client-cert-required");
      else if (/wrong version number|packet length too long|unknown protocol|ssl3_get_record|WRONG_VERSION/i.test(text))
        done("not-tls");
      else if (/alert/i.test(text) || (handshaken && /ECONNRESET|EPIPE/.test(text)))
        done(withCert ? "client-cert-refused" : "unknown");
      else done("unknown");
    });
    socket.once("close", () => done(handshaken && withCert ? "client-cert-refused" : "unknown"));
  });
}

/**
 * Whether a gRPC error is a connection the server dropped without saying why: the errors worth a
 * probe. Refused connections and unknown hosts name their cause already.
 */
export function isUnexplainedDrop(err: unknown): boolean {
  const e = err as { code?: unknown; details?: unknown; message?: unknown };
  const text = `${typeof e.details === "string" ? e.details : ""} ${typeof e.message === "string" ? e.message : ""}`;
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|Name resolution failed|DNS resolution failed/i.test(text)) return false;
  return /ECONNRESET|EPIPE|socket hang up|reset with code|Connection dropped|No connection established|Failed to connect|Connection closed|GOAWAY/i.test(
    text,
  );
}
