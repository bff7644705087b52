import { Command } from "commander";
import { writeSimulation } from "../../samples/write-simulation.js";
import { outFile, outFileOption, parseIntFlag, removedShortOut } from "../options.js";
import { type Output, writeLine } from "../output.js";

/** No -o: what simulate writes is flow records, in the --format ingest reads them in. */
export function define(out: Output): Command {
  return new Command("simulate")
    .description("write realistic flow records from a simulated cluster (to try flowpol, and for benchmarks)")
    .option("--scenario <name>", "the simulated cluster", "online-boutique")
    .option("--flows <n>", "how many records to write", parseIntFlag("--flows", 1), 5000)
    .option(
      "--format <name>",
      "record format: hubble, calico (EE defaults), calico-level0..3 (flow logs at one aggregation level), goldmane",
      "hubble",
    )
    .option("--seed <n>", "random seed: the same seed gives the same file", parseIntFlag("--seed"), 1)
    .addOption(outFileOption("write to FILE (gzip when it ends in .gz) instead of stdout"))
    .addOption(removedShortOut())
    .action(async (o) => {
      const file = outFile(o.out);
      await simulate({ scenario: o.scenario, flows: o.flows, format: o.format, seed: o.seed, out: file }, out);
    });
}

export interface SimulateCommandOptions {
  scenario: string;
  flows: number;
  format: string;
  seed: number;
  out?: string | undefined;
}

/** `flowpol simulate`: realistic flow captures from a simulated cluster, for trying flowpol. */
export async function simulate(options: SimulateCommandOptions, out: Output): Promise<void> {
  const count = await writeSimulation(
    { scenario: options.scenario, flows: options.flows, format: options.format, seed: options.seed },
    options.out,
    out.stdout,
  );
  if (options.out) writeLine(out.stderr, `wrote ${count} ${options.format} records to ${options.out}`);
}
