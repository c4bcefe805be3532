/**
 * mime=json: the same data as txt, as typed JSON with the same snake_case keys (booleans and numbers
 * are JSON values), plus what a UI needs that mod_jk lacks: per-field overrides with the workers-file
 * value, the member rating, lb retry settings, and extras from StatusContext.getMemberExtras.
 * The shape is documented in src/status/README-notes.md.
 */
import type { StatusReport } from './report.js';
import { datetimeText, timezoneText, unixSeconds } from './timefmt.js';
import type { AjpView, Field, LbView, MapView, MemberView } from './view.js';

type Json = Record<string, unknown>;

const ERROR_TIME_KEYS = ['error_time_datetime', 'error_time_tz', 'error_time_unix_seconds', 'error_time_ago'];

function objectOf(fields: readonly Field[]): Json {
  const o: Json = {};
  for (const x of fields) o[x.key] = x.value;
  return o;
}

const mapsJson = (maps: readonly MapView[] | null) => (maps ?? []).map((m) => objectOf(m.fields));

/** No source address is null here; the other formats print mod_jk's word for it ("undefined"). */
const sourceJson = (source: string) => (source === '' ? null : source);

function memberJson(m: MemberView): Json {
  const o = objectOf(m.fields);
  o.source = sourceJson(m.runtime.config.source);
  // A fixed shape is easier for clients than mod_jk's "present only after an error".
  for (const k of ERROR_TIME_KEYS) o[k] ??= null;
  return { ...o, rating: m.rating, overrides: m.overrides, health: m.health, ...m.extras };
}

function lbJson(lb: LbView): Json {
  const rt = lb.balancer.lb;
  return {
    ...objectOf(lb.fields),
    retry_interval: rt.retryIntervalMs,
    lb_retries: rt.lbRetries,
    overrides: lb.overrides,
    members: lb.members.map(memberJson),
    maps: mapsJson(lb.maps),
  };
}

function ajpJson(a: AjpView): Json {
  const o = objectOf(a.fields.filter((x) => x.key !== 'overrides'));
  o.source = sourceJson(a.config.source);
  return { ...o, overrides: {}, maps: mapsJson(a.maps) };
}

export function formatJson(r: StatusReport): string {
  const out: Json = {};
  if (r.server) out.server = { name: r.server.name, port: r.server.port };
  if (r.head) {
    const t = r.head.nowMs;
    out.time = { datetime: datetimeText(t), tz: timezoneText(t), unix: unixSeconds(t) };
    out.software = { web_server: r.head.webServer, jk_version: r.head.jkVersion };
  }
  if (r.listing) {
    out.balancers = (r.listing.lbs ?? []).map(lbJson);
    out.ajp_workers = (r.listing.ajps ?? []).map(ajpJson);
  }
  if (r.shown) {
    out.balancers = 'lb' in r.shown ? [lbJson(r.shown.lb)] : [];
    out.ajp_workers = 'ajp' in r.shown ? [ajpJson(r.shown.ajp)] : [];
  }
  if (r.listing && r.audit) out.audit = r.audit.map((e) => ({ ...e }));
  if (r.history) out.history = r.history;
  if (r.shared) out.shared_state = { ...r.shared };
  if (r.dump) out.configuration = r.dump.map(([key, value]) => ({ key, value }));
  out.result = { type: r.result.type, message: r.result.message };
  // A history is columns of up to HISTORY_SLOTS numbers each: one per line would multiply its size.
  return (r.history ? JSON.stringify(out) : JSON.stringify(out, null, 2)) + '\n';
}
