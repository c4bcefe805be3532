import { formatIssue, parseMounts, parseWorkers, type ConfigIssue, type LbConfig, type MemberConfig, type StatusConfig, type StandaloneConfig } from '../../src/config/index.js';

export const FILE = 'workers.properties';

/** Joins lines into a properties text. */
export function props(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}

export function parse(text: string, opts: { lenient?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  return parseWorkers(text, FILE, { env: {}, ...opts });
}

export function errors(issues: readonly ConfigIssue[]): string[] {
  return issues.filter((i) => i.severity === 'error').map(formatIssue);
}

export function warnings(issues: readonly ConfigIssue[]): string[] {
  return issues.filter((i) => i.severity === 'warning').map(formatIssue);
}

export function lb(text: string, name = 'lb', opts: { lenient?: boolean; env?: NodeJS.ProcessEnv } = {}): LbConfig {
  const w = parse(text, opts).workers.workers.get(name);
  if (w?.type !== 'lb') throw new Error(`${name} is not an lb`);
  return w;
}

export function member(text: string, name: string, lbName = 'lb', opts: { lenient?: boolean } = {}): MemberConfig {
  const m = lb(text, lbName, opts).members.find((x) => x.name === name);
  if (!m) throw new Error(`no member ${name}`);
  return m;
}

export function status(text: string, name: string): StatusConfig {
  const w = parse(text).workers.workers.get(name);
  if (w?.type !== 'status') throw new Error(`${name} is not a status worker`);
  return w;
}

export function standalone(text: string, name: string): StandaloneConfig {
  const w = parse(text).workers.workers.get(name);
  if (!w || w.type === 'lb' || w.type === 'status') throw new Error(`${name} is not standalone`);
  return w;
}

/** A minimal valid balancer with http members n1, n2 plus extra lines. */
export function twoMembers(...extra: string[]): string {
  return props(
    'worker.list=lb',
    'worker.lb.type=lb',
    'worker.lb.balance_workers=n1,n2',
    'worker.n1.type=http',
    'worker.n1.port=8081',
    'worker.n2.type=http',
    'worker.n2.port=8082',
    ...extra,
  );
}

export function mounts(workersText: string, mountsText: string, opts: { lenient?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const w = parse(workersText);
  return parseMounts(mountsText, 'uriworkermap.properties', w.workers, { env: {}, ...opts });
}
