// Level 4 at the desk and at home, through the console and the tracking pages:
//
//   ONLINE: a trích lục to receive electronically; the officer records the transfer seen
//           on the account, receives it, marks the result ready and hands it over
//           online with the signed scan; the citizen's tracking page says "Đã nộp phí",
//           shows no QR code any more, and downloads the file (its bytes compared);
//   POST:   a trích lục by post; handed over with a postal number, which the tracking
//           page shows, and nothing there asks the citizen to come to the commune.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { launch, newPage, runAxe, onlineProcedures, answers, fillForm, attachmentsFor, makePdf, addOfficer, BASE, consoleAs, openDossier, takeStep } from '../lib.js';

const O = { login: 'canbo-muc4-e2e', name: 'Phạm Thị Trả Kết Quả', password: 'mat-khau-can-bo-muc4-123' };
const WAIT = 15_000;
let browser, trichLuc, officer;

before(async () => {
  browser = await launch();
  trichLuc = (await onlineProcedures()).find((p) => p.code === '2.000635');
  addOfficer(O);
  officer = await consoleAs(browser, O);
});
after(async () => { await browser?.close(); });

async function submit(delivery) {
  const page = await newPage(browser);
  await page.goto(BASE + trichLuc.formPath);
  const values = answers(trichLuc.schema);
  values.nhan_ket_qua = delivery;
  await fillForm(page, trichLuc.schema, values, await attachmentsFor(page, trichLuc.schema));
  await page.click('#dossier-form button[type=submit]');
  await page.locator('#receipt').waitFor({ state: 'visible', timeout: 90_000 });
  const code = (await page.locator('#receipt .receipt-code strong').textContent()).trim();
  const link = new URL(await page.locator('#receipt .receipt-tracking a').getAttribute('href'));
  await page.context().close();
  return { code, track: BASE + link.pathname + link.search, token: link.searchParams.get('token') };
}

test('a result received online: paid by transfer, recorded by the desk, downloaded at home', async () => {
  const d = await submit('ban_dien_tu');
  await openDossier(officer, d.code);
  assert.match(await officer.locator('#cb-d-body').textContent(), /Phí: 8\.000 đồng – Chờ nộp phí/);
  await takeStep(officer, 'record-payment', async (f) => {
    await f.locator('input[name=amount]').fill('8000');
    await f.locator('input[name=reference]').fill('FT26336000999');
  });
  await openDossier(officer, d.code);
  assert.match(await officer.locator('#cb-d-body').textContent(), /Đã nộp phí/);
  await takeStep(officer, 'receive');
  await takeStep(officer, 'result-ready');
  const scan = makePdf('Trich luc khai sinh ban sao');
  await takeStep(officer, 'hand-over', async (f) => {
    await f.locator('input[name=method][value=online]').check();
    await f.locator('input[name=result_file]').setInputFiles({ name: 'trich-luc-khai-sinh.pdf', mimeType: 'application/pdf', buffer: scan });
  });
  const v = await runAxe(officer);
  assert.deepEqual(v, [], 'axe on the console:\n' + v.join('\n'));

  const page = await newPage(browser);
  await page.goto(d.track);
  const main = await page.locator('main').textContent();
  assert.match(main, /Đã nộp phí 8\.000 đồng \(chuyển khoản\)/);
  assert.match(main, /Nhận bản điện tử/);
  assert.doesNotMatch(main, /Mời Ông\/Bà đến/);
  assert.equal(await page.locator('[data-vietqr]').count(), 0, 'paid: no QR code');
  const href = await page.getByRole('link', { name: /Tải trich-luc-khai-sinh\.pdf/ }).getAttribute('href');
  const got = await page.request.get(new URL(href, page.url()).href);
  assert.equal(got.status(), 200);
  const sha = (b) => createHash('sha256').update(b).digest('hex');
  assert.equal(sha(await got.body()), sha(scan), 'the file the desk sent, byte for byte');
  // The site's own tracking page shows the same, with the download link.
  await page.goto(`${BASE}/tra-cuu/?code=${encodeURIComponent(d.code)}&token=${encodeURIComponent(d.token)}`);
  await page.locator('#track-title').waitFor({ timeout: WAIT });
  assert.match(await page.locator('#track-result').textContent(), /8\.000 đồng – Đã nộp phí/);
  assert.ok(await page.getByRole('link', { name: /Tải trich-luc-khai-sinh\.pdf/ }).isVisible());
  await page.context().close();
});

test('a result by post: the postal number, and never a call to come to the commune', async () => {
  const d = await submit('buu_dien');
  await openDossier(officer, d.code);
  await takeStep(officer, 'receive');
  await takeStep(officer, 'result-ready');
  await takeStep(officer, 'hand-over', async (f) => {
    await f.locator('input[name=method][value=post]').check();
    await f.locator('input[name=postal_tracking]').fill('EB987654321VN');
  });
  const page = await newPage(browser);
  await page.goto(d.track);
  const main = await page.locator('main').textContent();
  assert.match(main, /EB987654321VN/);
  assert.match(main, /qua bưu điện/);
  assert.doesNotMatch(main, /Mời Ông\/Bà đến/);
  assert.match(main, /Chờ nộp phí/, 'the fee is still due: paid to the postal worker or by transfer');
  await page.context().close();
});

test('paid twice: the money owed back is shown to both sides until the desk records its refund', async () => {
  const d = await submit('buu_dien');
  await openDossier(officer, d.code);
  await takeStep(officer, 'record-payment', async (f) => {
    // The copy's fee and the postage, all of it.
    await f.locator('input[name=amount]').fill('33000');
    await f.locator('input[name=reference]').fill('FT26336000555');
  });
  // The console opens the dossier again after each step: wait for the view of the
  // step just taken (its sequence number) before the next.
  const shown = (action, seq) => officer.locator(`form.cb-action[data-action="${action}"][data-seq="${seq}"]`).waitFor({ timeout: WAIT });
  await shown('record-payment', 2);
  await takeStep(officer, 'record-payment', async (f) => {
    await f.locator('input[name=amount]').fill('8000');
    await f.locator('input[name=payment_method][value=cash]').check();
  });
  await shown('record-refund', 3);
  assert.match(await officer.locator('#cb-d-body').textContent(), /Nộp thừa, chờ hoàn trả · Cần hoàn trả 8\.000 đồng/);
  const page = await newPage(browser);
  await page.goto(d.track);
  assert.match(await page.locator('main').textContent(), /Tiền được hoàn trả\s*8\.000 đồng/);
  // The refund's amount is filled in with what is owed back.
  const refund = officer.locator('form.cb-action[data-action="record-refund"]');
  assert.equal(await refund.locator('input[name=amount]').inputValue(), '8000');
  const v = await runAxe(officer);
  assert.deepEqual(v, [], 'axe on the console:\n' + v.join('\n'));
  await takeStep(officer, 'record-refund', async (f) => {
    await f.locator('input[name=payment_method][value=cash]').check();
  });
  await page.goto(`${BASE}/tra-cuu/?code=${encodeURIComponent(d.code)}&token=${encodeURIComponent(d.token)}`);
  await page.locator('#track-title').waitFor({ timeout: WAIT });
  const result = await page.locator('#track-result').textContent();
  assert.match(result, /33\.000 đồng – Đã nộp phí/);
  assert.match(result, /Đã hoàn trả 8\.000 đồng \(tiền mặt\)/);
  assert.doesNotMatch(result, /Tiền được hoàn trả/);
  await page.context().close();
});

test("the day's bank statement: matched, recorded with one click, a stray credit given back, and both shown as settled when imported again", async () => {
  const d = await submit('tai_xa');
  const plain = d.code.replace(/[.-]/g, '');
  const csv = `Ngày giao dịch;Số tiền ghi có;Nội dung;Mã giao dịch\n02/12/2026;8.000;MBVCB.1.${plain} nop phi;FT-E2E-${plain}\n02/12/2026;20.000;chuyen tien hoc phi;FT-E2E-OTHER\n`;
  const rowOf = (n) => officer.locator('#cb-st-result tbody tr').nth(n);
  const match = async () => {
    await officer.evaluate(() => { document.getElementById('cb-st-result').textContent = ''; });
    await officer.locator('#cb-st-file').setInputFiles({ name: 'sao-ke.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await officer.click('#cb-statement button[type=submit]');
    await rowOf(1).waitFor({ timeout: WAIT });
  };
  await match();
  assert.match(await rowOf(0).textContent(), /Khớp: đúng số tiền còn phải nộp/);
  assert.match(await rowOf(1).textContent(), /Không thấy mã hồ sơ/);
  assert.equal(await rowOf(1).locator('button[data-record]').count(), 0, 'nothing to record on no dossier');
  await rowOf(0).locator('button[data-record]').click();
  await officer.waitForFunction(() => document.getElementById('cb-st-result').textContent.includes('đã ghi nhận'), null, { timeout: WAIT });
  // The credit naming no dossier goes back to its sender: how is written down once.
  await rowOf(1).locator('input[name=note]').fill('Chuyển trả qua ngân hàng, mã GD FT-E2E-TRA');
  await rowOf(1).locator('button[type=submit]').click();
  await officer.waitForFunction(() => document.getElementById('cb-st-result').textContent.includes('Đã trả lại người chuyển'), null, { timeout: WAIT });
  const v = await runAxe(officer);
  assert.deepEqual(v, [], 'axe on the statement:\n' + v.join('\n'));

  // The same file again (a second import the same day): the credit is recorded
  // already, not a double payment, and there is nothing to click.
  await match();
  assert.match(await rowOf(0).textContent(), /Đã ghi nhận trước đây/);
  assert.equal(await rowOf(0).locator('button[data-record]').count(), 0);
  assert.match(await rowOf(1).textContent(), /Đã trả lại người chuyển: Chuyển trả qua ngân hàng, mã GD FT-E2E-TRA/);
  assert.equal(await rowOf(1).locator('form').count(), 0);
  await openDossier(officer, d.code);
  assert.match(await officer.locator('#cb-d-body').textContent(), /Đã nộp phí/);
});
