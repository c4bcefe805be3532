/**
 * A redis-server for the bench's --state-redis row (the Debian package's binary, if installed), on
 * the load CPU, without persistence; killed with the other children when the bench ends.
 */
import { LOAD_CPU, freePort, spawnOn, waitForPort, which } from './procs.js';

/** The URL of a fresh redis-server, or null when there is no redis-server on PATH. */
export async function startBenchRedis(): Promise<string | null> {
  const binary = which('redis-server');
  if (binary === null) return null;
  const port = await freePort();
  spawnOn(LOAD_CPU, binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitForPort(port);
  return `redis://127.0.0.1:${port}/0`;
}
