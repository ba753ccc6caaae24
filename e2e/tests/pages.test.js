// Every page type: no accessibility violations (axe-core), mobile screenshots, search.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launch, newPage, runAxe, onlineProcedures, getJson, BASE, MOBILE, ARTIFACTS, SITE_DIR, walkHtml } from '../lib.js';

let browser, procedures;
before(async () => {
  browser = await launch();
  procedures = await onlineProcedures();
});
after(async () => { await browser?.close(); });

function firstLink(dir) {
  // A news item or a free page, from the generated site.
  const files = walkHtml(path.join(SITE_DIR, dir)).filter((f) => path.dirname(f) !== path.join(SITE_DIR, dir));
  return files.length ? '/' + path.relative(SITE_DIR, path.dirname(files[0])).split(path.sep).join('/') + '/' : null;
}

async function pageTypes() {
  const p = procedures[0];
  const cat = await getJson('/api/procedures.json');
  const any = cat.procedures[0];
  return [
    ['home', '/'],
    ['procedure', new URL(any.url, BASE).pathname],
    ['form', p.formPath],
    ['print', p.pagePath + 'mau-in/'],
    ['news-list', '/tin-tuc/'],
    ['news-item', firstLink('tin-tuc')],
    ['page', firstLink('trang')],
    ['contact', '/lien-he/'],
    ['tracking', '/tra-cuu/'],
    ['search', '/tim-kiem/?q=khai%20sinh'],
    ['404', '/khong-co-trang-nay/'],
  ];
}

test('axe-core finds no violations on any page type', async (t) => {
  const problems = [];
  for (const [name, url] of await pageTypes()) {
    if (!url) { t.diagnostic(`${name}: no such page in this content, skipped`); continue; }
    for (const viewport of [MOBILE, { width: 1280, height: 900 }]) {
      const page = await newPage(browser, { viewport });
      await page.goto(BASE + url);
      await page.waitForLoadState('load');
      await page.waitForTimeout(300);
      // Before axe runs: its own evaluation is not the page's doing. Under the
      // production-shaped stack a CSP violation shows here as a console error.
      const errors = page.scriptErrors.filter((e) => !/the server responded with a status of 404/.test(e) || !/404/.test(name));
      if (errors.length) problems.push(`${name} ${url} at ${viewport.width}px: script errors or CSP violations:\n  ${errors.join('\n  ')}`);
      const v = await runAxe(page);
      if (v.length) problems.push(`${name} ${url} at ${viewport.width}px:\n  ${v.join('\n  ')}`);
      await page.context().close();
    }
  }
  assert.deepEqual(problems, [], problems.join('\n'));
});

test('axe-core: the form with errors shown', async () => {
  const p = procedures[0];
  const page = await newPage(browser, { viewport: MOBILE });
  await page.goto(BASE + p.formPath);
  await page.click('#dossier-form button[type=submit]');
  await page.locator('#error-summary').waitFor();
  const v = await runAxe(page);
  assert.deepEqual(v, [], v.join('\n'));
  await page.screenshot({ path: path.join(ARTIFACTS, 'form-errors-mobile.png'), fullPage: true });
  await page.context().close();
});

test('mobile screenshots of home, a procedure and the form', async () => {
  const page = await newPage(browser, { viewport: MOBILE });
  const p = procedures[0];
  for (const [name, url] of [['home', '/'], ['procedure', p.pagePath], ['form-empty', p.formPath], ['tracking', '/tra-cuu/']]) {
    await page.goto(BASE + url);
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}-mobile.png`), fullPage: true });
    // Nothing wider than the phone.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${name}: the page scrolls sideways by ${overflow}px on a 360px phone`);
  }
  assert.deepEqual(page.scriptErrors, []);
  await page.context().close();
});

test('search finds procedures without diacritics', async () => {
  const page = await newPage(browser);
  await page.goto(BASE + '/tim-kiem/?q=dang%20ky%20khai%20sinh');
  const link = page.locator('#search-results a[href="/thu-tuc/dang-ky-khai-sinh/"]');
  await link.waitFor();
  assert.match(await page.locator('#search-status').textContent(), /Tìm thấy \d+ thủ tục/);
  assert.equal(await page.getAttribute('#search-status', 'aria-live'), 'polite');
  await page.fill('#q', 'ĐĂNG KÝ KẾT');
  await page.locator('#search-results a[href="/thu-tuc/dang-ky-ket-hon/"]').waitFor();
  await page.fill('#q', 'xyzxyz');
  await page.getByText('Không tìm thấy thủ tục nào').waitFor();
  // Live results on the home page.
  await page.goto(BASE + '/');
  await page.fill('#q', 'khai tu');
  await page.locator('#search-results a[href="/thu-tuc/dang-ky-khai-tu/"]').waitFor();
  assert.deepEqual(page.scriptErrors, []);
  await page.context().close();
});
