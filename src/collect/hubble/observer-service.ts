import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import type { MethodDefinition } from "@grpc/grpc-js";
import {
  type GetFlowsRequest,
  GetFlowsRequestSchema,
  type GetNodesRequest,
  GetNodesRequestSchema,
  type GetNodesResponse,
  GetNodesResponseSchema,
  Observer,
  type ServerStatusRequest,
  ServerStatusRequestSchema,
  type ServerStatusResponse,
  ServerStatusResponseSchema,
} from "../../gen/observer/observer_pb.js";

/**
 * The `observer.Observer` methods flowpol calls and serves, for @grpc/grpc-js, with serializers
 * from the generated schemas. `GetFlows` responses stay raw bytes on both sides: the replay server
 * encodes each recorded flow once, and the collector decodes selectively (grpc-flow.ts).
 */

function serialize<D extends DescMessage>(schema: D) {
  return (message: MessageShape<D>): Buffer => Buffer.from(toBinary(schema, message));
}

function deserialize<D extends DescMessage>(schema: D) {
  return (bytes: Buffer): MessageShape<D> => fromBinary(schema, bytes);
}

const raw = (bytes: Buffer): Buffer => bytes;

function path(method: { name: string }): string {
  return `/${Observer.typeName}/${method.name}`;
}

export const getFlowsMethod: MethodDefinition<GetFlowsRequest, Buffer> = {
  path: path(Observer.method.getFlows),
  requestStream: false,
  responseStream: true,
  requestSerialize: serialize(GetFlowsRequestSchema),
  requestDeserialize: deserialize(GetFlowsRequestSchema),
  responseSerialize: raw,
  responseDeserialize: raw,
};

export const serverStatusMethod: MethodDefinition<ServerStatusRequest, ServerStatusResponse> = {
  path: path(Observer.method.serverStatus),
  requestStream: false,
  responseStream: false,
  requestSerialize: serialize(ServerStatusRequestSchema),
  requestDeserialize: deserialize(ServerStatusRequestSchema),
  responseSerialize: serialize(ServerStatusResponseSchema),
  responseDeserialize: deserialize(ServerStatusResponseSchema),
};

export const getNodesMethod: MethodDefinition<GetNodesRequest, GetNodesResponse> = {
  path: path(Observer.method.getNodes),
  requestStream: false,
  responseStream: false,
  requestSerialize: serialize(GetNodesRequestSchema),
  requestDeserialize: deserialize(GetNodesRequestSchema),
  responseSerialize: serialize(GetNodesResponseSchema),
  responseDeserialize: deserialize(GetNodesResponseSchema),
};

/** The service definition the replay server registers (the methods it implements). */
export const observerServiceDefinition = {
  GetFlows: getFlowsMethod,
  ServerStatus: serverStatusMethod,
  GetNodes: getNodesMethod,
};
