/**
 * A real Tomcat 10 for tests: each instance gets its own CATALINA_BASE in a temp dir (server.xml with an
 * AJP connector and an HTTP connector on 127.0.0.1, Engine jvmRoute, the test webapp from
 * test/helpers/tomcat-webapp/) and runs `catalina.sh run` from the Debian package as a child process
 * in its own process group. Several instances may run at once (sticky failover tests).
 *
 * Every instance is killed and its directory removed by stop(), and at process exit as a last resort.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const CATALINA_HOME = process.env.JK_TEST_CATALINA_HOME ?? '/usr/share/tomcat10';
const HERE = dirname(fileURLToPath(import.meta.url));
/** The webapp sources: next to this file, or in the source tree when running compiled from dist/test/helpers (bench). */
const WEBAPP_SRC = [join(HERE, 'tomcat-webapp'), join(HERE, '..', '..', '..', 'test', 'helpers', 'tomcat-webapp')].find((d) =>
  existsSync(join(d, 'JkTestServlet.java')),
) ?? join(HERE, 'tomcat-webapp');
const run = promisify(execFile);

export interface TomcatOptions {
  /** Engine jvmRoute: Tomcat appends `.<jvmRoute>` to its session ids. */
  readonly jvmRoute: string;
  /** A string makes the AJP connector require this secret; null/undefined sets secretRequired="false". */
  readonly secret?: string | null;
  /** AJP connector packetSize (Tomcat's default is 8192; must be ≥ the member's max_packet_size). */
  readonly packetSize?: number;
  /** More attributes for the AJP connector, e.g. { keepAliveTimeout: 2000, maxThreads: 20 }. */
  readonly ajpAttributes?: Readonly<Record<string, string | number>>;
  /** ms to wait for the AJP connector to answer a CPing (default 60000). */
  readonly startTimeoutMs?: number;
  /** `<Valve …/>` elements for the Host (e.g. RemoteIpValve and SSLValve behind an HTTPS proxy). */
  readonly hostValves?: string;
}

export interface TomcatInstance {
  readonly jvmRoute: string;
  readonly ajpPort: number;
  /** HTTP/1.1 connector on the same webapp (for benchmarks and comparisons). */
  readonly httpPort: number;
  /** This instance's CATALINA_BASE. */
  readonly baseDir: string;
  /** Pid of the running JVM (changes on restart; 0 when not running). */
  readonly pid: number;
  /** How long the last start took, ms (until the AJP connector answered a CPing). */
  readonly startMs: number;
  /** Kill the JVM (SIGKILL to its process group) and remove the base dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL the JVM but keep the base dir and ports, so restart() can bring it back (failover tests). */
  kill(): Promise<void>;
  /**
   * SIGSTOP the JVM — a hung Tomcat whose sockets still accept connections — and wait until every
   * thread really is stopped (the kernel stops threads asynchronously after kill() returns).
   */
  pause(): Promise<void>;
  /** SIGCONT. */
  resume(): void;
  /** Kill if running, then start again on the same ports; sessions do not survive. */
  restart(): Promise<void>;
  /** The console log so far (for assertion messages). */
  logs(): string;
}

/** Why Tomcat cannot run here, or null when it can. */
export function tomcatMissingReason(): string | null {
  if (!existsSync(join(CATALINA_HOME, 'bin', 'catalina.sh'))) return `Tomcat 10 not found at ${CATALINA_HOME} (apt-get install tomcat10)`;
  if (!existsSync(join(CATALINA_HOME, 'lib', 'servlet-api.jar'))) return `${CATALINA_HOME}/lib/servlet-api.jar missing`;
  if (findJavaHome() === null) return 'no Java found (JAVA_HOME unset and no java/javac on PATH)';
  return null;
}

/**
 * Whether Tomcat tests should run. Missing Tomcat skips them with a visible message, except on CI
 * (CI=true) where it returns true so startTomcat() fails the suite loudly.
 */
export function tomcatTestsEnabled(): boolean {
  const reason = tomcatMissingReason();
  if (reason === null) return true;
  if (process.env.CI === 'true') return true;
  console.warn(`\n*** SKIPPING Tomcat tests: ${reason} ***\n`);
  return false;
}

let javaHomeCache: string | null | undefined;
function findJavaHome(): string | null {
  if (javaHomeCache !== undefined) return javaHomeCache;
  javaHomeCache = null;
  const fromEnv = process.env.JAVA_HOME;
  if (fromEnv && existsSync(join(fromEnv, 'bin', 'javac'))) return (javaHomeCache = fromEnv);
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const javac = join(dir, 'javac');
    if (dir && existsSync(javac)) {
      // /usr/bin/javac → /usr/lib/jvm/java-17-openjdk-amd64/bin/javac
      return (javaHomeCache = dirname(dirname(realpathSync(javac))));
    }
  }
  return javaHomeCache;
}

/** A port the OS says is free right now (bind 0, read, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

let compiled: Promise<string> | null = null;
/** Compile the servlet once per source version into a cache dir under the OS temp dir. */
function compiledClasses(): Promise<string> {
  compiled ??= (async () => {
    const src = readFileSync(join(WEBAPP_SRC, 'JkTestServlet.java'));
    const hash = createHash('sha256').update(src).digest('hex').slice(0, 16);
    const dir = join(tmpdir(), `jkbalancer-webapp-${hash}`);
    if (existsSync(join(dir, 'JkTestServlet.class'))) return dir;
    // Compile next to the cache and rename, so parallel test files never see half a directory.
    const work = mkdtempSync(`${dir}.tmp-`);
    const javac = join(findJavaHome() ?? '/usr', 'bin', 'javac');
    await run(javac, ['-d', work, '-cp', join(CATALINA_HOME, 'lib', 'servlet-api.jar'), join(WEBAPP_SRC, 'JkTestServlet.java')]);
    try {
      renameSync(work, dir);
    } catch {
      rmSync(work, { recursive: true, force: true }); // another worker won the race
    }
    return dir;
  })();
  return compiled;
}

function xmlAttr(v: string | number): string {
  return String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

function serverXml(o: TomcatOptions, ajpPort: number, httpPort: number): string {
  const ajp: Record<string, string | number> = {
    protocol: 'AJP/1.3',
    address: '127.0.0.1',
    port: ajpPort,
    ...(o.secret ? { secretRequired: 'true', secret: o.secret } : { secretRequired: 'false' }),
    ...(o.packetSize ? { packetSize: o.packetSize } : {}),
    ...o.ajpAttributes,
  };
  const attrs = Object.entries(ajp)
    .map(([k, v]) => `${k}="${xmlAttr(v)}"`)
    .join(' ');
  return `<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector ${attrs} />
    <Connector protocol="HTTP/1.1" address="127.0.0.1" port="${httpPort}" connectionTimeout="20000" />
    <Engine name="Catalina" defaultHost="localhost" jvmRoute="${xmlAttr(o.jvmRoute)}">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false">${o.hostValves ?? ''}</Host>
    </Engine>
  </Service>
</Server>
`;
}

const LOGGING = `handlers = java.util.logging.ConsoleHandler
.handlers = java.util.logging.ConsoleHandler
.level = INFO
java.util.logging.ConsoleHandler.level = INFO
java.util.logging.ConsoleHandler.formatter = org.apache.juli.OneLineFormatter
java.util.logging.ConsoleHandler.encoding = UTF-8
`;

async function makeBase(o: TomcatOptions, ajpPort: number, httpPort: number): Promise<string> {
  const classes = await compiledClasses();
  const base = mkdtempSync(join(tmpdir(), `jkbalancer-tomcat-${o.jvmRoute.replace(/[^\w.-]/g, '_')}-`));
  try {
    fillBase(base, o, classes, ajpPort, httpPort);
  } catch (err) {
    rmSync(base, { recursive: true, force: true });
    throw err;
  }
  return base;
}

function fillBase(base: string, o: TomcatOptions, classes: string, ajpPort: number, httpPort: number): void {
  for (const d of ['conf', 'logs', 'temp', 'work', 'webapps/app/WEB-INF/classes', 'webapps/app/META-INF']) {
    mkdirSync(join(base, d), { recursive: true });
  }
  writeFileSync(join(base, 'conf', 'server.xml'), serverXml(o, ajpPort, httpPort));
  writeFileSync(join(base, 'conf', 'logging.properties'), LOGGING);
  // The packaged catalina.properties (class loaders) with jar scanning turned off for a fast start.
  const props = readFileSync(join(CATALINA_HOME, 'etc', 'catalina.properties'), 'utf8');
  writeFileSync(join(base, 'conf', 'catalina.properties'), `${props}\ntomcat.util.scan.StandardJarScanFilter.jarsToSkip=*.jar\n`);
  writeFileSync(join(base, 'conf', 'web.xml'), '<?xml version="1.0" encoding="UTF-8"?>\n<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" version="6.0"/>\n');
  copyFileSync(join(WEBAPP_SRC, 'web.xml'), join(base, 'webapps/app/WEB-INF/web.xml'));
  copyFileSync(join(WEBAPP_SRC, 'context.xml'), join(base, 'webapps/app/META-INF/context.xml'));
  for (const f of ['JkTestServlet.class', 'JkTestServlet$Json.class']) {
    copyFileSync(join(classes, f), join(base, 'webapps/app/WEB-INF/classes', f));
  }
}

/** One CPing → CPong round trip: proves the AJP connector's acceptor runs (webapps are deployed by then). */
function cpingOnce(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let got = Buffer.alloc(0);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('connect', () => sock.write(Buffer.from([0x12, 0x34, 0x00, 0x01, 0x0a])));
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 5) done(got[0] === 0x41 && got[1] === 0x42 && got[4] === 0x09);
    });
    sock.on('error', () => done(false));
    sock.on('close', () => done(false));
  });
}

const live = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) killGroup(child, 'SIGKILL');
    for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/**
 * A shell that kills the JVM's process group and removes its base dir once this Node process is
 * gone, however it died (a SIGKILLed test worker runs no exit hook): no Tomcat outlives the tests.
 */
function startWatchdog(jvm: ChildProcess, baseDir: string): ChildProcess {
  const dir = `'${baseDir.replace(/'/g, `'\\''`)}'`;
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; kill -CONT -${jvm.pid}; kill -KILL -${jvm.pid}; sleep 1; rm -rf ${dir}`;
  const dog = spawn('sh', ['-c', script], { stdio: 'ignore', detached: true });
  dog.unref();
  return dog;
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

export async function startTomcat(options: TomcatOptions): Promise<TomcatInstance> {
  const missing = tomcatMissingReason();
  if (missing !== null) throw new Error(`cannot start Tomcat: ${missing}`);
  installExitHook();
  const ajpPort = await freePort();
  const httpPort = await freePort();
  const baseDir = await makeBase(options, ajpPort, httpPort);
  liveDirs.add(baseDir);
  const logFile = join(baseDir, 'logs', 'console.log');
  const javaHome = findJavaHome() as string;
  let child: ChildProcess | null = null;
  let startMs = 0;
  let removed = false;

  const launch = async (): Promise<void> => {
    const started = Date.now();
    const fd = openSync(logFile, 'a');
    const proc = spawn(join(CATALINA_HOME, 'bin', 'catalina.sh'), ['run'], {
      detached: true, // own process group: stop() kills the shell and the JVM together
      stdio: ['ignore', fd, fd],
      env: {
        ...process.env,
        JAVA_HOME: javaHome,
        CATALINA_HOME,
        CATALINA_BASE: baseDir,
        CATALINA_TMPDIR: join(baseDir, 'temp'),
        CATALINA_PID: '',
        CATALINA_OPTS: `-Djk.jvmRoute=${options.jvmRoute} -Xms64m -Xmx256m -XX:+UseSerialGC -Xshare:auto -Djava.security.egd=file:/dev/./urandom`,
      },
    });
    closeSync(fd);
    child = proc;
    live.add(proc);
    const watchdog = startWatchdog(proc, baseDir);
    proc.once('exit', () => {
      live.delete(proc);
      killGroup(watchdog, 'SIGKILL'); // the shell and its `sleep`
    });
    const deadline = started + (options.startTimeoutMs ?? 60_000);
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`Tomcat ${options.jvmRoute} exited during start (code ${proc.exitCode}):\n${tail(logFile)}`);
      }
      if (await cpingOnce(ajpPort, 1000)) {
        startMs = Date.now() - started;
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    killGroup(proc, 'SIGKILL');
    throw new Error(`Tomcat ${options.jvmRoute} did not answer CPing on ${ajpPort} in time:\n${tail(logFile)}`);
  };

  const killNow = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (proc === null || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    killGroup(proc, 'SIGCONT'); // a paused JVM must not linger
    killGroup(proc, 'SIGKILL');
    await exited;
  };

  try {
    await launch();
  } catch (err) {
    await killNow();
    rmSync(baseDir, { recursive: true, force: true });
    liveDirs.delete(baseDir);
    throw err;
  }

  return {
    jvmRoute: options.jvmRoute,
    ajpPort,
    httpPort,
    baseDir,
    get pid() {
      return child?.pid ?? 0;
    },
    get startMs() {
      return startMs;
    },
    async stop() {
      await killNow();
      if (!removed) {
        removed = true;
        rmSync(baseDir, { recursive: true, force: true });
        liveDirs.delete(baseDir);
      }
    },
    kill: killNow,
    async pause() {
      const pid = child?.pid;
      if (child === null || pid === undefined) return;
      killGroup(child, 'SIGSTOP');
      const deadline = Date.now() + 5000;
      while (!allThreadsStopped(pid)) {
        if (Date.now() > deadline) throw new Error(`Tomcat ${options.jvmRoute} did not stop after SIGSTOP`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    resume() {
      if (child) killGroup(child, 'SIGCONT');
    },
    async restart() {
      if (removed) throw new Error('Tomcat instance was stopped; start a new one');
      await killNow();
      await launch();
    },
    logs: () => tail(logFile, 1 << 20),
  };
}

/** Linux: every thread of the process is in state T (stopped). */
function allThreadsStopped(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/task`).every((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // The state letter follows the ") " that closes the command name.
      return stat[stat.lastIndexOf(')') + 2] === 'T';
    });
  } catch {
    return false;
  }
}

function tail(file: string, max = 4000): string {
  try {
    const s = readFileSync(file, 'utf8');
    return s.length > max ? s.slice(-max) : s;
  } catch {
    return '(no log)';
  }
}
