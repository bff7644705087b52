import { create } from "@bufbuild/protobuf";
import {
  Server,
  type ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
} from "@grpc/grpc-js";
import {
  type FilterHintsResult,
  FilterHintsResultSchema,
  type Flow,
  type FlowListRequest,
  type FlowListResult,
  FlowListResultSchema,
  type FlowResult,
  FlowResultSchema,
  type FlowStreamRequest,
} from "../../gen/goldmane/goldmane_pb.js";
import { FlowsDefinition } from "./client.js";

/**
 * A real gRPC server implementing `goldmane.Flows` over recorded flows, for tests and trying
 * flowpol without a cluster. `List` pages through the flows in time order; `Stream` sends every
 * flow from `start_time_gte` (absolute Unix seconds; 0 or negative: from the first recorded
 * flow, since recordings are all history) and then holds the stream open as a live server
 * would. `dropStreamAfter` makes the server drop every stream after that many flows, to test
 * reconnects.
 */
export interface ReplayServerOptions {
  flows: Flow[];
  credentials: ServerCredentials;
  /** host:port; port 0 picks a free port. */
  listen: string;
  dropStreamAfter?: number;
}

export interface RunningReplayServer {
  port: number;
  streamsServed: () => number;
  /** Stops at once, breaking open streams (a crash, as the client sees it). */
  kill: () => void;
  close: () => Promise<void>;
}

function byTime(flows: Flow[]): Flow[] {
  return [...flows].sort((a, b) => Number(a.startTime - b.startTime));
}

export async function startGoldmaneReplayServer(options: ReplayServerOptions): Promise<RunningReplayServer> {
  const flows = byTime(options.flows);
  const server = new Server();
  let streams = 0;
  const result = (flow: Flow, index: number): FlowResult => create(FlowResultSchema, { id: BigInt(index + 1), flow });
  server.addService(FlowsDefinition, {
    list(call: ServerUnaryCall<FlowListRequest, FlowListResult>, callback: sendUnaryData<FlowListResult>) {
      const { startTimeGte: gte, startTimeLt: lt } = call.request;
      const selected = flows
        .map((flow, i) => ({ flow, i }))
        .filter(({ flow }) => (gte <= 0n || flow.startTime >= gte) && (lt <= 0n || flow.startTime < lt));
      const pageSize = Number(call.request.pageSize > 0n ? call.request.pageSize : 100n);
      const page = Number(call.request.page);
      const pageFlows = selected.slice(page * pageSize, (page + 1) * pageSize);
      callback(
        null,
        create(FlowListResultSchema, {
          meta: {
            totalPages: BigInt(Math.ceil(selected.length / pageSize)),
            totalResults: BigInt(selected.length),
          },
          flows: pageFlows.map(({ flow, i }) => result(flow, i)),
        }),
      );
    },
    stream(call: ServerWritableStream<FlowStreamRequest, FlowResult>) {
      streams++;
      const gte = call.request.startTimeGte;
      let sent = 0;
      for (const [i, flow] of flows.entries()) {
        if (gte > 0n && flow.startTime < gte) continue;
        if (options.dropStreamAfter !== undefined && sent >= options.dropStreamAfter) {
          call.destroy(new Error("replay server dropped the stream"));
          return;
        }
        call.write(result(flow, i));
        sent++;
      }
    },
    filterHints(_call: ServerUnaryCall<unknown, FilterHintsResult>, callback: sendUnaryData<FilterHintsResult>) {
      callback(null, create(FilterHintsResultSchema, {}));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.listen, options.credentials, (err, boundPort) => (err ? reject(err) : resolve(boundPort))),
  );
  return {
    port,
    streamsServed: () => streams,
    kill: () => server.forceShutdown(),
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 500).unref();
      }),
  };
}
