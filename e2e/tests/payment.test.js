// A level-4 dossier's fee: the receipt and the tracking page show the amount for the
// copies and the delivery the citizen chose, and a VietQR code that an independent
// parser (the npm package vietnam-qr-pay) reads as a transfer of that amount to the
// commune's account in site.yaml, with the dossier's code as the transfer message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import vietqr from 'vietnam-qr-pay';
import { launch, newPage, runAxe, onlineProcedures, answers, fillForm, attachmentsFor, BASE, MOBILE, ROOT, ARTIFACTS } from '../lib.js';

const { QRPay } = vietqr;
const site = YAML.parse(readFileSync(path.join(ROOT, 'content', 'site.yaml'), 'utf8'));
let browser, trichLuc;

before(async () => {
  browser = await launch();
  trichLuc = (await onlineProcedures()).find((p) => p.code === '2.000635');
  assert.ok(trichLuc, 'the trích lục procedure is online');
});
after(async () => { await browser?.close(); });

/** Checks a VietQR payload with the independent parser; returns it parsed. */
function checkVietQr(payload, amount, code) {
  const q = new QRPay(payload);
  assert.equal(q.isValid, true, `a valid VietQR (CRC included): ${payload}`);
  assert.equal(q.provider.name, 'VIETQR');
  assert.equal(q.provider.service, 'QRIBFTTA', 'a transfer to an account number');
  assert.equal(q.initMethod, '12', 'dynamic: one amount, one message');
  assert.equal(q.consumer.bankBin, site.bank.bin);
  assert.equal(q.consumer.bankNumber, site.bank.number);
  assert.equal(q.amount, String(amount));
  assert.equal(q.currency, '704');
  assert.equal(q.additionalData.purpose, code.replace(/[.-]/g, ''));
  return q;
}

test('a trích lục sent by post for two copies asks 2 × 8.000 + postage, payable by VietQR', async () => {
  const page = await newPage(browser, { viewport: MOBILE });
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  await page.goto(BASE + trichLuc.formPath);
  const values = answers(trichLuc.schema);
  values.so_ban_sao = '2';
  values.nhan_ket_qua = 'buu_dien';
  await fillForm(page, trichLuc.schema, values, await attachmentsFor(page, trichLuc.schema));
  // The form says the amount as the citizen picks: two copies by post.
  assert.match(await page.locator('#fee-live').textContent(), /41\.000 đồng/);
  await page.check('input[name=nhan_ket_qua][value=tai_xa]');
  assert.match(await page.locator('#fee-live').textContent(), /16\.000 đồng/);
  await page.check('input[name=nhan_ket_qua][value=buu_dien]');
  await page.click('#dossier-form button[type=submit]');
  const receipt = page.locator('#receipt');
  await receipt.waitFor({ state: 'visible', timeout: 90_000 });
  const code = (await page.locator('#receipt .receipt-code strong').textContent()).trim();
  const total = 2 * 8000 + 25000;
  const text = await receipt.textContent();
  assert.match(text, /Tổng cộng: 41\.000 đồng/);
  assert.match(text, /Cước chuyển phát kết quả qua bưu điện: 25\.000 đồng/);
  const where = await page.locator('#receipt tr', { hasText: 'Nơi nhận kết quả' }).textContent();
  assert.match(where, /bưu chính, gửi đến:/);
  assert.doesNotMatch(where, /trực tiếp/, 'only the way the citizen chose');
  const payload = await page.locator('#receipt [data-vietqr]').getAttribute('data-vietqr');
  checkVietQr(payload, total, code);
  // On the site's own page too, each fact is copied with one tap.
  await page.locator('#receipt').getByRole('button', { name: 'Chép số tài khoản' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), site.bank.number);
  const png = await page.locator('#receipt a[download]').getAttribute('href');
  assert.ok(png.startsWith('data:image/png;base64,'), 'the code can be saved as a picture');
  const bytes = Buffer.from(png.slice('data:image/png;base64,'.length), 'base64');
  assert.equal(bytes.subarray(1, 4).toString('ascii'), 'PNG');
  await page.screenshot({ path: path.join(ARTIFACTS, 'receipt-fee-mobile.png'), fullPage: true });
  const v = await runAxe(page);
  assert.deepEqual(v, [], 'axe on the receipt with its fee:\n' + v.join('\n'));

  // The tracking page: the same code, the fee due, each fact copied with one tap.
  const link = new URL(await page.locator('#receipt .receipt-tracking a').getAttribute('href'));
  await page.goto(BASE + link.pathname + link.search);
  assert.match(await page.locator('main').textContent(), /Chờ nộp phí/);
  checkVietQr(await page.locator('[data-vietqr]').getAttribute('data-vietqr'), total, code);
  await page.getByRole('button', { name: 'Chép số tiền' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), String(total));
  await page.getByRole('button', { name: 'Chép nội dung' }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), code.replace(/[.-]/g, ''));
  const v2 = await runAxe(page);
  assert.deepEqual(v2, [], 'axe on the tracking page with its fee:\n' + v2.join('\n'));
  // The function's pages name no icon: the browser's own /favicon.ico is a 404.
  assert.deepEqual(page.scriptErrors.filter((e) => !/404/.test(e)), []);
  await page.context().close();
});
