// The civil-status register: a birth registration submitted on the site shows, in the
// console, the Sổ đăng ký khai sinh's fields in the register's order with the values the
// citizen typed, each with a copy button; once its result is ready, the day's export
// (the console's "Xuất sang phần mềm hộ tịch" form) has its row.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, runAxe, onlineProcedures, answers, fillForm, attachmentsFor, addOfficer, BASE, consoleAs, openDossier, takeStep } from '../lib.js';

const O = { login: 'canbo-hotich-e2e', name: 'Đỗ Văn Hộ Tịch', password: 'mat-khau-can-bo-hotich-1' };
let browser, khaiSinh, officer;

before(async () => {
  browser = await launch();
  khaiSinh = (await onlineProcedures()).find((p) => p.code === '1.001193');
  addOfficer(O);
  officer = await consoleAs(browser, O);
});
after(async () => { await browser?.close(); });

test('a birth registration is copied into the register field by field, and exported once settled', async () => {
  const page = await newPage(browser);
  await page.goto(BASE + khaiSinh.formPath);
  const values = answers(khaiSinh.schema);
  await fillForm(page, khaiSinh.schema, values, await attachmentsFor(page, khaiSinh.schema));
  await page.click('#dossier-form button[type=submit]');
  await page.locator('#receipt').waitFor({ state: 'visible', timeout: 90_000 });
  const code = (await page.locator('#receipt .receipt-code strong').textContent()).trim();
  await page.context().close();

  await openDossier(officer, code);
  const body = officer.locator('#cb-d-body');
  assert.match(await body.textContent(), /Chép vào Sổ đăng ký khai sinh/);
  const child = officer.locator('#cb-d-body tr', { hasText: 'Họ, chữ đệm, tên người được khai sinh' });
  assert.match(await child.textContent(), new RegExp(values.ho_ten_tre));
  assert.equal(await child.locator('button[data-copy]').getAttribute('data-copy'), values.ho_ten_tre);
  const v = await runAxe(officer);
  assert.deepEqual(v, [], 'axe on the console:\n' + v.join('\n'));

  await takeStep(officer, 'receive');
  await takeStep(officer, 'result-ready');
  // The export form names the register; the officer's browser downloads the CSV.
  assert.match(await officer.locator('#cb-reg-proc').textContent(), /Sổ đăng ký khai sinh/);
  const csv = await officer.request.get(`${BASE}/api/admin/register.csv?procedure=1.001193`);
  assert.equal(csv.status(), 200);
  const row = (await csv.text()).split('\n').find((l) => l.startsWith(code));
  assert.ok(row, 'the settled dossier has its row');
  assert.ok(row.includes(`;${values.ho_ten_tre};`), row);
});
