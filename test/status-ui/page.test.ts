/// <reference lib="dom" />
/**
 * The status page in real Chromium against a real BalancerApp (fake-Tomcat backends, the status
 * worker mounted, metrics observer feeding drain progress): live refresh, a drain started from the
 * page, new sessions avoiding the drained member, the drain counter falling to zero, refusals shown,
 * no console errors, axe (WCAG 2 A/AA) clean in light and dark, and a logical focus order.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Act } from '../../src/routing/types.js';
import { startProduct, type TestBalancer } from '../helpers/balancer.js';
import { axeViolations } from '../helpers/axe.js';
import { startFakeTomcat, type FakeTomcat } from '../helpers/fake-tomcat.js';
import { get } from '../helpers/http-client.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: the status page browser test cannot run (CI requires it)`);
  console.warn(`skipping the status page browser test: ${CHROMIUM} is not installed`);
}
/** Long enough that a poll (every 2 s) sees sessions before they leave the window, short enough to watch them leave. */
const DRAIN_WINDOW_SEC = 4;

let backends: FakeTomcat[] = [];
let lb: TestBalancer;
let browser: Browser;

function workers(): string {
  const lines = ['worker.list=lb,jkstatus,jkro', 'worker.lb.type=lb', 'worker.lb.balance_workers=n1,n2,n3', `worker.lb.drain_window=${DRAIN_WINDOW_SEC}`];
  for (const t of backends) lines.push(`worker.${t.route}.type=http`, `worker.${t.route}.host=127.0.0.1`, `worker.${t.route}.port=${t.port}`);
  // n3 is health-checked (README "Health checks"): the page shows its last result.
  lines.push('worker.n3.health_check_method=GET', 'worker.n3.health_check_uri=/health', 'worker.n3.health_check_interval=500');
  lines.push('worker.n2.drain_idle_time=300', 'worker.jkstatus.type=status', 'worker.jkro.type=status', 'worker.jkro.read_only=true');
  return lines.join('\n') + '\n';
}

beforeAll(async () => {
  if (!haveChromium) return;
  for (const r of ['n1', 'n2', 'n3']) backends.push(await startFakeTomcat(r));
  // The page as `jkbalancer start` assembles it: status worker, page, drain extras, metrics.
  lb = await startProduct(workers(), '/app/*=lb\n/jkstatus=jkstatus\n/jkro=jkro\n');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

afterAll(async () => {
  await browser?.close();
  await lb?.close();
  for (const b of backends) await b.close();
});

/** A page that records console errors and uncaught exceptions. */
async function openPage(path: string, viewport = { width: 1440, height: 900 }): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(lb.url(path));
  for (const m of ['n1', 'n2', 'n3']) await page.locator(`tr[data-member="${m}"]`).waitFor({ timeout: 10_000 });
  return { page, errors };
}

const cell = (page: Page, member: string, field: string) => page.locator(`tr[data-member="${member}"] [data-field="${field}"]`);

async function waitForCell(page: Page, member: string, field: string, text: string, timeout = 10_000): Promise<void> {
  await page.waitForFunction(
    ([m, f, t]) => document.querySelector(`tr[data-member="${m}"] [data-field="${f}"]`)?.textContent === t,
    [member, field, text] as const,
    { timeout },
  );
}


describe.skipIf(!haveChromium)('status page in Chromium', () => {
  it('shows every member, drains one from the page and watches its sessions run out', async () => {
    const { page, errors } = await openPage('/jkstatus');
    await expect(page.locator('h2').first().textContent()).resolves.toBe('Load balancer lb');
    for (const m of ['n1', 'n2', 'n3']) {
      expect(await cell(page, m, 'name').textContent()).toBe(m);
      expect(await cell(page, m, 'activation').textContent()).toBe('ACT');
    }
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    // The health check column: n3's checks pass, the others have none.
    await waitForCell(page, 'n3', 'health', 'pass');
    expect(await cell(page, 'n3', 'health_detail').textContent()).toMatch(/^[\d.]+ ms, \d+ s ago$/);
    expect(await cell(page, 'n1', 'health').textContent()).toBe('–');

    // Three sessions stuck to n2: the page's drain counter shows them.
    for (let i = 1; i <= 3; i++) {
      const r = await get(lb.url('/app/a'), { cookie: `JSESSIONID=D${i}.n2` });
      expect(r.json<{ instance: string }>().instance).toBe('n2');
    }
    await waitForCell(page, 'n2', 'sessions_seen', '3');
    expect(await cell(page, 'n2', 'last_sticky').textContent()).toMatch(/^\d+ s ago$/);

    await page.getByRole('button', { name: 'Disable n2', exact: true }).click();
    await waitForCell(page, 'n2', 'activation', 'DIS');
    await expect(page.locator('#feedback').textContent()).resolves.toBe('Disable n2: done — Action finished');
    expect(lb.app.farm.balancers.get('lb')!.memberByName('n2')!.activation).toBe(Act.DISABLED);
    // The change shows under "Recent changes", from the page's loopback client.
    const recent = page.getByRole('list', { name: 'Recent changes' });
    await expect(recent.locator('li').first().textContent({ timeout: 5000 })).resolves.toMatch(/\[status from 127\.0\.0\.1\] lb\/n2 activation: ACT → DIS$/);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    // n2 has drain_idle_time=300: the page counts down to its stop.
    await page.waitForFunction(() => /^stops in \d+ min \d+ s \(idle\)$/.test(document.querySelector('tr[data-member="n2"] [data-field="drain"]')?.textContent ?? ''));

    // New sessions avoid the drained member.
    for (let i = 0; i < 6; i++) {
      const r = await get(lb.url('/app/a'));
      expect(r.json<{ instance: string }>().instance).not.toBe('n2');
    }
    // No more traffic for n2's sessions: its counter falls to 0 once they leave the window.
    await waitForCell(page, 'n2', 'sessions_seen', '0', (DRAIN_WINDOW_SEC + 6) * 1000);
    expect(Number(await cell(page, 'n1', 'sessions_seen').textContent()) + Number(await cell(page, 'n3', 'sessions_seen').textContent())).toBe(0);

    mkdirSync('test-results/screenshots', { recursive: true });
    await page.screenshot({ path: 'test-results/screenshots/status-page.png', fullPage: true });
    expect(await axeViolations(page)).toEqual([]);
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.screenshot({ path: 'test-results/screenshots/status-page-dark.png', fullPage: true });
    expect(await axeViolations(page)).toEqual([]);
    expect(errors).toEqual([]);

    // Put n2 back for the other test.
    await page.getByRole('button', { name: 'Activate n2', exact: true }).click();
    await waitForCell(page, 'n2', 'activation', 'ACT');
    await page.close();
  });

  it('moves focus in a logical order, edits lbfactor, and shows a refusal', async () => {
    const { page, errors } = await openPage('/jkstatus');
    const names: string[] = [];
    for (let i = 0; i < 16; i++) {
      await page.keyboard.press('Tab');
      names.push(
        await page.evaluate(() => {
          const el = document.activeElement as HTMLElement & { labels?: NodeListOf<HTMLLabelElement> };
          return el.getAttribute('aria-label') ?? el.labels?.[0]?.textContent?.trim() ?? el.textContent?.trim() ?? '';
        }),
      );
    }
    expect(names).toEqual([
      'Classic page', 'JSON', 'XML', 'Text', 'History', 'Show latency',
      'Reset counters of lb',
      'Activate n1', 'Disable n1', 'Stop n1', 'Reset n1', 'Factor', 'Distance', 'Save factor and distance of n1',
      'Activate n2', 'Disable n2',
    ]);

    // Edit n3's lbfactor from the keyboard-reachable form.
    const form = page.locator('tr[data-member="n3"] form');
    await form.getByLabel('Factor', { exact: true }).fill('3');
    await form.getByRole('button', { name: 'Save factor and distance of n3' }).click();
    await waitForCell(page, 'n3', 'lbfactor', '3');
    expect(lb.app.farm.balancers.get('lb')!.memberByName('n3')!.lbfactor).toBe(3);
    await form.getByLabel('Factor', { exact: true }).fill('0');
    await form.getByRole('button', { name: 'Save factor and distance of n3' }).click();
    await expect(page.locator('#feedback').textContent()).resolves.toBe('n3: the factor must be a whole number of at least 1.');
    await page.close();

    // A read-only status worker: the page shows the API's refusal and nothing changes.
    const ro = await openPage('/jkro');
    await ro.page.getByRole('button', { name: 'Stop n1', exact: true }).click();
    await ro.page.waitForFunction(() => document.querySelector('#feedback')?.textContent !== '');
    expect(await ro.page.locator('#feedback').textContent()).toBe('Stop n1: refused — This command is not allowed in read only mode.');
    expect(await ro.page.locator('#feedback').getAttribute('class')).toContain('error');
    expect(await cell(ro.page, 'n1', 'activation').textContent()).toBe('ACT');
    expect(lb.app.farm.balancers.get('lb')!.memberByName('n1')!.activation).toBe(Act.ACTIVE);

    // On a phone the members become cards; still no console errors.
    await ro.page.setViewportSize({ width: 390, height: 844 });
    expect(await ro.page.locator('tr[data-member="n1"]').evaluate((tr) => getComputedStyle(tr).display)).toBe('block');
    await ro.page.screenshot({ path: 'test-results/screenshots/status-page-phone.png', fullPage: true });
    expect(await axeViolations(ro.page)).toEqual([]);
    expect([...errors, ...ro.errors]).toEqual([]);
    await ro.page.close();
  });

  it('keeps keyboard focus and a half-typed value across refreshes', async () => {
    const { page, errors } = await openPage('/jkstatus');
    const updated = () => page.locator('#updated').textContent();
    // A new "updated" stamp (to the second; a poll every 2 s) means a whole refresh ran since: the
    // page sets it and re-places every row in one task.
    const refreshed = async () => {
      const was = await updated();
      await page.waitForFunction((t) => document.getElementById('updated')?.textContent !== t, was, { timeout: 10_000 });
    };
    // A button in a member row, and one in the balancer's heading.
    for (const name of ['Disable n2', 'Reset counters of lb']) {
      await page.getByRole('button', { name, exact: true }).focus();
      await refreshed();
      expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.tagName)).toBe(name);
    }
    // Typing in a row's form: the field keeps the focus and the text; Tab goes on from it.
    const factor = page.locator('tr[data-member="n1"] form').getByLabel('Factor', { exact: true });
    await factor.fill('7');
    await refreshed();
    await expect(factor.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    await expect(factor.inputValue()).resolves.toBe('7');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement & { labels?: NodeListOf<HTMLLabelElement> }).labels?.[0]?.textContent?.trim())).toBe('Distance');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('follows balancers that reloads add and remove, each section labelled by its own heading', async () => {
    const { page, errors } = await openPage('/jkstatus');
    /** The running configuration plus one-member balancers with these names. */
    const reloadWith = async (extra: string[]) => {
      const lines = [workers().replace('worker.list=lb,jkstatus,jkro', ['worker.list=lb,jkstatus,jkro', ...extra].join(','))];
      for (const name of extra) {
        lines.push(`worker.${name}.type=lb`, `worker.${name}.balance_workers=${name}m`);
        lines.push(`worker.${name}m.type=http`, `worker.${name}m.host=127.0.0.1`, `worker.${name}m.port=${backends[0].port}`);
      }
      writeFileSync(lb.workersFile, lines.join('\n') + '\n');
      expect(lb.app.reload().ok).toBe(true);
      const headings = ['lb', ...extra].map((n) => `Load balancer ${n}`);
      await page.waitForFunction((want) => Array.from(document.querySelectorAll('section.lb h2'), (h) => h.textContent).join('|') === want, headings.join('|'));
    };
    try {
      await reloadWith(['xa', 'xb']);
      await reloadWith(['xb']);
      await reloadWith(['xb', 'xc']);
      const labels = await page.evaluate(() =>
        Array.from(document.querySelectorAll('section.lb'), (s) => document.getElementById(s.getAttribute('aria-labelledby') ?? '')?.textContent),
      );
      expect(labels).toEqual(['Load balancer lb', 'Load balancer xb', 'Load balancer xc']);
    } finally {
      writeFileSync(lb.workersFile, workers());
      lb.app.reload();
    }
    expect(errors).toEqual([]);
    await page.close();
  });
});
