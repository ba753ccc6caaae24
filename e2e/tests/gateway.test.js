// Paying a dossier's fee through VNPAY, played by an independent implementation of its
// protocol (the npm package vnpay): the citizen's click on the tracking page leads to a
// payment URL that the package verifies; the stand-in gateway then signs its IPN (HMAC-
// SHA512 over the sorted, form-encoded parameters, with node's crypto), which the
// package and the function both verify; the function records the payment once and
// answers forged, replayed, wrong-amount and unknown-order notices per the protocol;
// the citizen comes back to a return page and sees "Đã nộp phí".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { VNPay, IpnSuccess, IpnOrderNotFound, InpOrderAlreadyConfirmed, IpnInvalidAmount, IpnFailChecksum } from 'vnpay';
import { launch, newPage, onlineProcedures, answers, fillForm, attachmentsFor, BASE, MOBILE } from '../lib.js';

const TMN = process.env.MOTCUA_VNPAY_TMN_CODE;
const SECRET = process.env.MOTCUA_VNPAY_HASH_SECRET;
const vnpay = new VNPay({ tmnCode: TMN, secureSecret: SECRET, vnpayHost: 'https://sandbox.vnpayment.vn', testMode: true, hashAlgorithm: 'SHA512', enableLog: false });
let browser, trichLuc;

before(async () => {
  assert.ok(TMN && SECRET, 'e2e/run.sh gives the functions a VNPAY terminal');
  browser = await launch();
  trichLuc = (await onlineProcedures()).find((p) => p.code === '2.000635');
});
after(async () => { await browser?.close(); });

/** The gateway's signature: sorted parameters, form-encoded, HMAC-SHA512. */
function sign(params) {
  const sorted = new URLSearchParams();
  for (const k of Object.keys(params).sort()) if (k !== 'vnp_SecureHash') sorted.append(k, params[k]);
  const hash = crypto.createHmac('sha512', SECRET).update(Buffer.from(sorted.toString(), 'utf-8')).digest('hex');
  return { ...params, vnp_SecureHash: hash };
}
const query = (params) => new URLSearchParams(params).toString();
async function ipn(params) {
  const r = await fetch(`${BASE}/api/payments/vnpay/ipn?${query(params)}`);
  assert.equal(r.status, 200);
  return r.json();
}

test('a level-4 fee paid through the gateway is recorded once', async () => {
  const page = await newPage(browser, { viewport: MOBILE });
  await page.goto(BASE + trichLuc.formPath);
  const values = answers(trichLuc.schema);
  values.nhan_ket_qua = 'tai_xa';
  await fillForm(page, trichLuc.schema, values, await attachmentsFor(page, trichLuc.schema));
  await page.click('#dossier-form button[type=submit]');
  await page.locator('#receipt').waitFor({ state: 'visible', timeout: 90_000 });
  const link = new URL(await page.locator('#receipt .receipt-tracking a').getAttribute('href'));
  const track = BASE + link.pathname + link.search;
  await page.goto(track);

  // The stand-in gateway: the payment page checks the URL with the package's code.
  let paymentParams, failure;
  await page.route('https://sandbox.vnpayment.vn/**', async (route) => {
    try {
      paymentParams = Object.fromEntries(new URL(route.request().url()).searchParams);
      const checked = vnpay.verifyReturnUrl({ ...paymentParams });
      assert.equal(checked.isVerified, true, 'our payment URL verifies with the vnpay package');
      const back = new URL(paymentParams.vnp_ReturnUrl);
      const result = sign({
        vnp_Amount: paymentParams.vnp_Amount, vnp_BankCode: 'NCB', vnp_CardType: 'ATM',
        vnp_OrderInfo: paymentParams.vnp_OrderInfo, vnp_PayDate: '20261202091500',
        vnp_ResponseCode: '00', vnp_TmnCode: TMN, vnp_TransactionNo: '14998877',
        vnp_TransactionStatus: '00', vnp_TxnRef: paymentParams.vnp_TxnRef,
      });
      assert.equal(vnpay.verifyIpnCall({ ...result }).isVerified, true, 'the stand-in signs as the protocol says');
      // Bad notices first: nothing changes.
      assert.deepEqual(await ipn({ ...result, vnp_Amount: '100' }), IpnFailChecksum);
      assert.deepEqual(await ipn(sign({ ...result, vnp_TxnRef: 'ffffffffffffffff' })), IpnOrderNotFound);
      assert.deepEqual(await ipn(sign({ ...result, vnp_Amount: '100' })), IpnInvalidAmount);
      // The real one, then its replay.
      assert.deepEqual(await ipn(result), IpnSuccess);
      assert.deepEqual(await ipn(result), InpOrderAlreadyConfirmed);
      await route.fulfill({ status: 302, headers: { location: `${BASE}${back.pathname}?${query(result)}` } });
    } catch (e) {
      failure = e;
      await route.fulfill({ status: 500, body: String(e) });
    }
  });
  const pay = page.getByRole('button', { name: /Thanh toán .* qua VNPAY/ });
  assert.match(await pay.textContent(), /8\.000 đồng/);
  await pay.click();
  await page.waitForURL(/\/api\/payments\/vnpay\/return|sandbox\.vnpayment/).catch(async (e) => {
    throw new Error(`no gateway after the click: at ${page.url()}: ${(await page.locator('body').textContent()).slice(0, 400)}`);
  });
  if (failure) throw failure;
  await page.waitForURL(/\/api\/payments\/vnpay\/return/);
  assert.equal(paymentParams.vnp_Amount, '800000', 'đồng × 100');
  assert.notEqual(paymentParams.vnp_TxnRef, link.searchParams.get('code'), 'one reference per attempt');
  assert.match(await page.locator('main').textContent(), /Thanh toán thành công/);
  await page.getByRole('link', { name: 'Về trang tình trạng hồ sơ' }).click();
  const main = await page.locator('main').textContent();
  assert.match(main, /Đã nộp phí 8\.000 đồng \(cổng thanh toán VNPAY\)/);
  assert.equal(await page.getByRole('button', { name: /qua VNPAY/ }).count(), 0, 'nothing left to pay');
  assert.equal(await page.locator('[data-vietqr]').count(), 0, 'no QR code once paid');
  await page.context().close();
});
