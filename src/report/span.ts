const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * An observation window's length for people: days to one decimal from a day on ("1.7 days"),
 * hours and minutes below it ("5 h 20 min"), seconds below a minute. Never "0 days".
 */
export function formatSpan(ms: number): string {
  if (ms >= DAY_MS) {
    const days = Math.round((ms / DAY_MS) * 10) / 10;
    return `${days} day${days === 1 ? "" : "s"}`;
  }
  if (ms < MINUTE_MS) return `${Math.round(ms / 1000)} s`;
  const minutes = Math.round(ms / MINUTE_MS);
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours === 0) return `${rest} min`;
  return rest === 0 ? `${hours} h` : `${hours} h ${rest} min`;
}
