/**
 * Time formats of the status output (docs/status-worker.md#output-formats): local time, as mod_jk
 * prints it with strftime.
 */

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `YYYYMMDDhhmmss` in local time (xml/txt/prop). */
export function datetimeText(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
}

/** `±hhmm` offset of local time from UTC at that instant. */
export function timezoneText(ms: number): string {
  const offset = -new Date(ms).getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}`;
}

/** `YYYY-MM-DD hh:mm:ss ±hhmm` (HTML). */
export function datetimeHtml(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${timezoneText(ms)}`
  );
}

/** Whole seconds since the epoch. */
export const unixSeconds = (ms: number) => Math.floor(ms / 1000);

/** Whole seconds elapsed from `thenMs` to `nowMs` (mod_jk's difftime cast to int). */
export const secondsBetween = (thenMs: number, nowMs: number) => Math.floor((nowMs - thenMs) / 1000);
