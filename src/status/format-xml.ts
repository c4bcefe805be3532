/**
 * mime=xml (docs/status-worker.md#output-formats): mod_jk's layout — one attribute per line, fixed
 * indentation, elements named with the configured `ns` prefix — but with every value XML-escaped
 * (mod_jk prints them raw).
 */
import type { StatusConfig } from '../config/model.js';
import type { StatusReport } from './report.js';
import { datetimeText, timezoneText, unixSeconds } from './timefmt.js';
import type { AjpView, Field, LbView, MapView } from './view.js';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ENTITIES[c]).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

/** Property names printed as attribute names by `dump` must be valid XML names. */
function xmlName(key: string): string {
  const cleaned = key.replace(/[^A-Za-z0-9_.-]/g, '_');
  return /^[A-Za-z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

/** `ns`/`xmlns` values starting with '-' mean "none" (docs/directives.md#status-workers). */
const optional = (v: string) => (v.startsWith('-') ? '' : v);

const show = (v: Field['value']) => (typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v));

class XmlWriter {
  private readonly out: string[] = [];
  constructor(private readonly ns: string) {}
  line(indent: number, text: string) {
    this.out.push(`${' '.repeat(indent)}${text}\n`);
  }
  open(indent: number, name: string) {
    this.line(indent, `<${this.ns}${name}`);
  }
  att(indent: number, key: string, value: Field['value']) {
    this.line(indent, `${key}="${escapeXml(show(value))}"`);
  }
  atts(indent: number, fields: readonly Field[]) {
    for (const x of fields) this.att(indent, x.key, x.value);
  }
  end(indent: number, selfClose: boolean) {
    this.line(indent, selfClose ? '/>' : '>');
  }
  close(indent: number, name: string) {
    this.line(indent, `</${this.ns}${name}>`);
  }
  text() {
    return this.out.join('');
  }
}

function maps(w: XmlWriter, list: readonly MapView[] | null) {
  for (const m of list ?? []) {
    w.open(6, 'map');
    w.atts(8, m.fields);
    w.end(6, true);
  }
}

function balancer(w: XmlWriter, lb: LbView) {
  w.open(2, 'balancer');
  w.atts(4, lb.fields);
  w.end(2, false);
  for (const m of lb.members) {
    w.open(6, 'member');
    w.atts(8, m.fields);
    w.end(6, true);
  }
  maps(w, lb.maps);
  w.close(2, 'balancer');
}

function ajp(w: XmlWriter, a: AjpView) {
  w.open(2, 'ajp');
  w.atts(4, a.fields);
  w.end(2, true);
  maps(w, a.maps);
}

export function formatXml(r: StatusReport, cfg: StatusConfig): string {
  const w = new XmlWriter(optional(cfg.ns));
  w.line(0, '<?xml version="1.0" encoding="UTF-8" ?>');
  if (cfg.doctype) w.line(0, cfg.doctype);
  const xmlns = optional(cfg.xmlns);
  w.open(0, 'status');
  w.line(0, xmlns ? `  ${xmlns}>` : '>');
  if (r.server) {
    w.open(0, 'server');
    w.att(2, 'name', r.server.name);
    w.att(2, 'port', r.server.port);
    w.end(0, true);
  }
  if (r.head) {
    w.open(0, 'time');
    w.att(2, 'datetime', datetimeText(r.head.nowMs));
    w.att(2, 'tz', timezoneText(r.head.nowMs));
    w.att(2, 'unix', unixSeconds(r.head.nowMs));
    w.end(0, true);
    w.open(0, 'software');
    w.att(2, 'web_server', r.head.webServer);
    w.att(2, 'jk_version', r.head.jkVersion);
    w.end(0, true);
  }
  if (r.listing?.lbs?.length) {
    w.open(0, 'balancers');
    w.att(2, 'count', r.listing.lbs.length);
    w.end(0, false);
    for (const lb of r.listing.lbs) balancer(w, lb);
    w.close(0, 'balancers');
  }
  if (r.listing?.ajps?.length) {
    w.open(0, 'ajp_workers');
    w.att(2, 'count', r.listing.ajps.length);
    w.end(0, false);
    for (const a of r.listing.ajps) ajp(w, a);
    w.close(0, 'ajp_workers');
  }
  if (r.shown) {
    if ('lb' in r.shown) balancer(w, r.shown.lb);
    else ajp(w, r.shown.ajp);
  }
  if (r.dump) {
    w.open(2, 'configuration');
    // Attribute names must be unique: a key repeated in the properties keeps its last value.
    const unique = new Map<string, string>();
    for (const [k, v] of r.dump) unique.set(xmlName(k), v);
    for (const [k, v] of unique) w.att(4, k, v);
    w.end(2, true);
  }
  w.open(2, 'result');
  w.att(4, 'type', r.result.type);
  w.att(4, 'message', r.result.message);
  w.end(2, true);
  w.close(0, 'status');
  return w.text();
}
