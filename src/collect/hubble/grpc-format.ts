/** The parse-worker format name of chunks of raw gRPC `GetFlowsResponse` messages. */
export const GRPC_FORMAT = "hubble-grpc";
