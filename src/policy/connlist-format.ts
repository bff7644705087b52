import { type ConnLine, lineText } from "./connlist.js";

/** The output formats of `flowpol analyze list`, byte for byte netpol-analyzer's. */
export const CONNLIST_FORMATS = ["txt", "json", "csv", "md"] as const;
export type ConnlistFormat = (typeof CONNLIST_FORMATS)[number];

export function formatConnlist(lines: readonly ConnLine[], format: ConnlistFormat): string {
  switch (format) {
    case "txt":
      return lines.map((l) => `${lineText(l)}\n`).join("");
    case "json":
      return `${JSON.stringify(
        lines.map((l) => ({ src: l.src, dst: l.dst, conn: l.conns.toString() })),
        null,
        2,
      )}\n`;
    case "csv":
      return ["src,dst,conn", ...lines.map((l) => csvRow([l.src, l.dst, l.conns.toString()]))].join("\n") + "\n";
    case "md":
      return (
        [
          "| src | dst | conn |",
          "|-----|-----|------|",
          ...lines.map((l) => mdRow([l.src, l.dst, l.conns.toString()])),
        ].join("\n") + "\n"
      );
  }
}

/** Quotes a field as Go's encoding/csv does: when it holds a comma, a quote, a line break or a leading space. */
export function csvField(value: string): string {
  if (value === "" || !/[",\r\n]|^\s/.test(value)) return value;
  return `"${value.replaceAll('"', '""')}"`;
}

export function csvRow(fields: readonly string[]): string {
  return fields.map(csvField).join(",");
}

export function mdRow(fields: readonly string[]): string {
  return `| ${fields.join(" | ")} |`;
}
