import { loadReplayEvents } from "../src/collect/hubble/replay-events.js";
import { startHubbleReplayServer } from "../src/collect/hubble/replay-server.js";

/** The replay server over a recorded file, in its own process so it does not share the client's core. */
const file = process.argv[2] as string;
const loaded = await loadReplayEvents([file]);
const server = await startHubbleReplayServer({ events: loaded.events, listen: "127.0.0.1:0", unavailableNodes: [] });
const flows = loaded.events.filter((e) => e.kind === "flow").length;
process.stdout.write(`${flows} flows; listening on 127.0.0.1:${server.port}\n`);
process.on("SIGTERM", () => {
  void server.close().then(() => process.exit(0));
});
