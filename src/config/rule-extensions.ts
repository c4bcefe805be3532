/**
 * uriworkermap rule extensions `worker;name=value;…` (docs/uri-mapping.md#rule-extensions).
 */
import type { LbConfig, RuleExtensions, WorkerConfig } from './model.js';
import { parseIntLikeModJk, parseIntStrict, splitList } from './values.js';

export const NO_EXTENSIONS: RuleExtensions = Object.freeze({
  replyTimeoutMs: -1,
  stickyIgnore: false,
  stateless: false,
  active: Object.freeze([]),
  disabled: Object.freeze([]),
  stopped: Object.freeze([]),
  failOnStatus: null,
  useServerErrors: 0,
  sessionCookie: null,
  sessionPath: null,
  setSessionCookie: false,
  sessionCookiePath: null,
});

export interface ExtensionReporter {
  /** A value mod_jk would read anyway (error, or warning in lenient mode). */
  invalid(message: string, fallback: string): void;
  warn(message: string): void;
}

/** Extensions whose repeats silently override in mod_jk; all others keep the first occurrence. */
const LAST_WINS = new Set(['reply_timeout=', 'sticky_ignore=', 'stateless=', 'use_server_errors=']);
const NAMES = [
  'reply_timeout=', 'sticky_ignore=', 'stateless=', 'use_server_errors=', 'active=', 'disabled=', 'stopped=',
  'fail_on_status=', 'session_cookie=', 'session_path=', 'set_session_cookie=', 'session_cookie_path=',
];
const LB_ONLY = new Set(['active=', 'disabled=', 'stopped=', 'session_cookie=', 'session_path=', 'set_session_cookie=', 'session_cookie_path=']);

/** Splits a rule value on ';' (empty pieces dropped, as mod_jk's tokenizer does): [worker, ...extensions]. */
export function splitRuleValue(value: string): string[] {
  return value.split(';').filter((t) => t !== '');
}

/**
 * Reads the extension tokens of one rule for `worker` (undefined when the worker does not exist).
 * Activation lists are resolved so that each member ends up in at most one list: the last of
 * active, disabled, stopped naming it (mod_jk's order of application).
 */
export function parseRuleExtensions(tokens: readonly string[], worker: WorkerConfig | undefined, report: ExtensionReporter): RuleExtensions {
  const ext: { -readonly [K in keyof RuleExtensions]: RuleExtensions[K] } = { ...NO_EXTENSIONS };
  const seen = new Set<string>();
  const activation: Record<'active=' | 'disabled=' | 'stopped=', string[]> = { 'active=': [], 'disabled=': [], 'stopped=': [] };
  const lb: LbConfig | undefined = worker?.type === 'lb' ? worker : undefined;

  const int = (name: string, raw: string): number => {
    const n = parseIntStrict(raw);
    if (n !== null) return n;
    const loose = parseIntLikeModJk(raw) ?? 0;
    report.invalid(`${name} '${raw}' is not an integer`, `read as ${loose} as mod_jk does`);
    return loose;
  };

  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const name = NAMES.find((n) => token.startsWith(n));
    if (!name) {
      report.warn(`unknown rule extension '${token}'; ignored`);
      continue;
    }
    let raw = token.slice(name.length);
    // `session_path=;foo`: the ';' separates extensions, so mod_jk takes the next piece as the name.
    if (name === 'session_path=' && raw === '') raw = tokens[++i] ?? '';
    if (seen.has(name)) {
      if (!LAST_WINS.has(name)) {
        report.warn(`rule extension '${name}' given more than once; the first one is used`);
        continue;
      }
      report.warn(`rule extension '${name}' given more than once; the last one is used`);
    }
    seen.add(name);
    if (LB_ONLY.has(name) && worker && !lb) {
      report.warn(`rule extension '${name}' applies to lb workers only; ignored for '${worker.name}'`);
      continue;
    }
    switch (name) {
      case 'reply_timeout=': ext.replyTimeoutMs = int(name, raw); break;
      case 'sticky_ignore=': ext.stickyIgnore = int(name, raw) !== 0; break;
      case 'stateless=': ext.stateless = int(name, raw) !== 0; break;
      case 'use_server_errors=': ext.useServerErrors = int(name, raw); break;
      case 'set_session_cookie=': ext.setSessionCookie = int(name, raw) !== 0; break;
      case 'session_cookie=': ext.sessionCookie = raw; break;
      case 'session_path=': ext.sessionPath = raw; break;
      case 'session_cookie_path=': ext.sessionCookiePath = raw; break;
      case 'fail_on_status=': {
        const codes: number[] = [];
        for (const item of splitList(raw)) {
          const n = parseIntStrict(item);
          if (n === null || Math.abs(n) < 100 || Math.abs(n) > 599) report.invalid(`fail_on_status '${item}' is not an HTTP status code`, 'ignored');
          else codes.push(n);
        }
        ext.failOnStatus = Object.freeze(codes);
        break;
      }
      default: {
        const list = activation[name as keyof typeof activation];
        for (const member of splitList(raw)) {
          if (lb && !lb.members.some((m) => m.name === member)) {
            report.warn(`rule extension '${name}' names '${member}', which is not a member of lb '${lb.name}'; ignored`);
          } else {
            list.push(member);
          }
        }
      }
    }
  }

  // Apply in mod_jk's order: a member named in several lists ends with the last one.
  const final = new Map<string, keyof typeof activation>();
  for (const key of ['active=', 'disabled=', 'stopped='] as const) {
    for (const m of activation[key]) {
      const before = final.get(m);
      if (before && before !== key) report.warn(`member '${m}' is named in both '${before}' and '${key}'; '${key}' applies`);
      final.set(m, key);
    }
  }
  const pick = (key: keyof typeof activation): readonly string[] =>
    Object.freeze([...final].filter(([, k]) => k === key).map(([m]) => m));
  ext.active = pick('active=');
  ext.disabled = pick('disabled=');
  ext.stopped = pick('stopped=');
  return Object.freeze(ext);
}
