/**
 * `worker.X.reference=worker.Y` inheritance (docs/directives.md#inheritance): every `worker.Y.<d>`
 * that X lacks is copied to X; Y's own reference is resolved first (depth first). Cycles and chains
 * deeper than mod_jk's limit, and references matching no key, are errors (mod_jk refuses them too).
 */
import type { Issues } from './issues.js';
import type { PropertyStore } from './properties.js';

const MAX_DEPTH = 20;
const SUFFIX = '.reference';

export function resolveReferences(store: PropertyStore, issues: Issues): void {
  const done = new Set<string>();
  const referrers: string[] = [];
  for (const e of store.entries()) {
    if (e.key.startsWith('worker.') && e.key.endsWith(SUFFIX) && e.inheritedFrom === undefined) {
      referrers.push(e.key.slice('worker.'.length, -SUFFIX.length));
    }
  }

  const resolve = (name: string, chain: string[]): void => {
    if (done.has(name)) return;
    const entry = store.get(`worker.${name}${SUFFIX}`);
    if (!entry) {
      done.add(name);
      return;
    }
    if (chain.includes(name)) {
      const loop = [...chain.slice(chain.indexOf(name)), name].map((n) => `worker.${n}`).join(' → ');
      issues.error(entry.ref, entry.key, `reference cycle: ${loop}`);
      done.add(name);
      return;
    }
    if (chain.length >= MAX_DEPTH) {
      issues.error(entry.ref, entry.key, `reference chain deeper than ${MAX_DEPTH} levels`);
      done.add(name);
      return;
    }
    const target = entry.value;
    if (!target.startsWith('worker.') || target.endsWith('.')) {
      issues.error(entry.ref, entry.key, `reference must be a key prefix such as 'worker.template', got '${target}'`);
      done.add(name);
      return;
    }
    resolve(target.slice('worker.'.length), [...chain, name]);
    done.add(name);
    const prefix = `${target}.`;
    const keys = store.keysWithPrefix(prefix);
    if (keys.length === 0) {
      issues.error(entry.ref, entry.key, `reference not found: no property starts with '${prefix}'`);
      return;
    }
    for (const key of keys) {
      const own = `worker.${name}.${key.slice(prefix.length)}`;
      if (!store.has(own)) store.inherit(own, store.get(key)!);
    }
  };

  for (const name of referrers) resolve(name, []);
}
