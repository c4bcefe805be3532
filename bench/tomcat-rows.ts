/**
 * The bench's Tomcat rows: three real Tomcat 10 instances (the test harness's, each with an HTTP and
 * an AJP connector on the same webapp), measured directly over HTTP, then through the bare forwarder
 * over HTTP and through jkbalancer over HTTP (type=http) and over AJP (type=ajp13), each
 * session-less and sticky, on /app/hello (a small reply; the servlet never reads the request body,
 * as a page handler answering a GET). Two more rows take /app/echo, whose servlet reads the body:
 * over AJP, Tomcat then asks for the body of every request that has no Content-Length (a GET has
 * none), one more round trip that mod_jk makes too. The JVMs inherit the bench's own CPU (the load CPU).
 */
import { startTomcat, tomcatMissingReason, type TomcatInstance } from '../test/helpers/tomcat.js';
import { runLoad } from './load.js';
import type { Target } from './measure.js';
import { startBare, startJkbalancer } from './proxies.js';

const ROUTES = ['tc1', 'tc2', 'tc3'];
const STICKY = 'JSESSIONID=ABC123.tc2';
/** A JVM needs far more than the per-row warm-up before its JIT has compiled both connectors' hot paths. */
const JVM_WARMUP_S = 10;

const started: TomcatInstance[] = [];

/** The Tomcat rows, or none (and why) when Tomcat 10 or Java is missing. */
export async function tomcatTargets(connections: number, say: (msg: string) => void): Promise<Target[]> {
  const missing = tomcatMissingReason();
  if (missing !== null) {
    say(`  no Tomcat rows: ${missing}`);
    return [];
  }
  say('  starting 3 Tomcat 10 instances…');
  const tcs = await Promise.all(
    ROUTES.map(async (jvmRoute) => {
      const tc = await startTomcat({ jvmRoute, ajpAttributes: { maxThreads: 200 } });
      started.push(tc);
      return tc;
    }),
  );
  const bare = await startBare(Object.fromEntries(tcs.map((tc) => [tc.jvmRoute, tc.httpPort])));
  const jkbHttp = await startJkbalancer('tomcat-http', tcs.map((tc) => ({ name: tc.jvmRoute, type: 'http', port: tc.httpPort })));
  const jkbAjp = await startJkbalancer('tomcat-ajp', tcs.map((tc) => ({ name: tc.jvmRoute, type: 'ajp13', port: tc.ajpPort })));
  const url = (port: number) => `http://127.0.0.1:${port}/app/hello`;
  const echo = (port: number) => `http://127.0.0.1:${port}/app/echo`;
  say(`  warming up the JVMs: ${JVM_WARMUP_S} s over HTTP and ${JVM_WARMUP_S} s over AJP, to all three…`);
  for (const lb of [jkbHttp, jkbAjp]) {
    await runLoad({ url: url(lb.port), connections, seconds: JVM_WARMUP_S / 2 });
    await runLoad({ url: echo(lb.port), connections, seconds: JVM_WARMUP_S / 2 });
  }
  const rows: Target[] = [{ scenario: 'Tomcat direct (HTTP)', url: url(tcs[0].httpPort) }];
  for (const [mode, cookie] of [['session-less', undefined], ['sticky', STICKY]] as const) {
    const bareRow = `bare → Tomcat HTTP: ${mode}`;
    const httpRow = `jkbalancer → Tomcat HTTP: ${mode}`;
    rows.push(
      { scenario: bareRow, url: url(bare.port), cookie, proxyPid: bare.pid },
      { scenario: httpRow, url: url(jkbHttp.port), cookie, proxyPid: jkbHttp.pid, bare: bareRow },
      { scenario: `jkbalancer → Tomcat AJP: ${mode}`, url: url(jkbAjp.port), cookie, proxyPid: jkbAjp.pid, bare: bareRow, http: httpRow },
    );
  }
  const echoHttp = 'jkbalancer → Tomcat HTTP, a servlet that reads the body: session-less';
  rows.push(
    { scenario: echoHttp, url: echo(jkbHttp.port), proxyPid: jkbHttp.pid },
    { scenario: 'jkbalancer → Tomcat AJP, a servlet that reads the body: session-less', url: echo(jkbAjp.port), proxyPid: jkbAjp.pid, http: echoHttp },
  );
  return rows;
}

export async function stopTomcats(): Promise<void> {
  await Promise.all(started.splice(0).map((tc) => tc.stop()));
}
