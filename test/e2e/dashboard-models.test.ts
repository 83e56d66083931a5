/**
 * The web dashboard's plots and models (issue 18) in real Chromium against the built CLI's daemon on the real test
 * dockerd: a service's Run page plots while a load loop runs against its proxy URL (the RPS series read from the
 * uPlot instance rises) and each running replica's CPU and memory are plotted, a `model:` service (the test image's
 * OpenAI server) listed on the Models page with its endpoint and snippets, chatted with in the playground, the answer
 * streamed, and a slow model's answer stopped mid-stream with Stop (the model server sees its client go). Screenshots at 1280x800 go to
 * .tmp/screens/. Needs root, `scripts/test-hosts.sh up 1`, `npm run build` and `apt-get install -y chromium`.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, newCli, requireDocker, uniqueName, type Cli } from './cli-harness.js';

const CHROMIUM = process.env.DSTACK_TEST_CHROMIUM ?? '/usr/bin/chromium';
const SCREENS = resolve(import.meta.dirname, '../../.tmp/screens');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT = { timeout: 150_000 };

const SVC = uniqueName('e2e-dash-plot');
const LLM = uniqueName('e2e-dash-llm');
const MODEL = `test/${LLM}`;
const SLOW = uniqueName('e2e-dash-slow');
const SLOW_MODEL = `test/${SLOW}`;

// A model that streams a token every 250 ms when asked to answer slowly (600 of them: minutes, so Stop always comes
// first), and says on stdout when its client went before the end. It runs from the uploaded folder (/workflow).
const slowServer = `import http from 'node:http';
const model = process.env.MODEL;
const json = (res, v) => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify(v)); };
const chunk = (content) => 'data: ' + JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 0, model, choices: [{ index: 0, delta: { content }, finish_reason: null }] }) + '\\n\\n';
http.createServer((req, res) => {
  const path = new URL(req.url, 'http://x').pathname.replace(/^\\/v1(?=\\/)/, '');
  if (req.method === 'GET' && path === '/models') return json(res, { object: 'list', data: [{ id: model, object: 'model', created: 0, owned_by: 'test' }] });
  if (req.method === 'GET') return json(res, { status: 'ok' });
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const prompt = String(JSON.parse(body || '{}').messages?.at(-1)?.content ?? '');
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    if (!prompt.includes('slowly')) return res.end(chunk('echo: ' + prompt) + 'data: [DONE]\\n\\n');
    let n = 0;
    const timer = setInterval(() => {
      n++;
      res.write(chunk(' tok' + n));
      if (n === 600) { clearInterval(timer); res.end('data: [DONE]\\n\\n'); }
    }, 250);
    res.on('close', () => {
      clearInterval(timer);
      if (n < 600) console.log('slow stream closed by the client after ' + n + ' tokens');
    });
  });
}).listen(Number(process.env.PORT));
`;

const slowService = `type: service
name: ${SLOW}
image: dstack-test/node:latest
env:
  - PORT=8000
  - MODEL=${SLOW_MODEL}
commands:
  - node slow-model.mjs
port: 8000
model: ${SLOW_MODEL}
`;

const echoService = `type: service
name: ${SVC}
image: dstack-test/node:latest
env:
  - PORT=8000
commands:
  - node /srv/http-echo.mjs
port: 8000
auth: false
`;

const modelService = `type: service
name: ${LLM}
image: dstack-test/node:latest
env:
  - PORT=8000
  - MODEL=${MODEL}
commands:
  - node /srv/openai-server.mjs
port: 8000
model: ${MODEL}
`;

let cli: Cli;
let browser: Browser;
let page: Page;
let base = '';

const shot = (name: string) => page.screenshot({ path: join(SCREENS, `dashboard-${name}.png`) });

/** The values of one line of a chart, read from its uPlot instance (`.uplot` on the chart's element). */
const series = (chart: string, index = 1) =>
  page.evaluate(
    ([c, i]) => {
      // This runs in the page; the tests' types have no DOM.
      const doc = (globalThis as unknown as { document: { querySelector(s: string): { uplot?: { data: number[][] } } | null } }).document;
      const el = doc.querySelector(`[data-chart="${c}"] [role="img"]`);
      return el?.uplot?.data[i as number] ?? [];
    },
    [chart, index] as const,
  );

/** The lines of a per-replica chart: each one's legend label and values (null where the replica had none). */
const replicaLines = (chart: string) =>
  page.evaluate((c) => {
    type Plot = { data: (number | null)[][]; series: { label?: string }[] };
    const doc = (globalThis as unknown as { document: { querySelector(s: string): { uplot?: Plot } | null } }).document;
    const u = doc.querySelector(`[data-chart="${c}"] [role="img"]`)?.uplot;
    return u ? u.series.slice(1).map((s, i) => ({ label: s.label ?? '', values: u.data[i + 1] ?? [] })) : [];
  }, chart);

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: run \`apt-get install -y chromium\``);
  await requireDocker();
  cli = await newCli();
  await cli.write('slow-model.mjs', slowServer);
  for (const [file, yaml] of [['svc.dstack.yml', echoService], ['llm.dstack.yml', modelService], ['slow.dstack.yml', slowService]] as const) {
    const applied = await cli.run(['apply', '-f', await cli.write(file, yaml), '-y', '-d']);
    expect(applied.exitCode, applied.stderr).toBe(0);
  }
  base = `http://127.0.0.1:${cli.port}`;
  await eventually(
    'both services ready',
    async () => {
      const runs = await cli.ps();
      return [SVC, LLM, SLOW].every((n) => runs.find((r) => r.name === n)?.replicas.some((x) => x.ready)) ? true : undefined;
    },
    150_000,
  );
  await mkdir(SCREENS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await page.goto(`${base}/`);
  await page.getByLabel('Admin token').fill(await cli.token());
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Runs' }).waitFor();
});

afterAll(async () => {
  await browser?.close();
  await cli?.cleanup([SVC, LLM, SLOW]);
});

describe('the dashboard’s plots and models', () => {
  it('plots a service’s request rate rising while a load loop runs, and its ready replicas', async () => {
    await page.goto(`${base}/#/runs/${SVC}`);
    await page.getByRole('heading', { name: 'Last hour' }).waitFor(WAIT);
    const before = await eventually('a first point on the RPS plot', async () => ((await series('rps')).length > 0 ? await series('rps') : undefined));
    const firstRps = before.at(-1)!;

    let loading = true;
    let answered = 0;
    const load = (async () => {
      while (loading) {
        const res = await fetch(`${base}/proxy/services/main/${SVC}/`);
        await res.arrayBuffer();
        if (res.ok) answered++;
      }
    })();
    try {
      const rps = await eventually('the RPS line to rise above its first point', async () => {
        const values = await series('rps');
        return values.length > before.length && values.at(-1)! > firstRps ? values : undefined;
      });
      expect(answered).toBeGreaterThan(0);
      expect(rps.at(-1)).toBeGreaterThan(0);
      // Latency points come from the same answers, and the one replica shows as ready against one desired.
      expect((await series('latency', 1)).at(-1)).toBeGreaterThan(0);
      expect((await series('replicas', 1)).at(-1)).toBe(1);
      expect((await series('replicas', 2)).at(-1)).toBe(1);
      expect(await page.locator('[data-chart="rps"] [role="img"]').getAttribute('aria-label')).toMatch(/^Requests per second: RPS \(30 s\) [\d.]+ req\/s$/);
      await page.getByRole('heading', { name: 'Last hour' }).scrollIntoViewIfNeeded();
      await shot('run-plots');
      // The canvases are drawn again in the dark theme's colours.
      await page.emulateMedia({ colorScheme: 'dark' });
      await shot('run-plots-dark');
      await page.emulateMedia({ colorScheme: 'light' });
    } finally {
      loading = false;
      await load;
    }
  });

  it('plots each running replica’s CPU and memory, a line per replica with at least one point each', async () => {
    await page.goto(`${base}/#/runs/${SVC}`);
    const running = (await cli.ps()).find((r) => r.name === SVC)!.replicas.filter((r) => r.status === 'running');
    expect(running.length).toBeGreaterThan(0);
    for (const chart of ['cpu', 'memory']) {
      const lines = await eventually(`a ${chart} point for every running replica`, async () => {
        const l = await replicaLines(chart);
        return l.length === running.length && l.every((x) => x.values.some((v) => typeof v === 'number')) ? l : undefined;
      });
      expect(lines.map((l) => l.label).sort()).toEqual(running.map((r) => `replica ${r.num}`).sort());
    }
    // A busy Node server uses memory: the plotted figure is the agent's, not a placeholder zero.
    const memory = await replicaLines('memory');
    expect(Math.max(...memory[0]!.values.filter((v): v is number => typeof v === 'number'))).toBeGreaterThan(0);
    await page.locator('[data-chart="cpu"]').scrollIntoViewIfNeeded();
    await shot('run-replica-plots');
  });

  it('lists the published model with its endpoint and snippets, and streams a playground answer', async () => {
    await page.getByRole('link', { name: 'Models', exact: true }).click();
    const row = page.locator(`tr[data-model="${MODEL}"]`);
    await row.waitFor(WAIT);
    expect(await row.locator('code.url').textContent()).toBe(`${base}/proxy/models/main/v1/`);
    await shot('models');

    await row.getByRole('link', { name: MODEL }).click();
    expect(decodeURIComponent(new URL(page.url()).hash)).toBe(`#/models/${MODEL}`);
    const snippets = await page.locator('.snippet pre').allTextContents();
    expect(snippets[0]).toContain(`base_url="${base}/proxy/models/main/v1/"`);
    expect(snippets[1]).toContain(`model: "${MODEL}"`);

    await page.getByLabel('Message').fill('hello from the dashboard');
    await page.getByRole('button', { name: 'Send' }).click();
    const answer = page.locator('.msg-assistant:not(.streaming)');
    await answer.waitFor(WAIT);
    expect(await answer.locator('.text').textContent()).toBe('echo: hello from the dashboard');
    expect(await page.locator('.msg-user .text').textContent()).toBe('hello from the dashboard');
    await shot('playground');
  });

  it('stops a streaming answer with Stop: the stream ends, the model server sees its client go, and the playground works again', async () => {
    await page.goto(`${base}/#/models/${SLOW_MODEL}`);
    await page.getByLabel('Message').fill('answer slowly please');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('.msg-assistant.streaming .text', { hasText: 'tok3' }).waitFor(WAIT);
    await page.getByRole('button', { name: 'Stop' }).click();
    const kept = page.locator('.msg-assistant:not(.streaming) .text');
    await kept.waitFor(WAIT);
    const text = (await kept.textContent()) ?? '';
    expect(text).toMatch(/tok3.*…\(stopped\)$/);
    expect(await page.locator('.msg-assistant.streaming').count()).toBe(0);
    await shot('playground-stopped');

    // The abort reached the model: the proxy closed the upstream stream, so no further tokens were even sent.
    const closed = await eventually('the model server to log its closed stream', async () => {
      const r = await cli.run(['logs', SLOW]);
      return /slow stream closed by the client after (\d+) tokens/.exec(r.stdout) ?? undefined;
    });
    const shown = [...text.matchAll(/tok(\d+)/g)].map((m) => Number(m[1]));
    expect(Math.max(...shown)).toBeLessThanOrEqual(Number(closed[1]));
    expect(Number(closed[1])).toBeLessThan(600);
    expect(await kept.textContent()).toBe(text);

    await page.getByLabel('Message').fill('hello after stop');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('.msg-assistant:not(.streaming) .text', { hasText: 'echo: hello after stop' }).waitFor(WAIT);
    expect(await page.locator('.msg-user .text').allTextContents()).toEqual(['answer slowly please', 'hello after stop']);
  });

  it('says so when a bookmarked model is not published', async () => {
    await page.goto(`${base}/#/models/${MODEL}-missing`);
    await page.getByText(`No published model is called ${MODEL}-missing.`).waitFor(WAIT);
  });
});
