import { InvalidArgumentError } from "commander";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `90s`, `5m`, `1h30m`, `2d` into milliseconds (a commander flag parser). */
export function parseDurationFlag(flag: string) {
  return (value: string): number => {
    const parts = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
    const total = parts.reduce((ms, p) => ms + Number(p[1]) * (UNITS[p[2] as string] ?? 0), 0);
    if (parts.length === 0 || parts.map((p) => p[0]).join("") !== value || total <= 0) {
      throw new InvalidArgumentError(`${flag} takes a duration such as 30s, 5m, 1h or 1h30m`);
    }
    return total;
  };
}
