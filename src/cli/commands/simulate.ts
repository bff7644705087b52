import { writeSimulation } from "../../samples/write-simulation.js";
import { type Output, writeLine } from "../output.js";

export interface SimulateCommandOptions {
  scenario: string;
  flows: number;
  format: string;
  seed: number;
  out?: string;
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
