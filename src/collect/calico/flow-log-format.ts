import type { RecordFormat } from "../record.js";
import { calicoRecordFromJson, looksLikeFlowLog } from "./flow-log.js";
import { CalicoFlowLogDecoder } from "./flow-log-decoder.js";
import { asObject } from "./json.js";

/** Calico flow-log records (a JSON object a line, bare or as an Elasticsearch hit's `_source`) as an ingest format. */
export const calicoFlowLogFormat: RecordFormat = {
  name: "calico",
  system: "calico",
  createDecoder: (options) => new CalicoFlowLogDecoder(options),
  detect: (obj) => looksLikeFlowLog(asObject(obj._source) ?? obj),
  toRecord: (value, options) => calicoRecordFromJson(value, undefined, options?.defaultTime),
};
