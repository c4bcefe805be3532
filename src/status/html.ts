/**
 * mime=html: a plain, server-rendered jkstatus-like page ("JK Status Manager") that works without
 * JavaScript: lists, per-member links (S/E/R/T), the three edit forms and the update result page.
 * Every echoed value goes through esc(). Values that differ from the workers file are marked.
 * This is not a stable interface (as in mod_jk); scripts should use xml/txt/prop/json.
 */
import type { StatusConfig } from '../config/model.js';
import { ACT_NAMES, METHOD_NAMES, State } from '../routing/types.js';
import { LOCK_NAMES, MEMBER_ATTRIBUTES, type AttrValue, type MemberAttribute } from '../routing/attributes.js';
import type { AuditEntry } from './admin.js';
import type { Overrides } from './attributes.js';
import type { SharedStateView, StatusReport } from './report.js';
import { datetimeHtml, secondsBetween, unixSeconds } from './timefmt.js';
import type { AjpView, LbView, MapView, MemberView } from './view.js';

export interface EditTarget {
  readonly lb: LbView;
  /** Member form (`sw`), or null. */
  readonly member: MemberView | null;
  /** One attribute for all members (`att`), or null. */
  readonly att: MemberAttribute | null;
}

export interface HtmlInput {
  readonly report: StatusReport;
  readonly cfg: StatusConfig;
  /** Request path: target of every link and form. */
  readonly path: string;
  readonly params: ReadonlyMap<string, string>;
  /** Changes refused (configured read_only or opt 0x20): no E/R/T links. */
  readonly readOnly: boolean;
  readonly opt: number;
  /** cmd=edit: the form to show. */
  readonly edit: EditTarget | null;
}

export const OPT = {
  HIDE_MEMBERS: 0x1,
  HIDE_MAPS: 0x2,
  HIDE_LEGEND: 0x4,
  HIDE_LB: 0x8,
  HIDE_AJP: 0x10,
  READ_ONLY: 0x20,
  HIDE_LB_CONF: 0x40,
  HIDE_LB_SUMMARY: 0x80,
  HIDE_MEMBER_CONF: 0x100,
} as const;

/** Seconds before the result page of update/reset/recover returns to the previous view. */
const WAIT_AFTER_UPDATE = 3;

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function esc(v: unknown): string {
  return String(v).replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

type Query = Record<string, string | number | undefined>;

function href(path: string, q: Query): string {
  const parts = Object.entries(q)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`);
  return esc(parts.length ? `${path}?${parts.join('&')}` : path);
}

const link = (text: string, url: string) => `<a href="${url}">${text}</a>`;

function sizeText(bytes: number): string {
  const units = ['', 'K', 'M', 'G', 'T', 'P'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? String(bytes) : `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[u]}`;
}

const hidden = (name: string, value: string | number) => `<input type="hidden" name="${esc(name)}" value="${esc(value)}"/>`;

/** A value cell, marked when the field differs from the workers file. */
function cell(value: AttrValue, key: string, overrides: Overrides): string {
  const o = overrides[key];
  const shown = typeof value === 'boolean' ? (value ? 'True' : 'False') : value === '' ? '&nbsp;' : esc(value);
  if (!o) return `<td>${shown}</td>`;
  return `<td class="changed" title="workers file: ${esc(o.config)}">${shown}*</td>`;
}

const STYLE = `body{font-family:sans-serif;font-size:90%}
table{border-collapse:collapse;margin-bottom:.5em}
th,td{border:1px solid #bbb;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#eee}
tr.bad td{background:#fdd} tr.degraded td{background:#ffd}
td.changed{font-weight:bold;color:#800}
form.inline{display:inline}
.shared-down{color:#a00}`;

class Page {
  private readonly out: string[] = [];
  constructor(private readonly input: HtmlInput) {}

  add(...s: string[]) {
    this.out.push(...s);
  }
  text() {
    return this.out.join('');
  }

  private get opt() {
    return this.input.opt;
  }

  /** A link to this status worker keeping the display options. */
  url(q: Query): string {
    return href(this.input.path, { ...q, opt: this.opt || undefined });
  }

  head(refresh: { seconds: number; url: string } | null) {
    const { cfg, report } = this.input;
    this.add(
      '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8"/>\n<title>JK Status Manager</title>\n',
      `<style>${STYLE}</style>\n`,
    );
    if (cfg.css) this.add(`<link rel="stylesheet" type="text/css" href="${esc(cfg.css)}"/>\n`);
    if (refresh) this.add(`<meta http-equiv="Refresh" content="${refresh.seconds};url=${refresh.url}"/>\n`);
    this.add('</head>\n<body>\n');
    const server = report.server;
    this.add(`<h1>JK Status Manager${server ? ` for ${esc(server.name)}:${esc(server.port)}` : ''}`);
    this.add(this.input.readOnly ? ' (read only)</h1>\n' : '</h1>\n');
    if (report.head) {
      const h = report.head;
      this.add(
        '<table>',
        `<tr><td>Server Version:</td><td>${esc(h.webServer)}</td><td>Server Time:</td><td>${esc(datetimeHtml(h.nowMs))}</td></tr>\n`,
        `<tr><td>JK Version:</td><td>${esc(h.jkVersion)}</td><td>Unix Seconds:</td><td>${unixSeconds(h.nowMs)}</td></tr>`,
        '</table>\n',
      );
      if (report.shared) this.add(sharedHtml(report.shared));
      this.add('<hr/>\n');
    }
  }

  nav() {
    const { params, cfg, report, path } = this.input;
    const cmd = report.cmd;
    const w = params.get('w');
    const sw = params.get('sw');
    const items: string[] = [];
    if (cmd === 'list' || cmd === 'show') {
      const re = Number(params.get('re') ?? 0);
      if (re > 0) items.push(`[${link('Stop auto refresh', this.url({ cmd, w, sw }))}]`);
      else {
        items.push(
          `<form class="inline" method="get" action="${esc(path)}">${hidden('cmd', cmd)}` +
            (w ? hidden('w', w) : '') +
            (sw ? hidden('sw', sw) : '') +
            (this.opt ? hidden('opt', this.opt) : '') +
            `<label for="re">Auto refresh every</label> <input id="re" name="re" type="text" size="3" value="10"/> seconds ` +
            `<input type="submit" value="Start auto refresh"/></form>`,
        );
      }
    }
    if (cmd === 'list' || cmd === 'show' || cmd === 'version' || cmd === 'dump') {
      const formats = (['xml', 'prop', 'txt', 'json'] as const).map((m) =>
        link({ xml: 'XML', prop: 'Properties', txt: 'Text', json: 'JSON' }[m], href(path, { cmd, w, sw, opt: this.opt || undefined, mime: m })),
      );
      items.push(`Format: [${formats.join('|')}]`);
    }
    if (cmd !== 'list') items.push(`[${link('Back to worker list', this.url({ cmd: 'list' }))}]`);
    if ((cmd === 'list' || cmd === 'show') && !cfg.readOnly) {
      const ro = this.opt & OPT.READ_ONLY;
      const toggled = ro ? this.opt & ~OPT.READ_ONLY : this.opt | OPT.READ_ONLY;
      items.push(`[${link(ro ? 'Read/Write' : 'Read Only', href(path, { cmd, w, sw, opt: toggled || undefined }))}]`);
    }
    if (cmd === 'list' || cmd === 'show' || cmd === 'version') items.push(`[${link('Dump', this.url({ cmd: 'dump' }))}]`);
    if ((cmd === 'list' || cmd === 'show') && !this.input.readOnly) {
      items.push('[<b>S</b>=Show only this worker, <b>E</b>=Edit worker, <b>R</b>=Reset worker state, <b>T</b>=Try worker recovery]');
    }
    if (items.length) this.add(`<div>${items.join('&nbsp;&nbsp;')}</div>\n`);
  }

  lb(v: LbView, single: boolean) {
    const lb = v.balancer.lb;
    const name = lb.name;
    const links = [single ? 'S' : link('S', this.url({ cmd: 'show', w: name }))];
    if (!this.input.readOnly) {
      links.push(link('E', this.url({ cmd: 'edit', w: name, from: single ? 'show' : 'list' })));
      links.push(link('R', this.url({ cmd: 'reset', w: name, from: single ? 'show' : 'list' })));
    }
    this.add(`<hr/><h3>[${links.join('|')}]&nbsp;&nbsp;Worker Status for ${esc(name)}</h3>\n`);
    const o = v.overrides;
    if (!(this.opt & OPT.HIDE_LB_CONF)) {
      this.add(
        '<table><tr><th>Type</th><th>Sticky Sessions</th><th>Force Sticky Sessions</th><th>Retries</th><th>LB Method</th>',
        '<th>Locking</th><th>Recover Wait Time</th><th>Error Escalation Time</th><th>Max Reply Timeouts</th></tr>\n<tr><td>lb</td>',
        cell(lb.stickySession, 'sticky_session', o),
        cell(lb.stickySessionForce, 'sticky_session_force', o),
        cell(lb.retries, 'retries', o),
        cell(METHOD_NAMES[lb.method], 'method', o),
        cell(LOCK_NAMES[lb.lock], 'lock', o),
        cell(lb.recoverTimeSec, 'recover_time', o),
        cell(lb.errorEscalationTimeSec, 'error_escalation_time', o),
        cell(lb.maxReplyTimeouts, 'max_reply_timeouts', o),
        '</tr></table>\n',
      );
    }
    if (!(this.opt & OPT.HIDE_LB_SUMMARY)) {
      const now = this.input.report.head?.nowMs ?? Date.now();
      this.add(
        '<table><tr><th>Good</th><th>Degraded</th><th>Bad/Stopped</th><th>Busy</th><th>Max Busy</th><th>Next Maintenance</th><th>Last Reset</th></tr>\n',
        `<tr><td>${v.good}</td><td>${v.degraded}</td><td>${v.bad}</td><td>${lb.busy}</td><td>${lb.maxBusy}</td>`,
        `<td>${v.timeToMaintenance[0]}/${v.timeToMaintenance[1]}</td><td>${secondsBetween(lb.lastResetTime, now)}</td></tr></table>\n`,
      );
    }
    if (v.members.length) this.members(v, single);
    this.maps(name, v.maps);
  }

  private members(v: LbView, single: boolean) {
    const name = v.balancer.lb.name;
    const now = this.input.report.head?.nowMs ?? Date.now();
    this.add(`<h4>Balancer Members${v.selected ? ` [${link('Show All Members', this.url({ cmd: 'show', w: name }))}]` : ''}</h4>\n`);
    if (!(this.opt & OPT.HIDE_MEMBER_CONF)) {
      this.add(
        '<table><tr><th>Name</th><th>Type</th><th>Hostname</th><th>Address:Port</th><th>Source</th><th>Connection Pool Timeout</th>',
        '<th>Ping Timeout</th><th>Connect Timeout</th><th>Prepost Timeout</th><th>Reply Timeout</th><th>Retries</th><th>Retry Interval</th>',
        '<th>Recovery Options</th><th>Busy Limit</th><th>Max Packet Size</th></tr>\n',
      );
      for (const mv of v.members) {
        const m = mv.runtime;
        const o = mv.overrides;
        const field = (key: string) => mv.fields.find((x) => x.key === key)?.value ?? '';
        this.add(
          `<tr><td>${esc(m.name)}</td><td>${esc(m.config.type)}</td>`,
          cell(m.host, 'host', o),
          cell(field('address'), 'port', o),
          `<td>${esc(field('source'))}</td>`,
          cell(m.connectionPoolTimeoutSec, 'connection_pool_timeout', o),
          cell(m.pingTimeoutMs, 'ping_timeout', o),
          cell(m.connectTimeoutMs, 'connect_timeout', o),
          cell(m.prepostTimeoutMs, 'prepost_timeout', o),
          cell(m.replyTimeoutMs, 'reply_timeout', o),
          cell(m.retries, 'retries', o),
          cell(m.retryIntervalMs, 'retry_interval', o),
          cell(m.recoveryOptions, 'recovery_options', o),
          cell(m.busyLimit, 'busy_limit', o),
          cell(m.maxPacketSize, 'max_packet_size', o),
          '</tr>\n',
        );
      }
      this.add('</table>\n');
    }
    this.add(
      '<table><tr><th>&nbsp;</th><th>Name</th><th>Act</th><th>State</th><th>D</th><th>F</th><th>M</th><th>V</th><th>Acc</th>',
      '<th>Sess</th><th>Err</th><th>CE</th><th>RE</th><th>Wr</th><th>Rd</th><th>Busy</th><th>MaxBusy</th><th>Con</th><th>MaxCon</th>',
      '<th>Route</th><th>RR</th><th>Cd</th><th>Rs</th><th>LR</th><th>LE</th></tr>\n',
    );
    for (const mv of v.members) {
      const m = mv.runtime;
      const o = mv.overrides;
      const from = single ? 'show' : 'list';
      const links = [v.selected ? 'S' : link('S', this.url({ cmd: 'show', w: name, sw: m.name }))];
      if (!this.input.readOnly) {
        links.push(link('E', this.url({ cmd: 'edit', w: name, sw: m.name, from })));
        links.push(link('R', this.url({ cmd: 'reset', w: name, sw: m.name, from })));
        if (m.state === State.ERROR) links.push(link('T', this.url({ cmd: 'recover', w: name, sw: m.name, from })));
      }
      const age = secondsBetween(m.lastResetTime, now);
      const perSec = (n: number) => (age > 0 ? Math.floor(n / age) : -1);
      const sizePerSec = (n: number) => (age > 0 ? sizeText(Math.floor(n / age)) : '-');
      const state = mv.fields.find((x) => x.key === 'state')?.value ?? '';
      const lastError = m.firstErrorTime > 0 ? esc(datetimeHtml(m.firstErrorTime)) : '&nbsp;';
      this.add(
        `<tr class="${mv.rating}"><td>[${links.join('|')}]</td><td>${esc(m.name)}</td>`,
        cell(ACT_NAMES[m.activation], 'activation', o),
        `<td>${esc(state)}</td>`,
        cell(m.distance, 'distance', o),
        cell(m.lbfactor, 'lbfactor', o),
        `<td>${m.lbMult}</td><td>${m.lbValue}</td>`,
        `<td>${m.elected} (${perSec(m.elected)}/sec)</td><td>${m.sessions} (${perSec(m.sessions)}/sec)</td>`,
        `<td>${m.errors}</td><td>${m.clientErrors}</td><td>${m.replyTimeouts}</td>`,
        `<td>${sizeText(m.transferred)} (${sizePerSec(m.transferred)}/sec)</td><td>${sizeText(m.read)} (${sizePerSec(m.read)}/sec)</td>`,
        `<td>${m.busy}</td><td>${m.maxBusy}</td><td>${m.connected}</td><td>${m.maxConnected}</td>`,
        cell(m.route, 'route', o),
        cell(m.redirect, 'redirect', o),
        cell(m.domain, 'domain', o),
        `<td>${mv.timeToRecover[0]}/${mv.timeToRecover[1]}</td><td>${age}</td><td>${lastError}</td></tr>\n`,
      );
    }
    this.add('</table>\n');
    this.health(v);
    if (v.members.some((mv) => Object.keys(mv.overrides).length) || Object.keys(v.overrides).length) {
      this.add('<p>Values marked * were changed at runtime and differ from the workers file (hover for the file value).</p>\n');
    }
    if (!this.input.readOnly) {
      const options = MEMBER_ATTRIBUTES.filter((a) => a.allMembers)
        .map((a) => `<option value="${a.code}">${esc(LABELS[a.key])}</option>`)
        .join('');
      this.add(
        `<form method="get" action="${esc(this.input.path)}">${hidden('cmd', 'edit')}${hidden('w', name)}${hidden('from', single ? 'show' : 'list')}`,
        `<label for="att-${esc(name)}"><b>E</b>dit this attribute for all members:</label> `,
        `<select id="att-${esc(name)}" name="att">${options}</select> <input type="submit" value="Go"/></form>\n`,
      );
    }
  }

  /** Active health checks of the members that have them (README "Health checks"). */
  private health(v: LbView) {
    const checked = v.members.filter((mv) => mv.health !== null);
    if (checked.length === 0) return;
    this.add(
      '<table><tr><th>Name</th><th>Health Check</th><th>Verdict</th><th>Last Result</th><th>Last Check</th><th>Latency (ms)</th>',
      '<th>Reason</th><th>Passes in a Row</th><th>Fails in a Row</th><th>Passes</th><th>Fails</th></tr>\n',
    );
    for (const mv of checked) {
      const h = mv.health!;
      const shown = (x: string | number | null, unit = '') => (x === null || x === '' ? '&nbsp;' : `${esc(x)}${unit}`);
      this.add(
        `<tr><td>${esc(mv.runtime.name)}</td><td>${esc(h.method)}${h.uri === null ? '' : ` ${esc(h.uri)}`}</td>`,
        `<td>${h.up ? 'Up' : 'Down'}</td><td>${h.last_result === null ? 'not yet' : h.last_result === 'ok' ? 'OK' : 'Failed'}</td>`,
        `<td>${shown(h.last_check_ago, ' s ago')}</td><td>${shown(h.latency_ms)}</td><td>${shown(h.reason)}</td>`,
        `<td>${h.consecutive_passes}</td><td>${h.consecutive_fails}</td><td>${h.passes_total}</td><td>${h.fails_total}</td></tr>\n`,
      );
    }
    this.add('</table>\n');
  }

  maps(worker: string, maps: readonly MapView[] | null) {
    if (maps === null) return;
    if (!maps.length) {
      this.add(`<p>Warning: No URI Mappings defined for ${esc(worker)}!</p>\n`);
      return;
    }
    this.add(
      `<h4>URI Mappings for ${esc(worker)} (${maps.length} maps)</h4>\n<table><tr><th>Server</th><th>URI</th><th>Match Type</th><th>Source</th>`,
      '<th>Reply Timeout</th><th>Sticky Ignore</th><th>Stateless</th><th>Fail on Status</th><th>Active</th><th>Disabled</th>',
      '<th>Stopped</th><th>Use Server Errors</th></tr>\n',
    );
    for (const m of maps) {
      const cells = m.fields.slice(1).map((x) => `<td>${x.value === '' ? '-' : esc(x.value)}</td>`);
      this.add(`<tr>${cells.join('')}</tr>\n`);
    }
    this.add('</table>\n');
  }

  ajp(a: AjpView, single: boolean) {
    const c = a.config;
    const get = (k: string) => a.fields.find((x) => x.key === k)?.value ?? '';
    this.add(
      `<hr/><h3>[${single ? 'S' : link('S', this.url({ cmd: 'show', w: c.name }))}]&nbsp;&nbsp;Worker Status for ${esc(c.name)}</h3>\n`,
      '<table><tr><th>Type</th><th>Hostname</th><th>Address:Port</th><th>Source</th><th>Connection Pool Timeout</th>',
      '<th>Connect Timeout</th><th>Prepost Timeout</th><th>Reply Timeout</th><th>Retries</th><th>Recovery Options</th>',
      '<th>Busy Limit</th><th>Max Packet Size</th></tr>\n<tr>',
      ['type', 'host', 'address', 'source', 'connection_pool_timeout', 'connect_timeout', 'prepost_timeout', 'reply_timeout', 'retries',
        'recovery_options', 'busy_limit', 'max_packet_size'].map((k) => `<td>${esc(get(k))}</td>`).join(''),
      '</tr></table>\n<p>jkbalancer keeps no request counters for standalone workers.</p>\n',
    );
    this.maps(c.name, a.maps);
  }

  legend() {
    this.add(
      '<hr/><h3>Legend</h3>\n<table>',
      ...[
        ['Name', 'Worker name'], ['Type', 'Worker type'], ['Route', 'Worker route'], ['Act', 'Worker activation configuration: ACT=Active, DIS=Disabled, STP=Stopped'],
        ['State', 'Worker error status: OK, OK/IDLE, OK/BUSY, ERR, ERR/REC, ERR/FRC, ERR/PRB'], ['D', 'Worker distance'],
        ['F', 'Load Balancer factor'], ['M', 'Load Balancer multiplicity'], ['V', 'Load Balancer value'],
        ['Acc', 'Number of requests'], ['Sess', 'Number of sessions created'], ['Err', 'Number of failed requests'],
        ['CE', 'Number of client errors'], ['RE', 'Number of reply timeouts (decayed)'], ['Wr', 'Number of bytes transferred'],
        ['Rd', 'Number of bytes read'], ['Busy', 'Current number of busy connections'], ['MaxBusy', 'Maximum number of busy connections'],
        ['Con', 'Current number of backend connections'], ['MaxCon', 'Maximum number of backend connections'],
        ['RR', 'Route redirect'], ['Cd', 'Cluster domain'], ['Rs', 'Recovery scheduled in app. min/max seconds'],
        ['LR', 'Seconds since last reset of statistics counters'], ['LE', 'Timestamp of the last error'],
        ['*', 'Changed at runtime: differs from the workers file'],
      ].map(([k, d]) => `<tr><th>${esc(k)}</th><td>${esc(d)}</td></tr>\n`),
      '</table>\n',
    );
  }

  editForm(e: EditTarget) {
    const name = e.lb.balancer.lb.name;
    const from = this.input.params.get('from');
    const start = (extra: string) =>
      `<form method="get" action="${esc(this.input.path)}">${hidden('cmd', 'update')}${hidden('w', name)}${from ? hidden('from', from) : ''}${extra}\n<table>\n`;
    const end = (label: string) => `</table>\n<input type="submit" value="${esc(label)}"/></form>\n`;
    if (e.att) {
      const attr = e.att;
      this.add(`<hr/><h3>Edit attribute [${esc(LABELS[attr.key])}] for all members of load balancer ${esc(name)}</h3>\n`);
      this.add(start(hidden('att', attr.code)), `<tr><th>Member</th><th>${esc(LABELS[attr.key])}</th></tr>\n`);
      for (const mv of e.lb.balancer.members) {
        const id = `val${mv.index}`;
        this.add(`<tr><td><label for="${id}">${esc(mv.name)}</label></td><td>${input(attr, id, id, attr.current(mv))}</td></tr>\n`);
      }
      this.add(end('Update Members'));
    } else if (e.member) {
      const m = e.member.runtime;
      this.add(`<hr/><h3>Edit member ${esc(m.name)} of load balancer ${esc(name)}</h3>\n`);
      this.add(start(hidden('sw', m.name)));
      for (const attr of MEMBER_ATTRIBUTES) {
        this.add(`<tr><td><label for="${attr.code}">${esc(LABELS[attr.key])}</label></td><td>${input(attr, attr.code, attr.code, attr.current(m))}</td></tr>\n`);
      }
      this.add(end('Update Member'));
    } else {
      const lb = e.lb.balancer.lb;
      this.add(`<hr/><h3>Edit load balancer settings for ${esc(name)}</h3>\n`, start(''));
      const rows: [string, string, string][] = [
        ['vlr', 'Retries', `<input id="vlr" name="vlr" type="text" value="${lb.retries}"/>`],
        ['vlri', 'Retry Interval (ms)', `<input id="vlri" name="vlri" type="text" value="${lb.retryIntervalMs}"/>`],
        ['vlt', 'Recover Wait Time (s)', `<input id="vlt" name="vlt" type="text" value="${lb.recoverTimeSec}"/>`],
        ['vlee', 'Error Escalation Time (s)', `<input id="vlee" name="vlee" type="text" value="${lb.errorEscalationTimeSec}"/>`],
        ['vlx', 'Max Reply Timeouts', `<input id="vlx" name="vlx" type="text" value="${lb.maxReplyTimeouts}"/>`],
        // Selects rather than mod_jk's checkboxes: an unchecked box sends nothing, so mod_jk's form cannot switch stickiness off.
        ['vls', 'Sticky Sessions', select('vls', [['1', 'True'], ['0', 'False']], lb.stickySession ? '1' : '0')],
        ['vlf', 'Force Sticky Sessions', select('vlf', [['1', 'True'], ['0', 'False']], lb.stickySessionForce ? '1' : '0')],
        ['vlm', 'LB Method', select('vlm', METHOD_NAMES.map((n) => [n, n]), METHOD_NAMES[lb.method])],
        ['vll', 'Locking', select('vll', LOCK_NAMES.map((n) => [n, n]), LOCK_NAMES[lb.lock])],
      ];
      for (const [id, label, control] of rows) this.add(`<tr><td><label for="${id}">${esc(label)}</label></td><td>${control}</td></tr>\n`);
      this.add(end('Update Balancer'));
    }
  }
}

const LABELS: Record<string, string> = {
  activation: 'Activation', lbfactor: 'LB Factor', route: 'Route', redirect: 'Redirect Route', domain: 'Cluster Domain',
  distance: 'Distance', host: 'Hostname', port: 'Port', connection_pool_timeout: 'Connection Pool Timeout (s)',
  ping_timeout: 'Ping Timeout (ms)', connect_timeout: 'Connect Timeout (ms)', prepost_timeout: 'Prepost Timeout (ms)',
  reply_timeout: 'Reply Timeout (ms)', retries: 'Retries', retry_interval: 'Retry Interval (ms)',
  connection_ping_interval: 'Connection Ping Interval (s)', recovery_options: 'Recovery Options', busy_limit: 'Busy Limit',
  max_packet_size: 'Max Packet Size', drain_idle_time: 'Drain Idle Time (s)', drain_deadline: 'Drain Deadline (s)',
};

function select(name: string, options: readonly (readonly [string, string])[], current: string, id = name): string {
  const opts = options.map(([v, t]) => `<option value="${esc(v)}"${v === current ? ' selected="selected"' : ''}>${esc(t)}</option>`);
  return `<select id="${esc(id)}" name="${esc(name)}">${opts.join('')}</select>`;
}

function input(attr: MemberAttribute, name: string, id: string, current: AttrValue): string {
  if (attr.kind === 'activation') {
    return select(name, [['ACT', 'Active'], ['DIS', 'Disabled'], ['STP', 'Stopped']], String(current), id);
  }
  return `<input id="${esc(id)}" name="${esc(name)}" type="text" value="${esc(current)}"/>`;
}

/** The shared state link (--state-redis): up, or down since when and why (changes are refused then). */
function sharedHtml(v: SharedStateView): string {
  const versions = Object.entries(v.versions).map(([lb, n]) => `${esc(lb)} ${n}`).join(', ');
  const state = v.link === 'up'
    ? `<b>connected</b> since ${esc(datetimeHtml(v.since))}`
    : `<b class="shared-down">DOWN</b> since ${esc(datetimeHtml(v.since))}${v.error ? ` (${esc(v.error)})` : ''}: serving the last known state, changes refused`;
  return `<p id="shared-state">Shared state: ${esc(v.store)} ${state}; this instance ${esc(v.instance)}; versions: ${versions || 'none'}</p>\n`;
}

/** How many audit entries the page lists (newest first); mime=json has all of them. */
export const AUDIT_SHOWN = 20;

const auditValue = (v: AttrValue | null) => (v === null ? '' : esc(v));

/** "Recent changes": the newest AUDIT_SHOWN audit entries, newest first. */
function auditHtml(audit: readonly AuditEntry[]): string {
  if (audit.length === 0) return '<hr/><h2 id="recent-changes">Recent changes</h2>\n<p>No changes recorded.</p>\n';
  const items = audit
    .slice(-AUDIT_SHOWN)
    .reverse()
    .map((e) => {
      const who = [e.user === null ? null : `user ${esc(e.user)}`, e.remote === null ? null : `from ${esc(e.remote)}`, e.instance === undefined ? null : `on ${esc(e.instance)}`]
        .filter((x) => x !== null)
        .join(' ');
      const what = `${esc(e.lb)}${e.member === null ? '' : `/${esc(e.member)}`} ${esc(e.field)}`;
      const change = e.old === null && e.new === null ? '' : `: ${auditValue(e.old)} &rarr; ${auditValue(e.new)}`;
      return `<li>${esc(datetimeHtml(e.time))} [${esc(e.source)}${who ? ` ${who}` : ''}] ${what}${change}</li>\n`;
    });
  return `<hr/><h2 id="recent-changes">Recent changes</h2>\n<ul aria-labelledby="recent-changes">\n${items.join('')}</ul>\n`;
}

/** Render the whole HTML page for one status request. */
export function renderHtml(input: HtmlInput): string {
  const { report, params } = input;
  const page = new Page(input);
  const changed = report.result.type === 'OK' && (report.cmd === 'update' || report.cmd === 'reset' || report.cmd === 'recover');
  let refresh: { seconds: number; url: string } | null = null;
  if (changed) {
    const back = params.get('from') === 'show' ? { cmd: 'show', w: params.get('w'), sw: params.get('psw') } : { cmd: 'list' };
    refresh = { seconds: WAIT_AFTER_UPDATE, url: page.url(back) };
  } else if ((report.cmd === 'list' || report.cmd === 'show') && report.result.type === 'OK') {
    const re = Number(params.get('re') ?? 0);
    if (Number.isInteger(re) && re > 0) {
      refresh = { seconds: re, url: page.url({ cmd: report.cmd, w: params.get('w'), sw: params.get('sw'), re }) };
    }
  }
  page.head(refresh);
  if (report.result.type === 'OK') page.nav();
  if (report.listing) {
    const { lbs, ajps } = report.listing;
    if (lbs?.length) {
      page.add(`<h2>Listing Load Balancing Worker${lbs.length > 1 ? 's' : ''} (${lbs.length} Worker${lbs.length > 1 ? 's' : ''})</h2>\n`);
      for (const v of lbs) page.lb(v, false);
    }
    if (ajps?.length) {
      page.add(`<hr/><h2>Listing AJP Worker${ajps.length > 1 ? 's' : ''} (${ajps.length} Worker${ajps.length > 1 ? 's' : ''})</h2>\n`);
      for (const a of ajps) page.ajp(a, false);
    }
  }
  if (report.listing && report.audit) page.add(auditHtml(report.audit));
  if (report.shown) {
    if ('lb' in report.shown) page.lb(report.shown.lb, true);
    else page.ajp(report.shown.ajp, true);
  }
  if (input.edit && report.result.type === 'OK') page.editForm(input.edit);
  if (report.dump) {
    page.add(
      '<hr/><h2>Configuration Data</h2>\n<p>This dump does not include changes applied by the status worker after startup.</p>\n<pre>\n',
      report.dump.map(([k, v]) => `${esc(k)}=${esc(v)}\n`).join(''),
      '</pre>\n',
    );
  }
  if ((report.cmd === 'list' || report.cmd === 'show') && report.result.type === 'OK' && !(input.opt & OPT.HIDE_LEGEND)) page.legend();
  if (report.result.type === 'ERROR') page.add(`<p><b>Result: ERROR - ${esc(report.result.message)}</b><br/>`);
  else if (changed) page.add(`<p><b>Result: OK - You will be redirected in ${WAIT_AFTER_UPDATE} seconds.</b><br/>`);
  else page.add('<p>');
  page.add(`<a href="${esc(input.path)}">JK Status Manager Start Page</a></p>\n</body>\n</html>\n`);
  return page.text();
}
