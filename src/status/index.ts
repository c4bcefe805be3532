/**
 * The status worker (jkstatus, docs/status-worker.md): one request handler for the URL API, its output formats
 * (html, xml, txt, prop, json), live changes with persistence, and access control.
 * The data path calls `handle` for requests whose mount rule points at a status worker.
 */
import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MountMap, StandaloneConfig, StatusConfig, WorkersConfig } from '../config/model.js';
import type { Balancer } from '../routing/balancer.js';
import type { MemberRuntime } from '../routing/member.js';
import { basicCredentials, isCrossSite, isLoopback, userAllowed } from './access.js';
import { MEMBER_BY_CODE } from '../routing/attributes.js';
import { AuthFailureLimit } from './auth-limit.js';
import type { Credentials } from './credentials.js';
import { formatJson } from './format-json.js';
import { formatProp, formatTxt } from './format-text.js';
import { formatXml } from './format-xml.js';
import { OPT, renderHtml, type EditTarget } from './html.js';
import { linkPath } from './link-path.js';
import { isOwnHost } from './own-host.js';
import { leadingInt, parseQuery } from './params.js';
import type { AdminState } from './admin.js';
import { CHANGE_COMMANDS, COMMANDS, MIMES, OK_RESULT, STATE_COMMANDS, okResult, type Command, type Mime, type Result, type SharedStateView, type StatusReport } from './report.js';
import { hasWildcard, planUpdate, unresolvableMessage, wildcardMatcher } from './update.js';
import { ajpView, lbView, type ViewOptions } from './view.js';

export { loadCredentials, hashPassword, type Credentials } from './credentials.js';
export { StateStore, applyState } from './persist.js';
export { AdminState, liveSettings, type Actor } from './admin.js';

export interface StatusLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Supplied by the data path; read once per request (a reload may swap the configuration). */
export interface StatusContext {
  readonly workers: WorkersConfig;
  readonly mounts: MountMap;
  readonly balancers: ReadonlyMap<string, Balancer>;
  readonly serverName: string;
  readonly serverPort: number;
  /**
   * The names this balancer is addressed by besides loopback names: the listen address and every
   * `--server-name`. A state change must carry one of them (or a loopback name) as its Host.
   */
  readonly ownNames: readonly string[];
  /** ms since the epoch. */
  readonly startTime: number;
  /** The one way to change runtime state (applies, logs, persists, replicates). */
  readonly admin: AdminState;
  readonly logger: StatusLogger;
  /** From --credentials; null = none (changes then only from loopback clients). */
  readonly credentials: Credentials | null;
  /** Extra JSON fields per member (e.g. drain progress), merged into each member of mime=json. */
  readonly getMemberExtras?: (lb: Balancer, member: MemberRuntime) => object;
  /**
   * cmd=history: the samples of the lbs (lb null: all), of one member (member not null), after
   * sinceMs; absent when nothing keeps a history.
   */
  readonly getHistory?: (lb: string | null, member: string | null, sinceMs: number) => object;
  /** Client address when the socket's is not the client's (defaults to req.socket.remoteAddress). */
  readonly remoteAddress?: (req: IncomingMessage) => string | undefined;
  /** Host check for vahst/vaprt (defaults to a DNS lookup). */
  readonly resolveHost?: (host: string) => Promise<boolean>;
  /** The shared state link (--state-redis), shown by list and show; absent: no shared state. */
  readonly sharedState?: () => SharedStateView;
}

export interface StatusWorker {
  handle(req: IncomingMessage, res: ServerResponse): void;
}

const MSG = {
  denied: 'Access denied.',
  readOnly: 'This command is not allowed in read only mode.',
  command: 'Invalid command.',
  mime: 'Invalid mime type.',
  parse: 'Error during parsing of URI',
  noWorker: 'NULL or EMPTY worker param',
  emptySub: 'EMPTY sub worker param',
  unknownWorker: 'Could not find given worker',
  unknownSub: 'could not find sub worker',
  noSubs: 'worker type has no sub workers',
  notImplemented: 'worker type not implemented',
  wildcard: 'wildcard not allowed in sub worker for this command',
  recover: 'Marking worker for recovery failed',
  editForm: "Error in generating this worker's configuration form.",
  tooManyFailures: 'Too many failed authentication attempts from this address; try again later.',
  historyMime: 'cmd=history is answered in mime=json only',
  historySince: 'since must be a time in ms since the epoch (digits only)',
  noHistory: 'this status worker keeps no history',
} as const;

/**
 * Failed logins per credentials file: a reload builds new status workers but keeps the
 * credentials, so the counts (and a lockout) outlive it.
 */
const authLimits = new WeakMap<Credentials, AuthFailureLimit>();

function authLimitOf(credentials: Credentials): AuthFailureLimit {
  let limit = authLimits.get(credentials);
  if (!limit) authLimits.set(credentials, (limit = new AuthFailureLimit()));
  return limit;
}

const CONTENT_TYPES: Record<Mime, string> = {
  html: 'text/html; charset=utf-8',
  xml: 'text/xml; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  prop: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

function findVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'jkbalancer' && pkg.version) return pkg.version;
    } catch {
      /* not here: look one directory up */
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
const VERSION = findVersion();

async function dnsResolves(host: string): Promise<boolean> {
  if (host === '') return false;
  try {
    await lookup(host);
    return true;
  } catch {
    return false;
  }
}

/**
 * The worker a command addresses (`w`, `sw`), after mod_jk's checks (messages:
 * docs/status-worker.md#results-and-messages).
 */
type Target =
  | { kind: 'lb'; balancer: Balancer; sw: string | undefined; members: MemberRuntime[] }
  | { kind: 'ajp'; config: StandaloneConfig }
  | { kind: 'status' };

function findTarget(ctx: StatusContext, params: ReadonlyMap<string, string>, cmd: Command): Target | { error: string } {
  const w = params.get('w');
  const sw = params.get('sw');
  if (!w) return { error: MSG.noWorker };
  if (sw === '') return { error: MSG.emptySub };
  const wc = ctx.workers.list.includes(w) ? ctx.workers.workers.get(w) : undefined;
  const balancer = wc?.type === 'lb' ? ctx.balancers.get(w) : undefined;
  if (!wc || (wc.type === 'lb' && !balancer)) return { error: MSG.unknownWorker };
  if (sw !== undefined) {
    if (hasWildcard(sw) && cmd !== 'update') return { error: MSG.wildcard };
    if (!balancer) return { error: MSG.noSubs };
    const match = hasWildcard(sw) ? wildcardMatcher(sw) : (n: string) => n === sw;
    const members = balancer.members.filter((m) => match(m.name));
    if (members.length === 0) return { error: MSG.unknownSub };
    return { kind: 'lb', balancer, sw, members };
  }
  if (balancer) return { kind: 'lb', balancer, sw, members: [] };
  if (wc.type === 'status') return { kind: 'status' };
  return { kind: 'ajp', config: wc as StandaloneConfig };
}

interface Who {
  readonly user: string | null;
  readonly remote: string | undefined;
}

export function createStatusWorker(cfg: StatusConfig, getContext: () => StatusContext): StatusWorker {
  return {
    handle(req, res) {
      const ctx = getContext();
      serve(cfg, ctx, req, res).catch((err: unknown) => {
        ctx.logger.warn({ err: (err as Error)?.message ?? String(err), url: req.url }, 'status worker failed');
        if (!res.headersSent) {
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' });
        }
        res.end();
      });
    },
  };
}

async function serve(cfg: StatusConfig, ctx: StatusContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const path = linkPath(q < 0 ? url : url.slice(0, q));
  if (path === null) {
    // The one case mod_jk answers with an HTTP error (docs/status-worker.md#requests).
    res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache' });
    res.end('Error during parsing of URI\n');
    return;
  }
  const parsed = parseQuery(q < 0 ? '' : url.slice(q + 1));
  const params = parsed.params;
  const cmdRaw = params.get('cmd') ?? 'list';
  const cmd = (COMMANDS as readonly string[]).includes(cmdRaw) ? (cmdRaw as Command) : null;
  const mimeRaw = params.get('mime') ?? 'html';
  const mime = (MIMES as readonly string[]).includes(mimeRaw) ? (mimeRaw as Mime) : null;
  const opt = leadingInt(params.get('opt'));
  const readOnly = cfg.readOnly || (opt & OPT.READ_ONLY) !== 0;
  const isChange = cmd !== null && CHANGE_COMMANDS.has(cmd);
  const remote = ctx.remoteAddress ? ctx.remoteAddress(req) : req.socket.remoteAddress;

  const out: Output = { res, req, mime, cfg, params, opt, readOnly, path };
  const answer = (status: number, message: string, headers: Record<string, string> = {}): Promise<void> =>
    send(out, status, { cmd, result: { type: 'ERROR', message } }, null, headers);

  // Authenticate only when something needs a user: mod_jk's user list, or a change with a credentials file.
  const needUser = cfg.users.length > 0;
  let user: string | null = null;
  let challenge = false;
  if (ctx.credentials && (needUser || (isChange && !readOnly))) {
    const presented = basicCredentials(req);
    if (presented) {
      const limit = authLimitOf(ctx.credentials);
      const client = remote ?? 'unknown';
      const wait = limit.charge(client);
      if (wait > 0) {
        ctx.logger.warn({ remote, user: presented.user }, 'status authentication refused: too many failures from this address');
        return answer(429, MSG.tooManyFailures, { 'Retry-After': String(wait) });
      }
      if (await ctx.credentials.verify(presented.user, presented.password)) {
        limit.succeeded(client);
        user = presented.user;
      }
    }
    challenge = user === null;
  }
  const who: Who = { user, remote };

  /** mod_jk's `Access denied.`; the log says why. */
  const deny = (reason: string, status = 200): Promise<void> => {
    ctx.logger.warn({ user, remote, cmd: cmdRaw, reason }, 'status access denied');
    return answer(status, MSG.denied);
  };
  const refuse = (message: string): Promise<void> => answer(200, message);

  // Order of checks (docs/status-worker.md#results-and-messages): access → parsing → read-only →
  // change gating → command → mime → worker.
  if (needUser) {
    if (!ctx.credentials) {
      ctx.logger.warn({}, `status worker '${cfg.name}' has a user list but no credentials file is configured`);
      return deny('user list without a credentials file');
    }
    if (challenge) return deny('no valid credentials', 401);
    if (!userAllowed(user as string, cfg.users, cfg.userCaseInsensitive)) return deny('user not in the user list');
  }
  if (parsed.error) {
    ctx.logger.warn({ remote, problem: parsed.error }, 'status request refused');
    return refuse(MSG.parse);
  }
  if (readOnly && isChange) return refuse(MSG.readOnly);
  if (isChange) {
    if (ctx.credentials) {
      if (challenge) return deny('no valid credentials', 401);
    } else if (!isLoopback(remote)) {
      return deny('changes without credentials come from loopback clients only');
    }
  }
  if (cmd !== null && STATE_COMMANDS.has(cmd)) {
    if (!isOwnHost(req.headers.host, ctx.ownNames)) {
      return deny(`Host '${req.headers.host}' is not a name of this balancer (loopback names, the listen address, --server-name)`);
    }
    if (isCrossSite(req)) return deny('cross-site request (Sec-Fetch-Site, Origin or Referer)');
  }
  if (cmd === null) return refuse(MSG.command);
  if (mime === null) return refuse(MSG.mime);

  const send200 = (report: Partial<StatusReport>, edit: EditTarget | null = null) => send(out, 200, { cmd, ...report }, edit);
  const fail = (message: string) => send200({ result: { type: 'ERROR', message } });

  const nowMs = Date.now();
  const server = { name: ctx.serverName, port: ctx.serverPort };
  const head = { nowMs, webServer: `jkbalancer/${VERSION} (Node.js ${process.version})`, jkVersion: `jkbalancer/${VERSION}` };
  const viewOpts: ViewOptions = {
    nowMs,
    goodMask: cfg.goodMask,
    badMask: cfg.badMask,
    mounts: ctx.mounts,
    hideMembers: (opt & OPT.HIDE_MEMBERS) !== 0,
    hideMaps: (opt & OPT.HIDE_MAPS) !== 0,
    startTime: ctx.startTime,
    getMemberExtras: ctx.getMemberExtras,
  };

  if (cmd === 'list') {
    const lbs: Balancer[] = [];
    const ajps: StandaloneConfig[] = [];
    for (const name of ctx.workers.list) {
      const wc = ctx.workers.workers.get(name);
      const b = ctx.balancers.get(name);
      if (wc?.type === 'lb' && b) lbs.push(b);
      else if (wc && wc.type !== 'lb' && wc.type !== 'status') ajps.push(wc);
    }
    return send200({
      server,
      head,
      listing: {
        lbs: opt & OPT.HIDE_LB ? null : lbs.map((b) => lbView(b, null, viewOpts)),
        ajps: opt & OPT.HIDE_AJP ? null : ajps.map((c) => ajpView(c, viewOpts)),
      },
      audit: ctx.admin.audit,
      shared: ctx.sharedState?.() ?? null,
    });
  }
  if (cmd === 'version') return send200({ server, head });
  if (cmd === 'dump') {
    const dump = ctx.workers.properties.filter(([k]) => !k.endsWith('.secret'));
    return send200({ server, head, dump });
  }

  if (cmd === 'history') {
    if (mime !== 'json') return fail(MSG.historyMime);
    if (!ctx.getHistory) return fail(MSG.noHistory);
    const since = params.get('since') ?? '0';
    if (!/^\d{1,16}$/.test(since)) return fail(MSG.historySince);
    let lb: string | null = null;
    let member: string | null = null;
    if (params.has('w') || params.has('sw')) {
      const target = findTarget(ctx, params, cmd);
      if ('error' in target) return fail(target.error);
      if (target.kind !== 'lb') return fail(MSG.notImplemented);
      lb = target.balancer.lb.name;
      member = target.sw === undefined ? null : target.members[0].name;
    }
    return send200({ history: ctx.getHistory(lb, member, Number(since)) });
  }

  const target = findTarget(ctx, params, cmd);
  if ('error' in target) return fail(target.error);

  switch (cmd) {
    case 'show': {
      if (target.kind === 'lb') {
        const selected = target.sw === undefined ? null : target.members[0].index;
        return send200({ server, head, shown: { lb: lbView(target.balancer, selected, viewOpts) }, shared: ctx.sharedState?.() ?? null });
      }
      if (target.kind === 'ajp') return send200({ server, head, shown: { ajp: ajpView(target.config, viewOpts) } });
      return send200({ server, head });
    }
    case 'edit': {
      if (mime !== 'html') return send200({ server });
      if (target.kind !== 'lb') return fail(MSG.editForm);
      const att = params.get('att');
      const attr = att === undefined ? null : MEMBER_BY_CODE.get(att);
      if (attr === undefined || (attr && !attr.allMembers)) return fail(MSG.editForm);
      const member = target.sw === undefined ? null : target.members[0].index;
      const view = lbView(target.balancer, member, { ...viewOpts, hideMembers: false });
      return send200({ server }, { lb: view, member: view.selected, att: target.sw === undefined ? attr : null });
    }
    case 'update':
      return send200({ result: await update(ctx, params, parsed.masked, target, who) });
    case 'reset': {
      if (target.kind !== 'lb') return fail(MSG.notImplemented);
      const lb = target.balancer.lb.name;
      const member = target.sw === undefined ? null : target.members[0].name;
      const done = await ctx.admin.commit([{ kind: 'reset', lb, member }], { source: 'status', ...who });
      ctx.logger.info({ ...who, lb, member, action: 'reset' }, 'status reset');
      return send200({ result: done.warning === null ? OK_RESULT : { type: 'ERROR', message: done.warning } });
    }
    case 'recover': {
      if (target.kind !== 'lb' || target.sw === undefined) return fail(MSG.recover);
      const lb = target.balancer.lb.name;
      const member = target.members[0].name;
      const done = await ctx.admin.commit([{ kind: 'recover', lb, member }], { source: 'status', ...who });
      if (!done.complete) return fail(MSG.recover);
      ctx.logger.info({ ...who, lb, member, action: 'recover' }, 'status recover');
      return send200({ result: done.warning === null ? OK_RESULT : { type: 'ERROR', message: done.warning } });
    }
  }
}

async function update(
  ctx: StatusContext,
  params: ReadonlyMap<string, string>,
  masked: ReadonlySet<string>,
  target: Target,
  who: Who,
): Promise<Result> {
  if (target.kind !== 'lb') return { type: 'ERROR', message: MSG.notImplemented };
  const b = target.balancer;
  const first = planUpdate(params, masked, target);
  if (!first.ok) return { type: 'ERROR', message: first.message };
  const resolve = ctx.resolveHost ?? dnsResolves;
  for (const h of first.hosts) {
    if (!(await resolve(h.host))) return { type: 'ERROR', message: unresolvableMessage(h.host, h.port, h.member.name) };
  }
  // Plan again after the lookups: another request may have changed the balancer meanwhile.
  const plan = first.hosts.length ? planUpdate(params, masked, target) : first;
  if (!plan.ok) return { type: 'ERROR', message: plan.message };
  const ops = plan.assignments.map((a) =>
    a.scope === 'lb'
      ? ({ kind: 'set', lb: b.lb.name, member: null, key: a.attr.key, value: a.value } as const)
      : ({ kind: 'set', lb: b.lb.name, member: a.member.name, key: a.attr.key, value: a.value } as const),
  );
  const done = await ctx.admin.commit(ops, { source: 'status', ...who });
  if (done.warning !== null) return { type: 'ERROR', message: done.warning };
  return okResult(done.version);
}

/** Where and how one request's answer is written. */
interface Output {
  readonly res: ServerResponse;
  readonly req: IncomingMessage;
  readonly mime: Mime | null;
  readonly cfg: StatusConfig;
  readonly params: ReadonlyMap<string, string>;
  readonly opt: number;
  readonly readOnly: boolean;
  /** The HTML page's links and forms point here (link-path.ts). */
  readonly path: string;
}

async function send(
  out: Output,
  status: number,
  partial: Partial<StatusReport> & { cmd: Command | null },
  edit: EditTarget | null,
  extraHeaders: Record<string, string> = {},
): Promise<void> {
  const { res, req, mime, cfg, params, opt, readOnly, path } = out;
  const report: StatusReport = {
    server: null,
    head: null,
    listing: null,
    shown: null,
    dump: null,
    result: OK_RESULT,
    ...partial,
  };
  let body: string;
  // An unknown mime is answered in properties syntax, as mod_jk does (docs/status-worker.md#parameters).
  const format = mime ?? 'prop';
  switch (format) {
    case 'xml': body = formatXml(report, cfg); break;
    case 'txt': body = formatTxt(report); break;
    case 'prop': body = formatProp(report, cfg.prefix); break;
    case 'json': body = formatJson(report); break;
    case 'html': body = renderHtml({ report, cfg, path, params, readOnly, opt, edit }); break;
  }
  const headers: Record<string, string> = {
    ...extraHeaders,
    'Content-Type': CONTENT_TYPES[format],
    'Cache-Control': 'no-cache',
    Pragma: 'no-cache',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': String(Buffer.byteLength(body)),
  };
  if (format === 'html') {
    headers['X-Frame-Options'] = 'DENY';
    headers['Content-Security-Policy'] = "default-src 'none'; style-src * 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
  }
  if (status === 401) headers['WWW-Authenticate'] = 'Basic realm="jkstatus"';
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}
