/// <reference lib="dom" />
/**
 * The status page's history in real Chromium (issue 17), while the test drives traffic and a drain
 * through the real product (history sampled every 250 ms so it takes seconds): the drained member's
 * chart shows its traffic falling to nothing with the change marked on the time axis, the drain
 * indicator falls to zero and the member stops itself at its drain_idle_time, the audit list names
 * the user and address behind the change, the latency toggle works from the keyboard, axe stays
 * clean in light and dark, and at phone width nothing is wider than the screen. Screenshots at
 * 1280 px and 375 px go to test-results/screenshots/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { hashPassword } from '../../src/status/credentials.js';
import { axeViolations } from '../helpers/axe.js';
import { startFakeTomcat, type FakeTomcat } from '../helpers/fake-tomcat.js';
import { get } from '../helpers/http-client.js';
import { startProductWith, type Product } from '../status/product.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: the status page history test cannot run (CI requires it)`);
  console.warn(`skipping the status page history test: ${CHROMIUM} is not installed`);
}
const SHOTS = 'test-results/screenshots';
const INTERVAL_MS = 250;
const DRAIN_WINDOW_SEC = 3;
const DRAIN_IDLE_SEC = 5;
const USER = 'operator';
const PASSWORD = 'drain-me';

let backends: FakeTomcat[] = [];
let product: Product;
let browser: Browser;
let credentialsDir = '';

beforeAll(async () => {
  if (!haveChromium) return;
  for (const r of ['n1', 'n2', 'n3']) backends.push(await startFakeTomcat(r));
  const lines = ['worker.list=lb,jkstatus', 'worker.lb.type=lb', 'worker.lb.balance_workers=n1,n2,n3', `worker.lb.drain_window=${DRAIN_WINDOW_SEC}`];
  for (const t of backends) lines.push(`worker.${t.route}.type=http`, `worker.${t.route}.host=127.0.0.1`, `worker.${t.route}.port=${t.port}`);
  lines.push(`worker.n2.drain_idle_time=${DRAIN_IDLE_SEC}`, 'worker.jkstatus.type=status');
  // Changes need the operator's credentials: the audit list must name them.
  credentialsDir = mkdtempSync(join(tmpdir(), 'jkb-ui-credentials-'));
  const credentialsFile = join(credentialsDir, 'credentials');
  writeFileSync(credentialsFile, `${USER}:${await hashPassword(PASSWORD, 1024)}\n`);
  product = await startProductWith(
    { workers: lines.join('\n') + '\n', mounts: '/app/*=lb\n/jkstatus=jkstatus\n' },
    { historyIntervalMs: INTERVAL_MS, stateFile: null, credentialsFile },
  );
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

afterAll(async () => {
  await browser?.close();
  await product?.close();
  for (const b of backends) await b.close();
  if (credentialsDir) rmSync(credentialsDir, { recursive: true, force: true });
});

const url = (path: string) => `http://127.0.0.1:${product.port}${path}`;

/**
 * Traffic until stopped: sticky requests of the first `sessions` of four n2 sessions, and new-session
 * requests, which the balancer sends to n1 and n3 once n2 is disabled.
 */
function startTraffic() {
  const state = { sessions: 4, running: true, lastStickyAt: 0, errors: [] as string[] };
  const loop = (async () => {
    for (let i = 0; state.running; i++) {
      try {
        if (state.sessions > 0) {
          // Sent before the balancer sees it: the balancer's last sticky time is not earlier.
          state.lastStickyAt = Date.now();
          const r = await get(url('/app/a'), { cookie: `JSESSIONID=D${i % state.sessions}.n2` });
          if (r.json<{ instance: string }>().instance !== 'n2') state.errors.push(`sticky request went to ${r.text}`);
        }
        await get(url('/app/a'));
      } catch (e) {
        state.errors.push((e as Error).message);
      }
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  return {
    state,
    async stop() {
      state.running = false;
      await loop;
    },
  };
}

async function openPage(viewport: { width: number; height: number }): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ viewport, httpCredentials: { username: USER, password: PASSWORD } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    // The first change is answered 401 before the browser sends the credentials: not a page error.
    if (m.type() === 'error' && !/401/.test(m.text())) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url('/jkstatus'));
  for (const m of ['n1', 'n2', 'n3']) await page.locator(`tr[data-member="${m}"]`).waitFor({ timeout: 10_000 });
  return { page, errors };
}

/** The description a screen reader gets for a chart (its <desc>). */
function chartDesc(page: Page, member: string | null): Promise<string> {
  const svg = member === null ? 'section.lb .lb-chart svg' : `tr[data-member="${member}"] svg.chart`;
  return page.locator(`${svg} > desc`).textContent({ timeout: 5000 }).then((t) => t ?? '');
}

/** requests/s now and peak, as the chart's description says them. */
function requestRates(desc: string): { now: number; peak: number } | null {
  const m = /requests\/s now ([\d.]+), peak ([\d.]+)/.exec(desc);
  return m ? { now: Number(m[1]), peak: Number(m[2]) } : null;
}

async function waitFor(page: Page, what: string, ok: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !(await ok()); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await page.waitForTimeout(200);
  }
}

const field = (page: Page, member: string, name: string) => page.locator(`tr[data-member="${member}"] [data-field="${name}"]`).textContent().then((t) => t ?? '');

/** How far the page scrolls sideways, and which controls, charts or list items reach past its right edge. */
function overflowOf(page: Page): Promise<{ scroll: number; wide: string[] }> {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const wide = Array.from(document.querySelectorAll('button, input, svg, a, .drain-bar, li'))
      .filter((el) => el.getBoundingClientRect().right > width + 0.5)
      .map((el) => `${el.tagName.toLowerCase()} ${el.getAttribute('aria-label') ?? el.textContent?.trim().slice(0, 30)}`);
    return { scroll: document.documentElement.scrollWidth - width, wide };
  });
}


describe.skipIf(!haveChromium)('status page history in Chromium', () => {
  it('charts a drain as it happens: traffic falls, pinned sessions fall to zero, the member stops itself, the audit names who', async () => {
    mkdirSync(SHOTS, { recursive: true });
    const traffic = startTraffic();
    const { page, errors } = await openPage({ width: 1280, height: 1000 });
    try {
      // The traffic shows in n2's chart and in the lb's.
      await waitFor(page, 'n2 traffic in its chart', async () => (requestRates(await chartDesc(page, 'n2'))?.now ?? 0) > 0);
      await waitFor(page, 'the traffic in the lb chart', async () => (requestRates(await chartDesc(page, null))?.now ?? 0) > 0);
      await waitFor(page, 'four pinned sessions', async () => (await field(page, 'n2', 'sessions_seen')) === '4');

      // Drain n2 from the page, as the operator.
      await page.getByRole('button', { name: 'Disable n2', exact: true }).click();
      await expect.poll(() => page.locator('#feedback').textContent(), { timeout: 10_000 }).toBe('Disable n2: done — Action finished');
      const recent = page.getByRole('list', { name: 'Recent changes' }).locator('li');
      await expect.poll(() => recent.first().textContent(), { timeout: 5000 }).toMatch(new RegExp(`\\[status user ${USER} from 127\\.0\\.0\\.1\\] lb/n2 activation: ACT → DIS$`));

      // Its sessions keep coming for a while: the indicator shows them pinned, the policy's countdown runs.
      const bar = page.locator('tr[data-member="n2"] [role="progressbar"]');
      await bar.waitFor({ state: 'visible', timeout: 5000 });
      expect(await bar.getAttribute('aria-label')).toBe('Drain of n2');
      expect(await bar.getAttribute('aria-valuetext')).toMatch(/^4 of 4 sessions still pinned$/);
      await expect.poll(() => field(page, 'n2', 'drain'), { timeout: 5000 }).toMatch(/^stops in \d+ s \(idle\)$/);
      // Then its users leave one by one.
      await page.waitForTimeout(1000);
      for (let left = 3; left >= 0; left--) {
        traffic.state.sessions = left;
        await page.waitForTimeout(1200);
      }
      const lastSticky = traffic.state.lastStickyAt;
      await waitFor(page, 'sessions falling', async () => ['1', '2', '3'].includes(await field(page, 'n2', 'sessions_seen')), (DRAIN_WINDOW_SEC + 3) * 1000);
      await page.screenshot({ path: `${SHOTS}/status-desktop-draining.png`, fullPage: true });

      // The pinned sessions leave the drain window: the indicator falls to zero.
      await waitFor(page, 'no session left', async () => (await field(page, 'n2', 'sessions_seen')) === '0', (DRAIN_WINDOW_SEC + 5) * 1000);
      await expect.poll(() => bar.getAttribute('aria-valuenow'), { timeout: 5000 }).toBe('100');
      expect(await bar.getAttribute('aria-valuetext')).toMatch(/^0 of 4 sessions still pinned$/);
      expect(await field(page, 'n2', 'eta')).toBe('empty');

      // drain_idle_time after its last sticky request, the drain policy stops n2; the audit says so.
      await expect.poll(() => field(page, 'n2', 'activation'), { timeout: (DRAIN_IDLE_SEC + 5) * 1000 }).toBe('STP');
      await expect.poll(() => recent.first().textContent(), { timeout: 5000 }).toMatch(/\[drain\] lb\/n2 activation: DIS → STP$/);
      const audit = JSON.parse((await product.get('/jkstatus?cmd=list&mime=json')).body).audit as { time: number; source: string; new: string }[];
      const stopped = audit.find((e) => e.source === 'drain' && e.new === 'STP')!;
      expect(stopped.time - lastSticky).toBeGreaterThanOrEqual(DRAIN_IDLE_SEC * 1000);
      expect(stopped.time - lastSticky).toBeLessThan((DRAIN_IDLE_SEC + 5) * 1000);
      expect(await field(page, 'n2', 'drain')).toBe('stopped');

      // n2's chart: traffic came and is gone, both changes are marked on its time axis.
      await waitFor(page, 'n2 chart at zero', async () => requestRates(await chartDesc(page, 'n2'))?.now === 0);
      const n2 = requestRates(await chartDesc(page, 'n2'))!;
      expect(n2.peak).toBeGreaterThan(0);
      const marks = await page.locator('tr[data-member="n2"] svg.chart .ev-activation > title').allTextContents();
      expect(marks.map((t) => t.replace(/^.*?(?=activation)/, ''))).toEqual(['activation ACT → DIS', 'activation DIS → STP']);
      expect(await chartDesc(page, 'n2')).toMatch(/2 state changes: .*activation ACT → DIS; .*activation DIS → STP\.$/);
      // The lb chart marks them with the member's name; new sessions still flow through the lb.
      expect(await page.locator('section.lb .lb-chart svg .ev-activation > title').allTextContents()).toEqual([
        expect.stringMatching(/ n2 activation ACT → DIS$/),
        expect.stringMatching(/ n2 activation DIS → STP$/),
      ]);
      await waitFor(page, 'new sessions in the lb chart', async () => (requestRates(await chartDesc(page, null))?.now ?? 0) > 0);
      expect(await page.locator('section.lb .lb-chart svg').getAttribute('role')).toBe('img');

      // Latency on demand, from the keyboard.
      const toggle = page.getByRole('button', { name: 'Show latency' });
      await toggle.focus();
      await page.keyboard.press('Enter');
      expect(await toggle.getAttribute('aria-pressed')).toBe('true');
      expect(await page.locator('tr[data-member="n1"] svg.chart > title').textContent()).toMatch(/^n1: latency, last /);
      expect(await chartDesc(page, 'n1')).toMatch(/^p50 latency now [\d.]+ m?s, peak [\d.]+ m?s; p95 latency now /);
      await page.screenshot({ path: `${SHOTS}/status-desktop-latency.png`, fullPage: true });
      await page.keyboard.press('Space');
      expect(await toggle.getAttribute('aria-pressed')).toBe('false');
      expect(await chartDesc(page, 'n1')).toMatch(/^requests\/s now /);

      expect(await overflowOf(page)).toEqual({ scroll: 0, wide: [] });
      await page.screenshot({ path: `${SHOTS}/status-desktop.png`, fullPage: true });
      expect(await axeViolations(page)).toEqual([]);
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.screenshot({ path: `${SHOTS}/status-desktop-dark.png`, fullPage: true });
      expect(await axeViolations(page)).toEqual([]);

      // A phone: every member a card, nothing wider than the screen, the actions wrapped inside it.
      await page.emulateMedia({ colorScheme: 'light' });
      await page.setViewportSize({ width: 375, height: 812 });
      // The charts are redrawn for the new width once the resizing settles.
      await page.waitForTimeout(500);
      expect(await overflowOf(page)).toEqual({ scroll: 0, wide: [] });
      await page.screenshot({ path: `${SHOTS}/status-phone.png`, fullPage: true });
      expect(await axeViolations(page)).toEqual([]);
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.screenshot({ path: `${SHOTS}/status-phone-dark.png`, fullPage: true });
      expect(await axeViolations(page)).toEqual([]);
      expect(errors).toEqual([]);
      expect(traffic.state.errors).toEqual([]);
    } finally {
      await traffic.stop();
      await page.context().close();
    }
  }, 60_000);
});
