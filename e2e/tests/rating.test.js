// The citizen's rating and the access log, end to end:
//
//   the desk opens a trích lục in the console, takes it through to the hand-over at the
//   desk; the citizen opens the tracking page, follows its "Đánh giá" link with
//   JavaScript disabled, answers the three questions and sees the thanks; the tracking
//   page (the function's, and the site's own with its script) then shows the rating and
//   that a "Cán bộ Trung tâm Phục vụ hành chính công xã" opened the dossier, never the officer's name; the
//   console shows the rating. The rating page is axe-clean and valid HTML.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { launch, newPage, runAxe, onlineProcedures, answers, fillForm, attachmentsFor, addOfficer, BASE, ARTIFACTS, vnuErrors, consoleAs, openDossier, takeStep } from '../lib.js';

const O = { login: 'canbo-danhgia-e2e', name: 'Đỗ Thị Mười Hai', password: 'mat-khau-can-bo-danh-gia-123' };
const WAIT = 15_000;
let browser, trichLuc, officer;

before(async () => {
  browser = await launch();
  trichLuc = (await onlineProcedures()).find((p) => p.code === '2.000635');
  addOfficer(O);
  officer = await consoleAs(browser, O);
});
after(async () => { await browser?.close(); });

async function submit() {
  const page = await newPage(browser);
  await page.goto(BASE + trichLuc.formPath);
  const values = answers(trichLuc.schema);
  values.nhan_ket_qua = 'tai_xa';
  await fillForm(page, trichLuc.schema, values, await attachmentsFor(page, trichLuc.schema));
  await page.click('#dossier-form button[type=submit]');
  await page.locator('#receipt').waitFor({ state: 'visible', timeout: 90_000 });
  const code = (await page.locator('#receipt .receipt-code strong').textContent()).trim();
  const link = new URL(await page.locator('#receipt .receipt-tracking a').getAttribute('href'));
  await page.context().close();
  return { code, track: BASE + link.pathname + link.search, token: link.searchParams.get('token') };
}

test('handed over at the desk, rated without JavaScript, and the officer\'s view listed by role', async () => {
  const d = await submit();
  await openDossier(officer, d.code);
  await takeStep(officer, 'receive');
  await takeStep(officer, 'result-ready');
  await takeStep(officer, 'hand-over');

  // The tracking page offers the rating; JavaScript off, as on a basic phone browser.
  const citizen = await newPage(browser, { javaScriptEnabled: false });
  await citizen.goto(d.track);
  const before = await citizen.locator('main').textContent();
  assert.match(before, /Cán bộ đã xem hồ sơ của Ông\/Bà/);
  assert.match(before, /Cán bộ Trung tâm Phục vụ hành chính công xã đã xem hồ sơ/);
  assert.doesNotMatch(before, new RegExp(O.name), 'never the officer\'s name');
  await citizen.getByRole('link', { name: 'Đánh giá', exact: true }).click();
  await citizen.getByRole('heading', { name: 'Đánh giá mức độ hài lòng' }).waitFor({ timeout: WAIT });
  const formUrl = citizen.url();

  // The form, checked by axe and vnu in a page that runs scripts (axe is one).
  const checker = await newPage(browser);
  await checker.goto(formUrl);
  const v = await runAxe(checker);
  assert.deepEqual(v, [], 'axe on the rating page:\n' + v.join('\n'));
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, 'rating.html');
  writeFileSync(file, await checker.content());
  const invalid = await vnuErrors([file], ARTIFACTS);
  assert.deepEqual(invalid, [], invalid.join('\n'));
  await checker.screenshot({ path: path.join(ARTIFACTS, 'rating.png'), fullPage: true });
  await checker.context().close();

  // Three questions, each a group named by its legend; a tap on the words answers it.
  const groups = citizen.getByRole('group');
  assert.equal(await groups.count(), 3);
  await citizen.getByRole('group', { name: /việc giải quyết hồ sơ/ }).getByText('Rất hài lòng', { exact: true }).click();
  await citizen.getByRole('group', { name: /thời gian giải quyết/ }).getByText('Hài lòng', { exact: true }).click();
  await citizen.getByRole('group', { name: /thái độ/ }).getByText('Rất hài lòng', { exact: true }).click();
  await citizen.getByLabel(/Góp ý thêm/).fill('Cán bộ hướng dẫn tận tình, trả đúng hẹn.');
  await citizen.getByRole('button', { name: 'Gửi đánh giá' }).click();
  await citizen.getByRole('heading', { name: 'Cảm ơn Ông/Bà đã đánh giá' }).waitFor({ timeout: WAIT });
  assert.match(await citizen.locator('main').textContent(), /đã được ghi nhận/);

  // Back on the tracking page: the rating, no more link; the same from the site's page.
  await citizen.getByRole('link', { name: 'Về trang tình trạng hồ sơ' }).click();
  const after = await citizen.locator('main').textContent();
  assert.match(after, /Đánh giá của Ông\/Bà/);
  assert.match(after, /Cán bộ hướng dẫn tận tình/);
  assert.equal(await citizen.getByRole('link', { name: 'Đánh giá', exact: true }).count(), 0);
  // Sent again (the back button, a second tap): a kind word, not an error.
  await citizen.goto(formUrl);
  assert.match(await citizen.locator('main').textContent(), /Ông\/Bà đã đánh giá hồ sơ này rồi, cảm ơn/);
  await citizen.context().close();

  const site = await newPage(browser);
  await site.goto(`${BASE}/tra-cuu/?code=${encodeURIComponent(d.code)}&token=${encodeURIComponent(d.token)}`);
  await site.locator('#track-title').waitFor({ timeout: WAIT });
  const shown = await site.locator('#track-result').textContent();
  assert.match(shown, /Cán bộ đã xem hồ sơ của Ông\/Bà/);
  assert.match(shown, /Cán bộ Trung tâm Phục vụ hành chính công xã đã xem hồ sơ/);
  assert.match(shown, /Đánh giá của Ông\/Bà/);
  assert.doesNotMatch(shown, new RegExp(O.name));
  assert.deepEqual(site.scriptErrors, []);
  await site.context().close();

  // The console shows the rating on the dossier (opened afresh: the old view goes).
  await officer.evaluate(() => { document.getElementById('cb-d-h').textContent = ''; });
  await openDossier(officer, d.code);
  const body = await officer.locator('#cb-d-body').textContent();
  assert.match(body, /Đánh giá của công dân/);
  assert.match(body, /Cán bộ hướng dẫn tận tình/);
});
