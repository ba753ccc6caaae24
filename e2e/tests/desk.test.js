// A paper dossier typed in at the desk: in the console the officer picks the procedure,
// fills the form the function renders for the desk and ticks the papers in hand. A paper
// not ticked is named beside its box and nothing is stored; once ticked, the dossier is
// received and taken in at once, opens in the console with its appointment, and its
// receipt (Mẫu 01) lists the paper as received at the desk.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, runAxe, onlineProcedures, answers, fillForm, addOfficer, BASE, consoleAs } from '../lib.js';

const O = { login: 'canbo-quay-e2e', name: 'Lê Thị Quầy', password: 'mat-khau-can-bo-quay-1' };
let browser, khaiSinh, officer;

before(async () => {
  browser = await launch();
  khaiSinh = (await onlineProcedures()).find((p) => p.code === '1.001193');
  addOfficer(O);
  officer = await consoleAs(browser, O);
});
after(async () => { await browser?.close(); });

test('a paper birth registration is typed in at the desk, its papers ticked', async () => {
  await officer.selectOption('#cb-desk-proc', '1.001193');
  await officer.click('#cb-desk-open button[type=submit]');
  const form = officer.locator('#desk-form');
  await form.waitFor();
  assert.equal(await form.locator('input[type=file]').count(), 0, 'no upload at the desk');
  const values = answers(khaiSinh.schema);
  await fillForm(officer, khaiSinh.schema, values, {});
  // Every paper in hand but the birth certificate (the answers make the conditional
  // papers asked for too).
  for (const f of khaiSinh.schema.form.sections.flatMap((s) => s.fields)) {
    if (f.type === 'file' && f.id !== 'giay_chung_sinh') await officer.check(`#f-${f.id}`);
  }
  const v = await runAxe(officer);
  assert.deepEqual(v, [], 'axe on the desk form:\n' + v.join('\n'));

  // The paper box is required: the browser stops the post; past it (a stale page, a
  // script), the function names the paper beside its box. Both are checked: the box's
  // `required` here, the function's answer by removing it.
  const paper = officer.locator('#f-giay_chung_sinh');
  assert.equal(await paper.getAttribute('required'), '');
  await paper.evaluate((el) => el.removeAttribute('required'));
  await officer.click('#desk-form button[type=submit]');
  await officer.locator('#error-summary').waitFor();
  assert.match(await officer.locator('#field-giay_chung_sinh').textContent(), /Chưa đánh dấu đã nhận bản giấy: Giấy chứng sinh/);
  const name = khaiSinh.schema.form.sections.flatMap((s) => s.fields).find((f) => f.type === 'text');
  assert.equal(await officer.inputValue(`#f-${name.id}`), values[name.id], 'the form comes back filled');

  await officer.check('#f-giay_chung_sinh');
  await officer.evaluate(() => { const m = document.getElementById('cb-msg'); m.textContent = ''; m.className = ''; });
  await officer.click('#desk-form button[type=submit]');
  const done = officer.locator('#cb-desk .notice');
  await officer.waitForFunction(() => document.querySelector('#cb-desk .notice') || document.getElementById('cb-msg').className.includes('error'), null, { timeout: 30_000 });
  assert.equal(await done.count(), 1, `the console said: ${await officer.locator('#cb-msg').textContent()}`);
  const said = await done.textContent();
  const code = said.match(/Đã tiếp nhận hồ sơ (\S+)/)[1];
  assert.match(said, /Hẹn trả kết quả/);

  // The console opens it: taken in by this officer, the next step is the result.
  await officer.waitForFunction((c) => document.getElementById('cb-d-h').textContent.includes(c), code);
  const body = await officer.locator('#cb-d-body').textContent();
  assert.match(body, /Bản giấy đã nhận: Giấy chứng sinh/);
  assert.match(body, new RegExp(O.name));
  assert.equal(await officer.locator('form.cb-action[data-action="receive"]').count(), 0, 'already taken in');

  const href = await done.locator('a').getAttribute('href');
  const receipt = await officer.request.get(BASE + href);
  assert.equal(receipt.status(), 200);
  const text = await receipt.text();
  assert.ok(text.includes(code));
  assert.match(text, /bản giấy nộp tại quầy/);
});
