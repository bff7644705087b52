/** One line of the benchmark report. `ratio` compares with a baseline measured in the same run. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
  target?: string;
  pass?: boolean;
}

export interface BenchContext {
  /** A scratch directory removed after the run. */
  dir: string;
  /** Scale factor from FLOWPOL_BENCH_SCALE (default 1): smaller for a quick look. */
  scale: number;
  log: (line: string) => void;
}

export type Benchmark = (ctx: BenchContext) => Promise<BenchRow[]>;
