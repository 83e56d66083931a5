/**
 * The web dashboard (issue 18) in real Chromium (Debian's `chromium`, driven by playwright-core; no browser
 * download) against the built CLI's daemon on the real test dockerd: the token prompt, a service applied from the
 * CLI turning ready on the open Runs page, its logs streaming on the Run page, the Fleets and Offers pages, the
 * project picker switching to a second project by URL, a stop from the page that `dstack ps` agrees with, and a
 * restart of the stopped run from the page that `dstack ps --json` shows running again. Screenshots of each page at 1280x800 go to .tmp/screens/.
 * Needs root, `scripts/test-hosts.sh up 1`, `npm run build` and `apt-get install -y chromium`.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, newCli, requireDocker, uniqueName, type Cli } from './cli-harness.js';

const CHROMIUM = process.env.DSTACK_TEST_CHROMIUM ?? '/usr/bin/chromium';
const SCREENS = resolve(import.meta.dirname, '../../.tmp/screens');
// Without the background-networking flags Chromium keeps trying to reach Google's services (no internet here).
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT = { timeout: 150_000 };

const RUN = uniqueName('e2e-dash');
const TEAM = uniqueName('team').toLowerCase().replace(/[^a-z0-9_-]/g, '-');
// A tick a second on stdout, so the Run page has output that arrives while it is open.
const tickingService = (name: string) => `type: service
name: ${name}
image: dstack-test/node:latest
env:
  - PORT=8000
commands:
  - (i=0; while true; do i=$((i+1)); echo "dash-tick $i"; sleep 1; done) &
  - node /srv/http-echo.mjs
port: 8000
replicas: 1
auth: false
`;

let cli: Cli;
let browser: Browser;
let page: Page;
let base = '';

const shot = (name: string) => page.screenshot({ path: join(SCREENS, `dashboard-${name}.png`) });
const ticks = (text: string) => [...text.matchAll(/dash-tick (\d+)/g)].map((m) => Number(m[1]));

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: run \`apt-get install -y chromium\` (scripts/install-test-deps.sh installs it)`);
  }
  await requireDocker();
  cli = await newCli();
  // Any command starts the daemon for this home; `ps` also proves the CLI and the daemon agree before the browser.
  const ps = await cli.run(['ps']);
  expect(ps.exitCode, ps.stderr).toBe(0);
  base = `http://127.0.0.1:${cli.port}`;
  await mkdir(SCREENS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await cli?.cleanup([RUN]);
});

describe('the web dashboard', () => {
  it('refuses a wrong token with a message that says where the right one is', async () => {
    const res = await page.goto(`${base}/`);
    expect(res?.headers()['content-security-policy']).toContain("default-src 'self'");
    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/not accepted.*config\.yml/);
    await shot('login');
  });

  it('logs in with the token and shows a service applied from the CLI becoming ready without a reload', async () => {
    await page.getByLabel('Admin token').fill(await cli.token());
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Runs' }).waitFor();
    // The token is kept for this tab, never put in the URL.
    expect(page.url()).not.toContain(await cli.token());

    const file = await cli.write('dash.dstack.yml', tickingService(RUN));
    const applied = await cli.run(['apply', '-f', file, '-y', '-d']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    const row = page.locator(`tr[data-run="${RUN}"]`);
    await row.waitFor(WAIT);
    await row.locator('.replicas', { hasText: '1/1' }).waitFor(WAIT);
    expect(await row.locator('.badge').textContent()).toBe('running');
    expect(await row.locator('a.url').textContent()).toBe(`${base}/proxy/services/main/${RUN}/`);
    await shot('runs');
  });

  it('streams the run’s logs on its page, bookmarkable by its URL', async () => {
    await page.getByRole('link', { name: RUN, exact: true }).click();
    await page.getByRole('heading', { name: RUN }).waitFor();
    expect(new URL(page.url()).hash).toBe(`#/runs/${RUN}`);
    const logs = page.getByRole('log');
    await logs.filter({ hasText: 'dash-tick' }).waitFor(WAIT);
    const first = Math.max(...ticks((await logs.textContent()) ?? ''));
    // A line printed after the page had its first output: the stream is live, not a one-off read.
    await eventually('a later log line on the page', async () => (Math.max(...ticks((await logs.textContent()) ?? '')) > first ? true : undefined));
    expect(await page.locator('tr[data-replica="0"] .ready').textContent()).toBe('yes');
    expect(await page.locator('.events').textContent()).toContain('run submitted');
    await shot('run');
  });

  it('shows what runs where on the Fleets page and the machine on the Offers page', async () => {
    await page.getByRole('link', { name: 'Fleets' }).click();
    await page.getByRole('heading', { name: 'Fleets' }).waitFor();
    await page.getByRole('link', { name: `${RUN}/0` }).waitFor(WAIT);
    await shot('fleets');

    await page.getByRole('link', { name: 'Offers' }).click();
    await page.locator('tbody tr', { hasText: 'local' }).first().waitFor(WAIT);
    await shot('offers');
  });

  it('switches every page to a second project with the picker, and the project is part of the bookmarkable URL', async () => {
    const created = await cli.run(['project', 'create', TEAM]);
    expect(created.exitCode, created.stderr).toBe(0);
    // A project made since the page loaded shows once the page is loaded again (or at the picker's next poll).
    await page.goto(`${base}/#/runs`);
    await page.reload();
    const picker = page.getByLabel('Project');
    await picker.locator('option', { hasText: new RegExp(`^${TEAM}$`) }).waitFor({ state: 'attached', ...WAIT });
    await page.locator(`tr[data-run="${RUN}"]`).waitFor(WAIT);

    await picker.selectOption(TEAM);
    await page.getByText('No runs yet.').waitFor(WAIT);
    expect(new URL(page.url()).hash).toBe(`#/projects/${TEAM}/runs`);
    expect(await page.locator(`tr[data-run="${RUN}"]`).count()).toBe(0);
    await shot('project-picker');
    // The navigation stays in the project, and the picker follows a bookmarked URL.
    await page.getByRole('link', { name: 'Fleets' }).click();
    expect(new URL(page.url()).hash).toBe(`#/projects/${TEAM}/fleets`);
    await page.goto(`${base}/#/projects/main/runs`);
    await page.reload();
    await page.locator(`tr[data-run="${RUN}"]`).waitFor(WAIT);
    expect(await picker.inputValue()).toBe('main');
    await picker.selectOption(TEAM);
    await page.getByText('No runs yet.').waitFor(WAIT);
    await picker.selectOption('main');
    await page.locator(`tr[data-run="${RUN}"]`).waitFor(WAIT);
    expect(new URL(page.url()).hash).toBe('#/projects/main/runs');
  }, 300_000);

  it('stops the run from its page after a confirmation, and `dstack ps` agrees', async () => {
    await page.goto(`${base}/#/runs/${RUN}`);
    await page.getByRole('button', { name: `Stop ${RUN}` }).click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await shot('stop-confirm');
    // Cancel first: nothing is stopped without the confirmation.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect((await cli.ps()).find((r) => r.name === RUN)?.status).toBe('running');

    await page.getByRole('button', { name: `Stop ${RUN}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Stop run' }).click();
    await page.locator('#run-title + .badge', { hasText: /terminated|done/ }).waitFor(WAIT);
    const run = await eventually('dstack ps to show the run stopped', async () => {
      const r = (await cli.ps()).find((x) => x.name === RUN);
      return r && (r.status === 'terminated' || r.status === 'done') ? r : undefined;
    });
    expect(run.status).toMatch(/terminated|done/);
  });

  it('restarts the stopped run from its page after a confirmation: it becomes ready again and `dstack ps --json` shows it', async () => {
    const stopped = (await cli.ps()).find((r) => r.name === RUN)!;
    await page.getByRole('button', { name: `Restart ${RUN}` }).focus();
    // From the keyboard: Enter opens the dialog, whose Cancel has the focus; Tab then reaches the confirm button.
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain('submitted again');
    await shot('restart-confirm');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.locator('#run-title + .badge', { hasText: 'running' }).waitFor(WAIT);
    await page.locator('tr[data-replica="0"] .ready', { hasText: 'yes' }).waitFor(WAIT);
    // The page followed the new submission's own event stream: the change from the stopped run is an event.
    expect(await page.locator('.events').textContent()).toMatch(/run (terminated|done) → \w+/);
    const run = await eventually('dstack ps --json to show the run running again', async () => {
      const r = (await cli.ps()).find((x) => x.name === RUN);
      return r && r.status === 'running' && r.replicas.some((x) => x.ready) ? r : undefined;
    });
    expect(run.submittedAt).toBeGreaterThan(stopped.submittedAt);
    await shot('run-restarted');
  });

  it('restarts the running run from the Runs page: its replica is replaced by a fresh one that becomes ready', async () => {
    const before = (await cli.ps()).find((r) => r.name === RUN)!;
    await page.getByRole('link', { name: 'Runs' }).click();
    await page.getByRole('button', { name: `Restart ${RUN}` }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain('one at a time');
    await dialog.getByRole('button', { name: 'Restart run' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const run = await eventually('dstack ps --json to show the new deployment ready', async () => {
      const r = (await cli.ps()).find((x) => x.name === RUN);
      const fresh = r?.replicas.filter((x) => x.deployment === before.deployment + 1 && x.status === 'running' && x.ready);
      return r && r.status === 'running' && fresh && fresh.length > 0 ? r : undefined;
    });
    expect(run.submittedAt).toBe(before.submittedAt);
    await page.locator(`tr[data-run="${RUN}"] .replicas`, { hasText: '1/1' }).waitFor(WAIT);
  });
});
