/**
 * The status page in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core) against a real `bridge up --http` with the fake interpreter, and
 * in-process brokers with their page (a token for the sign-in, a restart for the banner).
 * Every test fails on any console error or uncaught page error.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BrokerClient, type Message } from '../../src/client/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { StatusPage } from '../../bridge/status-page/status-page.js';
import { startCli, waitOutput, type StartedCli } from '../helpers/cli.js';
import { stopCli } from '../helpers/platform.js';
import { freePort } from '../helpers/ports.js';
import { useStatusPage } from '../helpers/status-page-bed.js';
import { useTestBed } from '../helpers/test-bed.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const FAKE_AHK = path.join(ROOT, 'fixtures/fake-ahk/AutoHotkey.mjs');
const script = (name: string): string => path.join(ROOT, 'fixtures/scripts', name);

// A developer without chromium skips; CI must have it (.ci/run installs it), so there a
// missing browser fails at launch instead of passing unseen.
const noBrowser = !existsSync(CHROMIUM) && !process.env.CI;

/** expect.poll with room for a push that comes once a second (its default gives up after 1 s). */
const poll = <T>(read: () => Promise<T> | T): ReturnType<typeof expect.poll<T>> => expect.poll(read, { timeout: 10_000 });

/** A page whose console errors and uncaught exceptions are collected for the test to check. */
interface WatchedPage {
  page: Page;
  errors: string[];
}

describe.skipIf(noBrowser)('the status page in Chromium', () => {
  let browser: Browser;
  let up: StartedCli;
  let base: string;
  let brokerPort: number;
  let dir: string | undefined;
  const contexts: BrowserContext[] = [];
  const clients: BrokerClient[] = [];

  beforeAll(async () => {
    brokerPort = await freePort();
    const httpPort = await freePort();
    dir = mkdtempSync(path.join(tmpdir(), 'status-page-'));
    const config = path.join(dir, 'bridge.config.json');
    writeFileSync(
      config,
      JSON.stringify({
        broker: { host: '127.0.0.1', port: brokerPort },
        interpreter: FAKE_AHK,
        scripts: [
          // stdout and stderr lines, then stays up: the output panel.
          { key: 'chatty', path: script('chatty.ahk') },
          // one line in terminal colours: shown without the codes.
          { key: 'colours', path: script('colours.ahk') },
          // stays up and answers commands: the one the stop test stops and starts again.
          { key: 'echo', path: script('echo.ahk') },
          // publishes every 200 ms: the rate chart, recent topics and live messages.
          { key: 'tick', path: script('ticker.ahk') },
          // exits 3 at once, is restarted once and then given up: a red row.
          { key: 'crash', path: script('crash.ahk'), restart: { mode: 'on-failure', max_restarts: 1, initial_delay: 0.1 } },
        ],
      }),
    );
    up = startCli(['up', '--config', config, '--http', String(httpPort)]);
    base = `http://127.0.0.1:${httpPort}`;
    // The summary table comes once every script has started; crash may still be running
    // then, and the tests wait for its row to turn failed on the page.
    await waitOutput(up.child, up.stdout, (s) => /^crash\s/m.test(s), 15_000);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (up && up.child.exitCode === null) await stopCli(up, 'SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.disconnect()));
    await Promise.all(contexts.splice(0).map((c) => c.close()));
  });

  /** A fresh context (no cookies) and a page on `url`, at laptop size unless told. */
  async function open(url: string, viewport = { width: 1366, height: 768 }): Promise<WatchedPage> {
    const context = await browser.newContext({ viewport });
    contexts.push(context);
    const page = await context.newPage();
    // Below vitest's 20 s per test, so a timeout names the element it waited for.
    page.setDefaultTimeout(15_000);
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    await page.goto(url);
    return { page, errors };
  }

  async function client(id: string, type = 'python'): Promise<BrokerClient> {
    const c = new BrokerClient(id, { host: '127.0.0.1', port: brokerPort, clientType: type, autoReconnect: false });
    clients.push(c);
    await c.connect();
    return c;
  }

  /** The page once its live stream has filled the tables. */
  async function loaded(w: WatchedPage): Promise<void> {
    await w.page.locator('#scripts tr[data-key="tick"] .badge.running').waitFor();
    await w.page.locator('#clients tr[data-key="bridge"]').waitFor();
    await w.page.locator('#topics tr[data-key="scripts.tick.tick"]').waitFor();
  }

  it('loads with no console errors, fills its tables and header from the live stream, and fits a 1366x768 screen', async () => {
    const w = await open(`${base}/`);
    await loaded(w);
    const { page } = w;
    await poll(() => page.locator('#c-version').textContent()).toMatch(/^\d+\.\d+\.\d+/);
    expect(await page.locator('#scripts tbody tr').evaluateAll((rows) => rows.map((r) => (r as unknown as { dataset: { key: string } }).dataset.key))).toEqual([
      'chatty',
      'colours',
      'crash',
      'echo',
      'tick',
    ]);
    await page.locator('#scripts tr[data-key="crash"] .badge.failed').waitFor();
    await poll(() => page.locator('#scripts tr[data-key="crash"] td.restarts.hot').textContent()).toBe('1');
    expect(await page.locator('#scripts tr[data-key="crash"] td.exit').textContent()).toBe('crash (exit 3)');
    expect(await page.locator('#scripts tr[data-key="crash"] .op-stop').isDisabled()).toBe(true);
    // Uptime is shown with the row (it ticks on the page: see the banner test).
    expect(await page.locator('#scripts tr[data-key="tick"] td.uptime').textContent()).toMatch(/^(\d+m )?\d+s$/);
    // The chart drew the history and the per-second points.
    await poll(() => page.locator('#rate-chart polyline.messages').getAttribute('points')).toMatch(/^[\d.]+,[\d.]+ /);
    expect(await page.evaluate<boolean>('document.scrollingElement.scrollWidth <= innerWidth')).toBe(true);
    expect(w.errors).toEqual([]);
  });

  it('shows a client that connects in the clients table, and dims it once it leaves', async () => {
    const w = await open(`${base}/`);
    await loaded(w);
    const row = w.page.locator('#clients tr[data-key="page_viewer_test"]');
    expect(await row.count()).toBe(0);
    const c = await client('page_viewer_test', 'python');
    await c.subscribe(['jobs.*', 'system.#'], () => undefined);
    await row.locator('.dot.on').waitFor();
    expect(await row.locator('td.type').textContent()).toBe('python');
    expect(await row.locator('td.address').textContent()).toMatch(/^127\.0\.0\.1:\d+$/);
    await poll(() => row.locator('summary').textContent()).toBe('2');
    expect(await row.locator('details li').allTextContents()).toEqual(['jobs.*', 'system.#']);
    await c.disconnect();
    await w.page.locator('#clients tr.offline[data-key="page_viewer_test"]').waitFor();
    expect(await row.locator('td.address').textContent()).toBe('–');
    expect(w.errors).toEqual([]);
  });

  it('shows a published message under its topic filter, as text, and not one outside it', async () => {
    const w = await open(`${base}/`);
    await loaded(w);
    const { page } = w;
    expect(await page.locator('#filter').getAttribute('placeholder')).toBe('jobs.#');
    await page.locator('#filter').fill('page.test.#');
    await page.locator('#filter').press('Enter');
    await poll(() => page.locator('#filter-state').textContent()).toMatch(/^Watching page\.test\.#/);
    const c = await client('page_publisher');
    await c.publish('other.topic', { no: true });
    await c.publish('page.test.hello', { text: '<b id="injected">hi</b>', n: 1 });
    const row = page.locator('#messages tbody tr').first();
    await row.waitFor();
    expect(await row.locator('td.topic').textContent()).toBe('page.test.hello');
    expect(await row.locator('td.sender').textContent()).toBe('page_publisher');
    expect(await row.locator('td.payload').textContent()).toBe('{"text":"<b id=\\"injected\\">hi</b>","n":1}');
    expect(await page.locator('#injected').count()).toBe(0);
    // other.topic was published first: had it passed the filter, it would be a row too.
    expect(await page.locator('#messages tbody tr').count()).toBe(1);
    expect(w.errors).toEqual([]);
  });

  it('pressing stop turns the script row to stopped and publishes scripts.<key>.stopped; start brings it back', async () => {
    const w = await open(`${base}/`);
    await loaded(w);
    const { page } = w;
    const watcher = await client('stop_watcher');
    let onStopped: (m: Message) => void = () => undefined;
    const stopped = new Promise<Message>((resolve) => (onStopped = resolve));
    await watcher.subscribe('scripts.echo.stopped', (m) => onStopped(m));
    const row = page.locator('#scripts tr[data-key="echo"]');
    await row.locator('.badge.running').waitFor();
    await row.locator('.op-stop').click();
    await row.locator('.badge.stopped').waitFor();
    expect((await stopped).topic).toBe('scripts.echo.stopped');
    await poll(() => page.locator('#script-result').textContent()).toMatch(/^stopped echo/);
    // Polled: a periodic push queried before the stop may still arrive just after it.
    await poll(() => row.locator('td.pid').textContent()).toBe('–');
    await poll(() => row.locator('.op-stop').isDisabled()).toBe(true);

    await row.locator('.op-start').click();
    await row.locator('.badge.running').waitFor();
    await poll(() => row.locator('td.pid').textContent()).toMatch(/^\d+$/);
    expect(w.errors).toEqual([]);
  });

  it('shows what other programs wrote without letting it act on the page: no terminal colours, controls and bidi overrides written out', async () => {
    const w = await open(`${base}/`);
    await loaded(w);
    const { page } = w;
    await page.locator('#scripts tr[data-key="colours"]').click();
    await poll(() => page.locator('#output li.stdout').allTextContents()).toEqual([expect.stringMatching(/\dred alert done$/)]);
    // A client id with a right-to-left override would show the rest of its row reversed
    // ("spoof" then "exe.pdf" read backwards); a payload's C1 control and override too.
    const id = 'spoof\u202efdp.exe';
    const c = await client(id);
    await c.publish('spoof.topic', { name: 'a\u202eb\u0085c' });
    const row = page.locator('#clients tbody tr', { hasText: 'spoof' });
    await poll(() => row.locator('.name').textContent()).toBe('spoof\\u202efdp.exe');
    const topic = page.locator('#topics tr[data-key="spoof.topic"]');
    await poll(() => topic.locator('td.sender').textContent()).toBe('spoof\\u202efdp.exe');
    expect(await topic.locator('td.payload').textContent()).toBe('{"name":"a\\u202eb\\u0085c"}');
    expect(w.errors).toEqual([]);
  });

  it('shows a script’s recent output with stderr marked, and saves light and dark screenshots', async () => {
    const w = await open(`${base}/`);
    await loaded(w);
    const { page } = w;
    await page.locator('#scripts tr[data-key="chatty"]').click();
    await page.locator('#output li.stderr').waitFor();
    expect(await page.locator('#output-key').textContent()).toBe('chatty');
    expect(await page.locator('#output li.stdout').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/first line$/), expect.stringMatching(/second line$/)]));
    expect(await page.locator('#output li.stderr').textContent()).toMatch(/stderr\s*a warning$/);
    // Recent topics: a click watches that topic.
    await page.locator('#topics tr[data-key="scripts.tick.tick"] button.link').click();
    expect(await page.locator('#filter').inputValue()).toBe('scripts.tick.tick');
    await page.locator('#messages tbody tr:nth-child(3)').waitFor();
    await page.locator('#scripts tr[data-key="crash"] .badge.failed').waitFor();
    expect(await page.evaluate<boolean>('document.scrollingElement.scrollWidth <= innerWidth')).toBe(true);

    mkdirSync(ARTIFACTS, { recursive: true });
    const background = (): Promise<string> => page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
    const light = await background();
    await page.screenshot({ path: path.join(ARTIFACTS, 'status-page.png'), fullPage: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await background()).not.toBe(light);
    await page.screenshot({ path: path.join(ARTIFACTS, 'status-page-dark.png'), fullPage: true });
    expect(w.errors).toEqual([]);
  });

  describe('on an in-process broker', () => {
    const bed = useTestBed();
    const statusPage = useStatusPage(bed);
    const extraPages: StatusPage[] = [];
    afterEach(async () => {
      await Promise.all(extraPages.splice(0).map((p) => p.stop()));
    });

    it('shows the "disconnected, retrying" banner while the live stream is down (times still ticking) and hides it when it is back', async () => {
      const { broker, page: first, base: pageBase } = await statusPage();
      const w = await open(`${pageBase}/`);
      const banner = w.page.locator('#banner');
      await poll(() => w.page.locator('#c-version').textContent()).toMatch(/^\d+\.\d+\.\d+/);
      expect(await banner.isHidden()).toBe(true);
      expect(await banner.getAttribute('aria-live')).toBe('polite');
      await first.stop();
      await banner.waitFor({ state: 'visible' });
      expect(await banner.textContent()).toMatch(/disconnected.*retrying/i);
      // Nothing is pushed now, yet relative times keep ticking on the page.
      const uptime = w.page.locator('#c-uptime');
      const frozen = await uptime.textContent();
      expect(frozen).toMatch(/^(\d+m )?\d+s$/);
      await poll(() => uptime.textContent()).not.toBe(frozen);
      // The same address again, as after a restart of the broker's process.
      const again = new StatusPage({ broker: broker.broker, setting: { host: null, port: first.port }, log: silentLogger() });
      await again.start();
      extraPages.push(again);
      await banner.waitFor({ state: 'hidden' });
      // Only the failed reconnects while the server was away may be logged.
      expect(w.errors.filter((e) => !/net::ERR_/.test(e))).toEqual([]);
    });

    it('with a token: sends the page to the sign-in form, refuses a wrong token and shows the page for the right one', async () => {
      const { base: tokenBase } = await statusPage({ token: 'right-token' });
      const w = await open(`${tokenBase}/`);
      const { page } = w;
      expect(new URL(page.url()).pathname).toBe('/login');
      await page.locator('#token').fill('wrong-token');
      await page.locator('button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === '/login' && u.searchParams.has('failed'));
      // No session was given: the API, asked with this browser's cookies, still refuses.
      expect((await page.request.get(`${tokenBase}/api/broker`)).status()).toBe(401);
      expect(await page.locator('#token').isVisible()).toBe(true);
      await page.locator('#token').fill('right-token');
      await page.locator('button[type="submit"]').click();
      await page.waitForURL((u) => u.pathname === '/');
      await poll(() => page.locator('#c-version').textContent()).toMatch(/^\d+\.\d+\.\d+/);
      expect(w.errors).toEqual([]);
    });

    it('with a token: signs in once from ?token= and drops the token from the address', async () => {
      const { base: tokenBase } = await statusPage({ token: 'right-token' });
      const w = await open(`${tokenBase}/?token=right-token`);
      expect(w.page.url()).toBe(`${tokenBase}/`);
      await poll(() => w.page.locator('#c-version').textContent()).toMatch(/^\d+\.\d+\.\d+/);
      expect(w.errors).toEqual([]);
    });
  });
});
