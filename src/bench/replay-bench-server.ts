import { startReplayServer } from "../collect/hubble/replay-server.js";
import { syntheticEvents } from "./synthetic-flows.js";

/** A replay server over generated flows, in its own process so it does not share the client's core. */
const count = Number(process.argv[2] ?? 200_000);
const server = await startReplayServer({ events: syntheticEvents(count), listen: "127.0.0.1:0", unavailableNodes: [] });
process.stdout.write(`listening on 127.0.0.1:${server.port}\n`);
process.on("SIGTERM", () => {
  void server.close().then(() => process.exit(0));
});
