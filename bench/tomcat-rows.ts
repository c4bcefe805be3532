/**
 * The bench's Tomcat rows: one real Tomcat 10 (the test harness's instance) measured directly over
 * HTTP, through the balancer over HTTP (type=http) and through the balancer over AJP (type=ajp13).
 */
import { startTomcat, type TomcatInstance } from '../test/helpers/tomcat.js';
import type { Row } from './bench.js';

interface Tools {
  measure(scenario: string, target: string, url: string, headers?: Record<string, string>): Promise<Row>;
  startBalancerProcess(name: string, workers: string, mounts?: string): Promise<number>;
  say(msg: string): void;
}

const started: TomcatInstance[] = [];

export async function tomcatRows(t: Tools): Promise<Row[]> {
  t.say('  starting Tomcat 10…');
  const tc = await startTomcat({ jvmRoute: 'tc1', ajpAttributes: { maxThreads: 200 } });
  started.push(tc);
  const member = (type: string, port: number) =>
    ['worker.list=lb', 'worker.lb.type=lb', 'worker.lb.balance_workers=tc1', `worker.tc1.type=${type}`, 'worker.tc1.host=127.0.0.1', `worker.tc1.port=${port}`].join('\n');
  const httpLb = await t.startBalancerProcess('tomcat-http', member('http', tc.httpPort));
  const ajpLb = await t.startBalancerProcess('tomcat-ajp', member('ajp13', tc.ajpPort));
  const direct = 'Tomcat direct (HTTP)';
  return [
    await t.measure(direct, 'Tomcat 10', `http://127.0.0.1:${tc.httpPort}/app/echo`),
    { ...(await t.measure('balancer → Tomcat HTTP', 'Tomcat 10', `http://127.0.0.1:${httpLb}/app/echo`)), baseline: direct },
    { ...(await t.measure('balancer → Tomcat AJP', 'Tomcat 10', `http://127.0.0.1:${ajpLb}/app/echo`)), baseline: direct },
  ];
}

export async function stopTomcats(): Promise<void> {
  await Promise.all(started.map((tc) => tc.stop()));
}
