/**
 * workers.properties → WorkersConfig (docs/directives.md): line reading, validation of directive names,
 * references, and creation of the workers of worker.list with their members.
 */
import { DEPRECATED, DIRECTIVES_BY_TYPE, IGNORED, directiveOf, isSupportedKey, workerNameOf } from './directives.js';
import { Issues } from './issues.js';
import { buildMember } from './members.js';
import type {
  ConfigIssue, LbConfig, MemberConfig, MemberType, SourceRef, StandaloneConfig, StatusConfig, WorkerConfig, WorkersConfig,
} from './model.js';
import { readProperties, type PropertyStore } from './properties.js';
import { resolveReferences } from './references.js';
import { DEFAULT_BAD_MASK, DEFAULT_GOOD_MASK, LOCKS, METHODS, parseRating } from './values.js';
import { MAX_NAME_BYTES, WorkerProps, type ListItem } from './worker-props.js';

/**
 * mod_jk's lb defaults (docs/directives.md#lb-workers): the values of an lb whose workers file says
 * nothing.
 */
export const LB_DEFAULTS = Object.freeze({
  stickySession: true,
  stickySessionForce: false,
  method: 'Request',
  lock: 'Optimistic',
  retries: 2,
  lbRetries: 2,
  retryIntervalMs: 100,
  recoverTimeSec: 60,
  errorEscalationTimeSec: 30,
  maxReplyTimeouts: 0,
  sessionCookie: 'JSESSIONID',
  sessionPath: ';jsessionid',
  setSessionCookie: false,
  sessionCookiePath: '/',
  drainWindowSec: 600,
} as const satisfies Partial<LbConfig>);

export interface ParseOptions {
  /** Accept what mod_jk accepts: tolerated problems become warnings and mod_jk's fallback applies. */
  readonly lenient?: boolean;
  /** Environment for `$(NAME)` substitution (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface ParsedWorkers {
  /** Built even when there are errors (with defaults in their place); only trustworthy without errors. */
  readonly workers: WorkersConfig;
  readonly issues: readonly ConfigIssue[];
}

/** A `worker.<name>.mount` pattern with its line, for the mount map (lowest-priority source). */
export interface WorkerMount {
  readonly worker: string;
  readonly pattern: string;
  readonly ref: SourceRef;
}

// Mount lines are needed by parseMounts but are not part of the model; kept beside it.
const workerMounts = new WeakMap<WorkersConfig, readonly WorkerMount[]>();

/** The `mount` patterns of the workers of worker.list, with their lines. */
export function workerMountsOf(workers: WorkersConfig): readonly WorkerMount[] {
  const known = workerMounts.get(workers);
  if (known) return known;
  const out: WorkerMount[] = [];
  for (const w of workers.workers.values()) {
    for (const pattern of w.mounts) out.push({ worker: w.name, pattern, ref: w.source_ref });
  }
  return out;
}

const SUPPORTED_TYPES = 'lb, status, ajp13, http';

/**
 * Line-level checks (docs/directives.md#validation-and-bad-values): unknown directives, dotted
 * names, deprecated and ignored names.
 */
function checkLine(key: string, ref: SourceRef, issues: Issues): boolean {
  if (!key.startsWith('worker.')) return true; // a user variable, only used by $(…)
  if (!isSupportedKey(key)) {
    const d = directiveOf(key);
    const hint = isSupportedKey(key.slice(0, key.length - d.length) + d.toLowerCase())
      ? ` (directive names are case-sensitive: '${d.toLowerCase()}')`
      : '';
    issues.error(ref, key, `unknown directive '${d}'${hint}`);
    return false;
  }
  const name = workerNameOf(key);
  if (name.includes('.')) {
    issues.invalid(ref, key, `worker name '${name}' contains '.', which makes keys ambiguous`, 'accepted as mod_jk does');
  }
  const d = directiveOf(key);
  const replacement = DEPRECATED.get(d);
  if (replacement) issues.warn(ref, key, `deprecated; use '${replacement}'`);
  const why = IGNORED.get(d);
  if (why) issues.warn(ref, key, `ignored by jkbalancer (${why})`);
  return true;
}

class Builder {
  private readonly mounts: WorkerMount[] = [];

  constructor(
    private readonly store: PropertyStore,
    private readonly file: string,
    private readonly issues: Issues,
  ) {}

  props(name: string): WorkerProps {
    return new WorkerProps(this.store, name, this.issues);
  }

  /** Worker names: no '.', at most 63 bytes (docs/directives.md#worker-names). */
  checkName(item: ListItem, directive: string): void {
    if (Buffer.byteLength(item.item) > MAX_NAME_BYTES) {
      this.issues.error(item.ref, directive, `worker name '${item.item}' is longer than ${MAX_NAME_BYTES} bytes`);
    } else if (item.item.includes('.')) {
      this.issues.invalid(item.ref, directive, `worker name '${item.item}' contains '.', which makes keys ambiguous`, 'accepted as mod_jk does');
    }
  }

  /** The worker's type; null when it is not one jkbalancer can create (reported). */
  type(p: WorkerProps): string | null {
    const e = p.entry('type');
    const type = e?.value ?? 'ajp13';
    if (['lb', 'status', 'ajp13', 'http'].includes(type)) return type;
    if (type === 'ajp14' || type === 'ajp12') p.error(e!, `type '${type}' is not supported by jkbalancer (supported: ${SUPPORTED_TYPES})`);
    else p.error(e!, `unknown worker type '${type}' (supported: ${SUPPORTED_TYPES}; case-sensitive)`);
    return null;
  }

  /** Directives valid in general but without effect for this worker's type. */
  checkApplicable(p: WorkerProps, kind: 'lb' | 'member' | 'status', typeName: string): void {
    const allowed = DIRECTIVES_BY_TYPE[kind];
    for (const d of p.directives()) {
      if (allowed.has(d) || IGNORED.has(d)) continue;
      p.warn(p.entry(d)!, `has no effect on a worker of type ${typeName}`);
    }
  }

  mountsOf(p: WorkerProps): string[] {
    const items = p.list('mount');
    for (const { item, ref } of items) this.mounts.push({ worker: p.name, pattern: item, ref });
    return items.map((i) => i.item);
  }

  /** A name used in worker.list or balance_workers that has no property: mod_jk invents ajp13 localhost:8009. */
  undefinedWorker(item: ListItem, directive: string, what: string): void {
    this.issues.invalid(
      item.ref,
      directive,
      `${what} '${item.item}' is not defined (no worker.${item.item}.* properties)`,
      'created as an ajp13 worker for localhost:8009 as mod_jk does',
    );
  }

  lb(p: WorkerProps, ref: SourceRef): LbConfig {
    const listKey = p.has('balance_workers') || !p.has('balanced_workers') ? 'balance_workers' : 'balanced_workers';
    const items = p.list(listKey);
    const secret = p.string('secret', '');
    const members: MemberConfig[] = [];
    if (items.length === 0) this.issues.error(ref, p.key('balance_workers'), `lb worker '${p.name}' has no members`);
    for (const item of items) {
      this.checkName(item, p.key(listKey));
      const mp = this.props(item.item);
      if (!mp.defined) this.undefinedWorker(item, p.key(listKey), 'member');
      const type = this.type(mp);
      if (type === 'lb' || type === 'status') {
        this.issues.error(item.ref, p.key(listKey), `member '${item.item}' is of type ${type}; members must be ajp13 or http`);
      }
      if (type !== 'ajp13' && type !== 'http') continue;
      this.checkApplicable(mp, 'member', type);
      members.push(buildMember(mp, type, secret, item.ref));
    }
    this.checkRoutes(p, members, items);

    const d = LB_DEFAULTS;
    const recoverTimeSec = p.int('recover_time', d.recoverTimeSec, { clampMin: 1 });
    return Object.freeze({
      name: p.name,
      type: 'lb',
      members: Object.freeze(members),
      stickySession: p.bool('sticky_session', d.stickySession),
      stickySessionForce: p.bool('sticky_session_force', d.stickySessionForce),
      method: p.firstChar('method', METHODS, d.method, 'method'),
      lock: p.firstChar('lock', LOCKS, d.lock, 'lock'),
      retries: p.int('retries', d.retries, { clampMin: 1 }),
      lbRetries: p.int('lb_retries', d.lbRetries, { clampMin: 1 }),
      retryIntervalMs: p.int('retry_interval', d.retryIntervalMs, { min: 0 }),
      recoverTimeSec,
      errorEscalationTimeSec: p.int('error_escalation_time', Math.floor(recoverTimeSec / 2), { min: 0 }),
      maxReplyTimeouts: p.int('max_reply_timeouts', d.maxReplyTimeouts, { min: 0 }),
      sessionCookie: p.string('session_cookie', d.sessionCookie, true),
      sessionPath: p.string('session_path', d.sessionPath, true),
      setSessionCookie: p.bool('set_session_cookie', d.setSessionCookie),
      sessionCookiePath: p.string('session_cookie_path', d.sessionCookiePath, true),
      secret,
      mounts: Object.freeze(this.mountsOf(p)),
      drainWindowSec: p.int('drain_window', d.drainWindowSec, { min: 0 }),
      source_ref: ref,
    } satisfies LbConfig);
  }

  /** Routes must be unique within a balancer (mod_jk refuses); redirects must name one of them. */
  checkRoutes(p: WorkerProps, members: MemberConfig[], items: ListItem[]): void {
    const byRoute = new Map<string, MemberConfig>();
    members.forEach((m) => {
      const mp = this.props(m.name);
      const routeEntry = mp.entry('route') ?? mp.entry('jvm_route');
      const at = routeEntry ? mp.where(routeEntry) : { ref: items.find((i) => i.item === m.name)!.ref, directive: p.key('balance_workers') };
      const other = byRoute.get(m.route);
      if (other) {
        this.issues.error(at.ref, at.directive, `route '${m.route}' of member '${m.name}' is already used by member '${other.name}' in lb '${p.name}'`);
      } else {
        byRoute.set(m.route, m);
      }
    });
    for (const m of members) {
      if (m.redirect === '' || byRoute.has(m.redirect)) continue;
      const mp = this.props(m.name);
      mp.invalid(mp.entry('redirect')!, `redirect '${m.redirect}' is not the route of any member of lb '${p.name}'`, 'kept; it has no effect');
    }
  }

  status(p: WorkerProps, ref: SourceRef): StatusConfig {
    const rating = (directive: 'good' | 'bad', def: number): number => {
      const e = p.entry(directive);
      if (!e) return def;
      const r = parseRating(e.value);
      if (r.unknown.length > 0) {
        p.invalid(e, `unknown rating token(s) ${r.unknown.map((t) => `'${t}'`).join(', ')}`, 'counted as nothing, as mod_jk does');
      }
      return r.mask;
    };
    const goodMask = rating('good', DEFAULT_GOOD_MASK);
    const badMask = rating('bad', DEFAULT_BAD_MASK);
    if ((goodMask & badMask) !== 0) {
      this.issues.warn(ref, p.key('good'), `good and bad ratings overlap (0x${(goodMask & badMask).toString(16)}); bad wins`);
    }
    // A value starting with '-' switches the XML prefix / namespace declaration off
    // (docs/directives.md#status-workers).
    const orNone = (v: string): string => (v.startsWith('-') ? '' : v);
    return Object.freeze({
      name: p.name,
      type: 'status',
      css: p.string('css', ''),
      prefix: p.string('prefix', 'worker'),
      ns: orNone(p.string('ns', 'jk:')),
      xmlns: orNone(p.string('xmlns', 'xmlns:jk="http://tomcat.apache.org"')),
      doctype: p.string('doctype', ''),
      readOnly: p.bool('read_only', false),
      users: Object.freeze(p.list('user').map((i) => i.item)),
      userCaseInsensitive: p.bool('user_case_insensitive', false),
      goodMask,
      badMask,
      mounts: Object.freeze(this.mountsOf(p)),
      source_ref: ref,
    } satisfies StatusConfig);
  }

  worker(item: ListItem, implicit: boolean): WorkerConfig | null {
    const p = this.props(item.item);
    if (!implicit) {
      this.checkName(item, 'worker.list');
      if (!p.defined) this.undefinedWorker(item, 'worker.list', 'worker');
    }
    const type = this.type(p);
    const ref = p.sourceRef(item.ref);
    switch (type) {
      case 'lb':
        this.checkApplicable(p, 'lb', type);
        return this.lb(p, ref);
      case 'status':
        this.checkApplicable(p, 'status', type);
        return this.status(p, ref);
      case 'ajp13':
      case 'http': {
        this.checkApplicable(p, 'member', type);
        const member = buildMember(p, type as MemberType, '', item.ref);
        const check = p.entry('health_check_method');
        if (check && member.healthCheck) p.warn(check, 'has no effect: health checks run on the members of lb workers');
        return Object.freeze({ ...member, healthCheck: null, mounts: Object.freeze(this.mountsOf(p)) } satisfies StandaloneConfig);
      }
      default:
        return null;
    }
  }

  build(): WorkersConfig {
    const global = this.props('');
    const listEntry = this.store.get('worker.list');
    const implicit = !listEntry;
    let items: ListItem[];
    if (implicit) {
      this.issues.warn({ file: this.file, line: 0 }, 'worker.list', "absent: as in mod_jk a single ajp13 worker named 'ajp13' is created");
      items = [{ item: 'ajp13', ref: { file: this.file, line: 0 } }];
    } else {
      items = global.list('list');
    }
    const workers = new Map<string, WorkerConfig>();
    const list: string[] = [];
    for (const item of items) {
      if (workers.has(item.item) || list.includes(item.item)) {
        this.issues.warn(item.ref, 'worker.list', `worker '${item.item}' is listed more than once`);
        continue;
      }
      list.push(item.item);
      const w = this.worker(item, implicit);
      if (w) workers.set(item.item, w);
    }
    this.warnUnusedMounts(list);
    const config: WorkersConfig = Object.freeze({
      file: this.file,
      maintainSec: global.int('maintain', 60, { min: 0 }),
      list: Object.freeze(list),
      workers,
      properties: Object.freeze([...this.store.entries()].map((e) => Object.freeze([e.key, e.value] as const))),
    });
    workerMounts.set(config, Object.freeze(this.mounts));
    return config;
  }

  /**
   * `mount` only works for workers of worker.list (docs/directives.md#worker-names): say so for lb
   * members that have one.
   */
  warnUnusedMounts(list: string[]): void {
    const members = new Set<string>();
    for (const e of this.store.entries()) {
      if (e.key.endsWith('.balance_workers') || e.key.endsWith('.balanced_workers')) {
        for (const item of this.props(workerNameOf(e.key)).list(directiveOf(e.key))) members.add(item.item);
      }
    }
    for (const m of members) {
      if (list.includes(m)) continue;
      const p = this.props(m);
      const e = p.entry('mount');
      if (e) p.warn(e, `ignored: '${m}' is not in worker.list, and mod_jk only mounts workers of worker.list`);
    }
  }
}

/** Reads workers.properties text. Never throws; problems are in `issues`. */
export function parseWorkers(text: string, file: string, opts: ParseOptions = {}): ParsedWorkers {
  const issues = new Issues(opts.lenient ?? false);
  const store = readProperties(text, file, opts.env ?? process.env, 'duplicates', issues, (l) => checkLine(l.key, l.ref, issues));
  resolveReferences(store, issues);
  const workers = new Builder(store, file, issues).build();
  return { workers, issues: issues.all };
}
