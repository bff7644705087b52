import type { DiffLine } from "./connectivity-change.js";
import { csvRow, mdRow } from "./connlist-format.js";

/** The output formats of `flowpol analyze diff`, byte for byte netpol-analyzer's. */
export const DIFF_FORMATS = ["txt", "csv", "md"] as const;
export type DiffFormat = (typeof DIFF_FORMATS)[number];

const HEADER = ["diff-type", "source", "destination", "ref1", "ref2", "workloads-diff-info"];

export function formatSemanticDiff(lines: readonly DiffLine[], format: DiffFormat): string {
  const fields = (l: DiffLine) => [l.type, l.src, l.dst, l.ref1.toString(), l.ref2.toString(), l.workloadsInfo];
  switch (format) {
    case "txt": {
      if (lines.length === 0) return "";
      const body = lines.map((l) => {
        const info = l.workloadsInfo ? `, workloads-diff-info: ${l.workloadsInfo}` : "";
        return `diff-type: ${l.type}, source: ${l.src}, destination: ${l.dst}, ref1: ${l.ref1}, ref2: ${l.ref2}${info}\n`;
      });
      return `Connectivity diff:\n${body.join("")}`;
    }
    case "csv":
      return [HEADER.join(","), ...lines.map((l) => csvRow(fields(l)))].join("\n") + "\n";
    case "md":
      return (
        [
          mdRow(HEADER),
          `|${HEADER.map((h) => "-".repeat(h.length + 2)).join("|")}|`,
          ...lines.map((l) => mdRow(fields(l))),
        ].join("\n") + "\n"
      );
  }
}
