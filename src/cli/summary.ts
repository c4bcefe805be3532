/** The readable summary `jkbalancer check` prints for a valid configuration. */
import type { LoadedConfig, MemberConfig, MountRule } from '../config/index.js';

function member(m: MemberConfig): string {
  const fields = [
    `${m.type} ${m.tls ? 'https://' : ''}${m.host.includes(':') ? `[${m.host}]` : m.host}:${m.port}`,
    `route=${m.route}`,
    `lbfactor=${m.lbfactor}`,
    `distance=${m.distance}`,
    `domain=${m.domain || '-'}`,
    `activation=${m.activation}`,
    `redirect=${m.redirect || '-'}`,
  ];
  const hc = m.healthCheck;
  if (hc !== null) {
    const what = hc.method === 'TCP' ? 'TCP' : `${hc.method} ${hc.uri}`;
    fields.push(`health_check=${what} every ${hc.intervalMs}ms (${hc.failIntervalMs}ms failing) fails=${hc.fails} passes=${hc.passes}`);
  }
  return `    ${m.name}: ${fields.join(' ')}`;
}

function rule(r: MountRule): string {
  const prefix = `${r.disabled ? '-' : ''}${r.exclusion ? '!' : ''}`;
  return `  ${prefix}${r.pattern} → ${r.worker}  (${r.source}, ${r.source_ref.file}:${r.source_ref.line})`;
}

export function formatSummary(config: LoadedConfig): string {
  const { workers, mounts } = config;
  const lines = [`workers: ${workers.file} (worker.list: ${workers.list.join(', ')}; maintain ${workers.maintainSec}s)`];
  for (const w of workers.workers.values()) {
    if (w.type === 'lb') {
      const sticky = w.stickySession ? `sticky${w.stickySessionForce ? ' (forced)' : ''}` : 'not sticky';
      lines.push(
        `  lb ${w.name}: method=${w.method} ${sticky} retries=${w.retries} recover_time=${w.recoverTimeSec}s, ${w.members.length} member${w.members.length === 1 ? '' : 's'}`,
      );
      for (const m of w.members) lines.push(member(m));
    } else if (w.type === 'status') {
      const users = w.users.length > 0 ? ` users=${w.users.join(',')}` : '';
      lines.push(`  status ${w.name}: ${w.readOnly ? 'read-only' : 'read-write'}${users}`);
    } else {
      lines.push(`  ${w.type} ${w.name} (standalone):`);
      lines.push(member(w));
    }
  }
  lines.push(mounts.rules.length > 0 ? `mounts (in matching order):` : 'mounts: none (nothing is mapped)');
  for (const r of mounts.rules) lines.push(rule(r));
  return `${lines.join('\n')}\n`;
}
