import { Option } from "commander";
import { FORMAT_NAMES, formatByName } from "../collect/formats.js";

/**
 * `--format NAME`: the format of flow records (ingest and verify read them, simulate writes them),
 * never an output format. Checked when the command line is read: a bad name is a usage error
 * before any file or store is touched.
 */
export function recordFormatOption(): Option {
  return new Option("--format <name>", `input format: auto, ${FORMAT_NAMES.join(", ")}`)
    .argParser((value: string) => {
      if (value !== "auto") formatByName(value);
      return value;
    })
    .default("auto");
}
