import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ServerStatusRequestSchema,
  type ServerStatusResponse,
  ServerStatusResponseSchema,
} from "../../gen/observer/observer_pb.js";
import { type GrpcChannel, openChannel, type Transport } from "../grpc/channel.js";
import { type ErrorContext, explainConnectFailure } from "../grpc/errors.js";
import { resolveTls, type TlsFlags } from "../grpc/tls.js";
import { serverStatusMethod } from "./observer-service.js";
import { HUBBLE_OBSERVER } from "./service.js";

/**
 * Hubble's GetFlows stream rides flowpol's node:http2 transport: `npm run bench` ("hubble gRPC
 * transport") measures a bare decoding client on it against the same client on grpc-js.
 */
export const HUBBLE_TRANSPORT: Transport = "http2";

/** A channel to Hubble Relay or a Hubble server, and how to explain its failures. */
export interface ObserverConnection {
  channel: GrpcChannel;
  errors: ErrorContext;
  status: ServerStatusResponse;
}

/**
 * Connects to `server` and asks for its status: one small call that checks reachability, TLS both
 * ways and that the server is Hubble. Rejects with an explained SourceError.
 */
export async function connectObserver(
  server: string,
  flags: TlsFlags,
  requestTimeoutMs: number,
  transport: Transport = HUBBLE_TRANSPORT,
): Promise<ObserverConnection> {
  const tls = resolveTls(flags);
  const channel = openChannel(server, tls, transport);
  const errors: ErrorContext = {
    service: HUBBLE_OBSERVER,
    server,
    tls: tls !== undefined,
    clientCert: tls?.cert !== undefined,
    requestTimeoutMs,
  };
  try {
    const request = toBinary(ServerStatusRequestSchema, create(ServerStatusRequestSchema));
    const response = await channel.unary(serverStatusMethod.path, request, requestTimeoutMs);
    return { channel, errors, status: fromBinary(ServerStatusResponseSchema, response) };
  } catch (err) {
    channel.close();
    throw await explainConnectFailure(err, errors, tls);
  }
}
