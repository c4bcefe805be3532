/**
 * mime=txt and mime=prop (docs/status-worker.md#output-formats), with mod_jk's line layout, key names and
 * quoting, minus the quirks of docs/README.md#mod_jk-quirks-not-reproduced: member timestamps are
 * keyed by the member (not the balancer), error-time keys have no spaces, and a standalone worker
 * is announced as `worker.list=<name>`.
 */
import type { StatusReport } from './report.js';
import { datetimeText, timezoneText, unixSeconds } from './timefmt.js';
import { textOrder, type AjpView, type Field, type LbView, type MapView } from './view.js';

/** Line-based formats must not let a value start a new line. */
const oneLine = (s: string) => s.replace(/[\u0000-\u001f\u007f]/g, ' ');

const show = (v: Field['value']) => (typeof v === 'boolean' ? (v ? 'True' : 'False') : oneLine(String(v)));

// ---------------------------------------------------------------- txt

/** Keys whose values mod_jk double-quotes in txt output (they may contain spaces). */
const QUOTED_MEMBER_KEYS = new Set(['route', 'redirect', 'domain', 'overrides']);
const QUOTED_LB_KEYS = new Set(['overrides']);

function txtPairs(fields: readonly Field[], quoted: (key: string) => boolean): string {
  return fields.map((x) => (quoted(x.key) ? ` ${x.key}="${show(x.value)}"` : ` ${x.key}=${show(x.value)}`)).join('');
}

function txtMaps(lines: string[], maps: readonly MapView[] | null) {
  for (const m of maps ?? []) lines.push(`Map:${txtPairs(m.fields, (k) => k !== 'id')}`);
}

function txtLb(lines: string[], lb: LbView) {
  lines.push(`Balancer Worker:${txtPairs(lb.fields, (k) => QUOTED_LB_KEYS.has(k))}`);
  for (const m of lb.members) lines.push(`Member:${txtPairs(textOrder(m.fields), (k) => QUOTED_MEMBER_KEYS.has(k))}`);
  txtMaps(lines, lb.maps);
}

function txtAjp(lines: string[], a: AjpView) {
  lines.push(`AJP Worker:${txtPairs(textOrder(a.fields), (k) => k === 'overrides')}`);
  txtMaps(lines, a.maps);
}

export function formatTxt(r: StatusReport): string {
  const lines: string[] = [];
  if (r.server) lines.push(`Server: name=${show(r.server.name)} port=${r.server.port}`);
  if (r.head) {
    const t = r.head.nowMs;
    lines.push(`Time: datetime=${datetimeText(t)} tz=${timezoneText(t)} unix=${unixSeconds(t)}`);
    lines.push(`Software: web_server="${show(r.head.webServer)}" jk_version=${show(r.head.jkVersion)}`);
  }
  if (r.listing?.lbs?.length) {
    lines.push(`Balancer Workers: count=${r.listing.lbs.length}`);
    for (const lb of r.listing.lbs) txtLb(lines, lb);
  }
  if (r.listing?.ajps?.length) {
    lines.push(`AJP Workers: count=${r.listing.ajps.length}`);
    for (const a of r.listing.ajps) txtAjp(lines, a);
  }
  if (r.shown) {
    if ('lb' in r.shown) txtLb(lines, r.shown.lb);
    else txtAjp(lines, r.shown.ajp);
  }
  if (r.dump) {
    lines.push('Configuration:');
    for (const [k, v] of r.dump) lines.push(`${oneLine(k)}=${oneLine(v)}`);
  }
  lines.push(`Result: type=${r.result.type} message="${show(r.result.message)}"`);
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------- prop

function propLb(lines: string[], p: string, lb: LbView) {
  const name = lb.balancer.lb.name;
  lines.push(`${p}.list=${show(name)}`);
  for (const x of lb.fields) if (x.key !== 'name') lines.push(`${p}.${name}.${x.key}=${show(x.value)}`);
  for (const m of lb.members) {
    lines.push(`${p}.${name}.balance_workers=${show(m.runtime.name)}`);
    for (const x of textOrder(m.fields)) if (x.key !== 'name') lines.push(`${p}.${m.runtime.name}.${x.key}=${show(x.value)}`);
  }
  propMaps(lines, p, name, lb.maps);
}

function propAjp(lines: string[], p: string, a: AjpView) {
  const name = a.config.name;
  lines.push(`${p}.list=${show(name)}`);
  for (const x of textOrder(a.fields)) if (x.key !== 'name') lines.push(`${p}.${name}.${x.key}=${show(x.value)}`);
  propMaps(lines, p, name, a.maps);
}

function propMaps(lines: string[], p: string, worker: string, maps: readonly MapView[] | null) {
  for (const m of maps ?? []) {
    const id = m.fields[0].value;
    for (const x of m.fields.slice(1)) lines.push(`${p}.${worker}.map.${id}.${x.key}=${show(x.value)}`);
  }
}

export function formatProp(r: StatusReport, prefix: string): string {
  const p = prefix || 'worker';
  const lines: string[] = [];
  if (r.server) {
    lines.push(`${p}.server_name=${show(r.server.name)}`);
    lines.push(`${p}.server_port=${r.server.port}`);
  }
  if (r.head) {
    const t = r.head.nowMs;
    lines.push(`${p}.time_datetime=${datetimeText(t)}`, `${p}.time_tz=${timezoneText(t)}`, `${p}.time_unix=${unixSeconds(t)}`);
    lines.push(`${p}.web_server=${show(r.head.webServer)}`, `${p}.jk_version=${show(r.head.jkVersion)}`);
  }
  if (r.listing?.lbs?.length) {
    lines.push(`${p}.lb_count=${r.listing.lbs.length}`);
    for (const lb of r.listing.lbs) propLb(lines, p, lb);
  }
  if (r.listing?.ajps?.length) {
    lines.push(`${p}.ajp_count=${r.listing.ajps.length}`);
    for (const a of r.listing.ajps) propAjp(lines, p, a);
  }
  if (r.shown) {
    if ('lb' in r.shown) propLb(lines, p, r.shown.lb);
    else propAjp(lines, p, r.shown.ajp);
  }
  if (r.dump) for (const [k, v] of r.dump) lines.push(`${oneLine(k)}=${oneLine(v)}`);
  lines.push(`${p}.result.type=${r.result.type}`, `${p}.result.message=${show(r.result.message)}`);
  return lines.join('\n') + '\n';
}
