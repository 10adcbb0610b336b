/**
 * netmgrd's status page (issue 19) in a real browser: Debian's chromium, headless, driven by puppeteer-core (which
 * never downloads a browser), as root, on a userspace learning bridge with three hosts in namespaces. The page
 * lists every bridge and port of the units; its SVG has a cluster per namespace and an edge per veth; a port's
 * link set down shows as down within one update, without a reload; every request the page makes goes to netmgrd.
 * A screenshot is kept in test/integration/.out/ (STATUS_PAGE_SCREENSHOT=FILE writes one elsewhere too).
 */
import * as fs from 'fs';
import * as path from 'path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { startStatusSwitch, type StatusSwitch } from '../helpers/status-switch';
import { haveTool, isRoot, sh } from '../helpers/sys';

const CHROMIUM = '/usr/bin/chromium';
const OUT = path.join(__dirname, '.out');
const it = isRoot() && haveTool(CHROMIUM, ['--version'], 'chromium') ? test : test.skip;
jest.setTimeout(120_000);

let sw: StatusSwitch;
let browser: Browser | undefined;
let page: Page;
const requests: string[] = [];

beforeAll(async () => {
  if (!isRoot() || !fs.existsSync(CHROMIUM)) return;
  sw = await startStatusSwitch('status-page');
  // As root chromium needs --no-sandbox; the page is netmgrd's own, on loopback.
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  page.on('request', (r) => requests.push(r.url()));
  const r = await page.goto(sw.url, { waitUntil: 'load' });
  expect(r?.status()).toBe(200);
});

afterAll(async () => {
  await browser?.close();
  await sw?.close();
});

/** Waits until an update that began after now has completed; returns how long it took. */
async function nextUpdate(): Promise<number> {
  const t0 = Date.now();
  const started = Number(await page.$eval('body', (b) => b.dataset.updatesStarted ?? '0'));
  await page.waitForFunction(`Number(document.body.dataset.updates ?? 0) >= ${started + 1}`, { timeout: 10_000 });
  return Date.now() - t0;
}

const rowClass = (port: string) =>
  page.$eval(`tr[data-port="${port}"]`, (tr) => `${tr.className} ${tr.querySelector('td.link')?.textContent ?? ''}`);

it('lists every bridge and port of the units', async () => {
  const bridges = await page.$$eval('section.bridge', (s) => s.map((x) => x.getAttribute('data-bridge')));
  expect(bridges).toEqual([sw.bridge]);
  const ports = await page.$$eval(`section.bridge tr[data-port]`, (r) => r.map((x) => x.getAttribute('data-port')));
  expect(ports.sort()).toEqual([sw.bridge, ...sw.ports].sort());
  expect(await page.$eval('#last-apply', (p) => p.textContent)).toMatch(/^applied at /);
});

it('the topology SVG has a cluster per namespace and an edge per veth', async () => {
  const clusters = await page.$$eval('#topology svg g.cluster > title', (t) => t.map((x) => x.textContent));
  for (const ns of sw.namespaces) expect(clusters).toContain(`cluster_ns:${ns}`);
  const edges = await page.$$eval('#topology svg g.edge', (g) =>
    g.map((x) => ({ title: x.querySelector('title')?.textContent ?? '', label: x.querySelector('text')?.textContent })),
  );
  for (let i = 0; i < sw.ports.length; i++) {
    const peer = `${sw.prefix}-e${i + 1}`;
    const veth = edges.filter((e) => e.label === 'veth' && e.title.includes(sw.ports[i]) && e.title.includes(peer));
    expect([sw.ports[i], veth.length]).toEqual([sw.ports[i], 1]);
  }
});

it("a port's link set down is shown as down within one update, without a reload", async () => {
  const port = sw.ports[2];
  expect(await rowClass(port)).toBe('link-up up');
  const navigations: string[] = [];
  page.on('framenavigated', (f) => navigations.push(f.url()));
  sh('ip', ['link', 'set', port, 'down']);
  try {
    await nextUpdate();
    expect(await rowClass(port)).toBe('link-down down');
    // The drawing says it too: dot labels a link that is down.
    const labels = await page.$$eval('#topology svg g.node text', (t) => t.map((x) => x.textContent));
    expect(labels).toContain('veth, down');
    fs.mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: path.join(OUT, 'status-page.png'), fullPage: true });
    if (process.env.STATUS_PAGE_SCREENSHOT) await page.screenshot({ path: process.env.STATUS_PAGE_SCREENSHOT });
  } finally {
    sh('ip', ['link', 'set', port, 'up']);
  }
  await nextUpdate();
  expect(await rowClass(port)).toBe('link-up up');
  expect(navigations).toEqual([]);
});

it('every request the page made went to netmgrd', () => {
  const origin = sw.url.replace(/\/$/, '');
  expect(requests.length).toBeGreaterThan(4);
  expect(requests.filter((u) => !u.startsWith(`${origin}/`))).toEqual([]);
  expect(requests).toEqual(
    expect.arrayContaining([`${origin}/`, `${origin}/page.js`, `${origin}/page.css`, `${origin}/panel`]),
  );
});
