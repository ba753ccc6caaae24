// The public statistics page (/thong-ke/), which the function's pass writes into the
// site (the site bucket on AWS; the site's folder under `generator serve`): a dossier
// sent through the site's form is counted; the page reads with JavaScript off, has no
// accessibility violation (axe-core) and no HTML error (vnu); the home page links to it
// without JavaScript; the console's printable report is valid HTML too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, newPage, runAxe, onlineProcedures, answers, fillForm, attachmentsFor, addOfficer, vnuErrors, BASE } from '../lib.js';

// The production-shaped stack runs the schedule's worker as AWS does: its first pass
// writes the page before the stack is ready, but a new dossier shows only after the
// index's upkeep (10 minutes) and the page's write gap (5 minutes), longer than a test
// waits. There the page is checked as written (axe, vnu, under CloudFront's headers);
// the figures that move, under `generator serve`, which writes every few seconds.
const skip = process.env.E2E_S3_ENDPOINT ? 'figures move only every 5 to 10 minutes on the production-shaped stack' : false;
const LOGIN = 'canbo-thongke';
const PASSWORD = 'mat-khau-thong-ke-du-dai-123';
let browser;

before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** The figures the page was last written with, once they count `atLeast` dossiers. */
async function figuresCounting(atLeast) {
  // The local server writes the page every few seconds (MOTCUA_STATS_INTERVAL); this
  // waits for the pass that has seen the dossier, not for a duration.
  for (let i = 0; i < 120; i++) {
    const r = await fetch(`${BASE}/thong-ke/so-lieu.json`, { cache: 'no-store' });
    if (r.ok) {
      const j = await r.json();
      if (j.total.received >= atLeast) return j;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`/thong-ke/so-lieu.json never counted ${atLeast} dossier(s)`);
}

/** How many dossiers the embedded store holds (E2E_DATA/s3/{bucket}/dossiers/yyyy/mm/code/dossier.json). */
function storedDossiers() {
  const s3 = path.join(process.env.E2E_DATA, 's3');
  let n = 0;
  for (const bucket of readdirSync(s3)) {
    const root = path.join(s3, bucket, 'dossiers');
    if (!existsSync(root)) continue;
    for (const y of readdirSync(root)) {
      for (const m of readdirSync(path.join(root, y))) {
        for (const code of readdirSync(path.join(root, y, m))) {
          if (existsSync(path.join(root, y, m, code, 'dossier.json'))) n++;
        }
      }
    }
  }
  return n;
}

test('a dossier sent through the site is counted on the statistics page', { skip }, async () => {
  const before = await figuresCounting(0);
  const [p] = await onlineProcedures();
  const page = await newPage(browser);
  await page.goto(BASE + p.formPath);
  await fillForm(page, p.schema, answers(p.schema), await attachmentsFor(page, p.schema));
  await page.click('#dossier-form button[type=submit]');
  await page.locator('#receipt').waitFor({ state: 'visible', timeout: 90_000 });
  const code = (await page.locator('#receipt .receipt-code strong').textContent()).trim();
  await page.context().close();

  // Earlier test files' dossiers may reach the page in the same pass as this one: the
  // page is waited for until it counts every dossier the store holds, ours included,
  // and then must count exactly those.
  const stored = storedDossiers();
  const after = await figuresCounting(stored);
  assert.equal(after.total.received, stored, 'every dossier in the store, no more');
  assert.ok(after.total.received_online > before.total.received_online);
  assert.ok(after.procedures.some((r) => r.key === p.code && r.received >= 1), 'the procedure has its line');
  // Figures only: no dossier code, no name or phone the citizen typed.
  const published = JSON.stringify(after) + await (await fetch(`${BASE}/thong-ke/`)).text()
    + await (await fetch(`${BASE}/thong-ke/so-lieu.csv`)).text();
  assert.ok(!published.includes(code), 'the dossier code is not published');
  // What e2e/lib.js answers() types (run.sh looks for the same in the functions' logs).
  assert.doesNotMatch(published, /064090012345|064195012345|0912 ?345 ?678|hoa\.nguyen@example\.com/);
});

test('the statistics page reads without JavaScript', { skip }, async () => {
  const page = await newPage(browser, { javaScriptEnabled: false });
  const r = await page.goto(`${BASE}/thong-ke/`);
  assert.equal(r.status(), 200);
  assert.equal(await page.locator('h1').textContent(), 'Thống kê giải quyết hồ sơ');
  const received = await page.locator('[data-figure="received"]').textContent();
  assert.match(received, /^[1-9]\d* \(\d+ trực tuyến, \d+ tại quầy\)$/);
  assert.match(await page.locator('[data-figure="on-time"]').textContent(), /(\d+%|\d+\/\d+|–) \(/);
  assert.ok(await page.locator('svg.chart').isVisible(), 'the chart is drawn without a script');
  assert.equal(await page.locator('table.figures').count(), 2);
  assert.match(await page.locator('main').textContent(), /Hồ sơ giấy nộp trực tiếp tại quầy/);
  assert.match(await page.locator('#cach-tinh + p').textContent(), /đúng hạn/);
  assert.equal(await page.locator('[style]').count(), 0, 'no style attribute (the CSP)');
  await page.context().close();

  // The home page's block: a link and the summary image, no script needed.
  const home = await newPage(browser, { javaScriptEnabled: false });
  await home.goto(`${BASE}/`);
  const img = home.locator('.service-figures img');
  assert.ok(await img.evaluate((i) => i.complete && i.naturalWidth > 0), 'the summary image loads');
  await home.click('.service-figures a[href="/thong-ke/"]');
  await home.waitForURL(`${BASE}/thong-ke/`);
  await home.context().close();
});

test('axe-core and vnu find nothing on the statistics page and the printed report', async () => {
  const page = await newPage(browser);
  await page.goto(`${BASE}/thong-ke/`);
  const v = await runAxe(page);
  assert.deepEqual(v, [], 'axe on /thong-ke/:\n' + v.join('\n'));
  await page.context().close();

  addOfficer({ login: LOGIN, name: 'Nguyễn Văn Báo Cáo', password: PASSWORD });
  const login = await fetch(`${BASE}/api/admin/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ login: LOGIN, password: PASSWORD }),
  });
  assert.equal(login.status, 200);
  const cookie = login.headers.get('set-cookie').split(';')[0];
  const report = await fetch(`${BASE}/api/admin/reports/print`, { headers: { cookie } });
  assert.equal(report.status, 200);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'motcua-vnu-stats-'));
  const files = [];
  for (const [name, body] of [['thong-ke', await (await fetch(`${BASE}/thong-ke/`)).text()], ['bao-cao', await report.text()]]) {
    const file = path.join(dir, `${name}.html`);
    writeFileSync(file, body);
    files.push(file);
  }
  const errors = await vnuErrors(files, dir);
  assert.deepEqual(errors, [], errors.join('\n'));
});
