/**
 * One clock for every record: milliseconds since cowtop started (the process's time origin), so
 * that an event and the sample that shows its effect line up; and the wall clock beside it.
 */
export const STARTED_AT = performance.timeOrigin; // epoch ms when this process started

export function sinceStart(now = Date.now()): number {
  return Math.max(0, Math.round(now - STARTED_AT));
}

export function isoTime(now = Date.now()): string {
  return new Date(now).toISOString();
}
