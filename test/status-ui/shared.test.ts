/// <reference lib="dom" />
/**
 * The status page of an instance sharing its admin state through a real redis-server
 * (--state-redis), in real Chromium: the page says where the state lives, shows the link going
 * down and the refusal of a change made meanwhile, and the link coming back.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launch, type Running } from '../../src/app/start.js';
import { createLogger } from '../../src/proxy/log.js';
import { httpFarm } from '../helpers/balancer.js';
import { axeViolations } from '../helpers/axe.js';
import { startFakeTomcat, type FakeTomcat } from '../helpers/fake-tomcat.js';
import { redisTestsEnabled, startRedis, type RedisServer } from '../helpers/redis.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing: the status page browser test cannot run (CI requires it)`);
  console.warn(`skipping the shared state page test: ${CHROMIUM} is not installed`);
}
const run = haveChromium && redisTestsEnabled();

let redis: RedisServer;
let backends: FakeTomcat[] = [];
let running: Running;
let browser: Browser;
let dir: string;

beforeAll(async () => {
  if (!run) return;
  redis = await startRedis();
  for (const r of ['n1', 'n2']) backends.push(await startFakeTomcat(r));
  dir = mkdtempSync(join(tmpdir(), 'jkb-shared-page-'));
  writeFileSync(join(dir, 'workers.properties'), httpFarm({ n1: backends[0].port, n2: backends[1].port }, 'worker.list=jkstatus\nworker.jkstatus.type=status\n'));
  writeFileSync(join(dir, 'uriworkermap.properties'), '/app/*=lb\n/jkstatus=jkstatus\n/jkstatus/*=jkstatus\n');
  running = await launch(
    {
      workersFile: join(dir, 'workers.properties'),
      mountsFile: join(dir, 'uriworkermap.properties'),
      listenHost: '127.0.0.1',
      listenPort: 0,
      logLevel: 'silent',
      lenient: false,
      stateFile: null,
      shutdownTimeoutMs: 1000,
      stateRedis: redis.url,
    },
    createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })),
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
});

afterAll(async () => {
  await browser?.close();
  await running?.stop();
  for (const b of backends) await b.close();
  await redis?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});


const sharedText = (page: Page, re: RegExp, timeout = 10_000) =>
  page.waitForFunction((src) => new RegExp(src).test(document.getElementById('shared-state')?.textContent ?? ''), re.source, { timeout });

describe.runIf(run)('status page with --state-redis', () => {
  it('shows the Redis link, its loss with the refusal of a change, and its return', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${running.address.port}/jkstatus`);
    await page.locator('tr[data-member="n1"]').waitFor({ timeout: 10_000 });
    await sharedText(page, new RegExp(`^Shared state: redis://127\\.0\\.0\\.1:${redis.port}/0 connected$`));

    await redis.kill();
    try {
      // The page polls every 2 s: it shows the loss on its own.
      await sharedText(page, /^Shared state: \S+ DOWN since .+ \(.*ECONNREFUSED.*\) — serving the last known state, changes refused$/);
      expect(await page.locator('#shared-state').evaluate((el) => el.classList.contains('shared-down'))).toBe(true);
      await page.getByRole('button', { name: 'Disable n1', exact: true }).click();
      await page.waitForFunction(() => /^Disable n1: .*Change refused, applied on no instance: Redis .* unreachable/.test(document.getElementById('feedback')?.textContent ?? ''));
      expect(await page.locator('tr[data-member="n1"] [data-field="activation"]').textContent()).toBe('ACT');
      expect(await axeViolations(page)).toEqual([]);
    } finally {
      await redis.restart();
    }
    await sharedText(page, / connected$/);
    expect(await page.locator('#shared-state').evaluate((el) => el.classList.contains('shared-down'))).toBe(false);
    await page.getByRole('button', { name: 'Disable n1', exact: true }).click();
    await page.waitForFunction(() => document.querySelector('tr[data-member="n1"] [data-field="activation"]')?.textContent === 'DIS');
    expect(errors).toEqual([]);
    await page.close();
  });
});
