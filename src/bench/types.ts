/** One measured figure. `ratio` = value / baseline, where the baseline was measured in the same run. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
  target?: string;
}

/** A benchmark: a module whose default export runs it and returns its rows. */
export type Benchmark = () => Promise<BenchRow[]>;
