// A citizen sends every online procedure, with and without JavaScript, and tracks it.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launch, newPage, runAxe, onlineProcedures, answers, fillForm, attachmentsFor, BASE, MOBILE, ARTIFACTS, answerQuestion } from '../lib.js';

const CODE = /^[A-Za-z0-9._-]+-\d{6}-\d{4}$/;
let browser, procedures;
const receipts = [];

before(async () => {
  browser = await launch();
  procedures = await onlineProcedures();
  assert.ok(procedures.length > 0, 'there are online (level 3/4) procedures');
});
after(async () => { await browser?.close(); });

describe('submission with JavaScript (proof of work, direct upload, receipt)', () => {
  test('every level 3/4 procedure is received and shows a receipt with a code', async () => {
    for (const [i, p] of procedures.entries()) {
      const page = await newPage(browser, { viewport: MOBILE });
      const posts = [];
      const puts = [];
      page.on('request', (r) => {
        if (r.method() === 'POST' && r.url().endsWith('/api/dossiers')) posts.push(r);
        if (r.method() === 'PUT') puts.push(r);
      });
      await page.goto(BASE + p.formPath);
      assert.equal(await page.locator('.human-check').isVisible(), false, `${p.code}: the question for no-JS visitors is hidden`);
      const files = await attachmentsFor(page, p.schema);
      await fillForm(page, p.schema, answers(p.schema), files);
      if (i === 0) await page.screenshot({ path: path.join(ARTIFACTS, 'form-mobile.png'), fullPage: true });
      // A double click must not send twice.
      await page.dblclick('#dossier-form button[type=submit]');
      const receipt = page.locator('#receipt');
      await receipt.waitFor({ state: 'visible', timeout: 90_000 }).catch(async (e) => {
        const summary = await page.locator('#error-summary').textContent().catch(() => '');
        throw new Error(`${p.code}: no receipt. Summary: ${summary}. Script errors: ${page.scriptErrors.join('; ')}`);
      });
      const code = (await page.locator('#receipt .receipt-code strong').textContent()).trim();
      assert.match(code, CODE, `${p.code}: the receipt shows a dossier code`);
      const text = await receipt.textContent();
      assert.match(text, /Mã tra cứu/);
      assert.match(text, /hẹn trả/);
      assert.ok(await page.locator('#receipt svg').count() > 0, 'the QR code is shown');
      assert.ok(await page.getByRole('button', { name: 'In giấy tiếp nhận' }).isVisible());
      assert.equal(await page.locator('#dossier-form').isVisible(), false, 'the form is hidden');
      assert.equal(await page.evaluate(() => document.activeElement.id), 'receipt', 'focus moves to the receipt');
      assert.equal(posts.length, 1, `${p.code}: exactly one submission for a double click`);
      const fileCount = Object.keys(files).length;
      assert.ok(puts.length >= 1 && puts.length <= fileCount, `${p.code}: attachments went straight to storage (${puts.length} PUT)`);
      const token = await page.evaluate(() => {
        const a = document.querySelector('#receipt .receipt-tracking a');
        return new URL(a.href).searchParams.get('token');
      });
      assert.ok(token && token.length >= 8, 'a tracking token is given');
      receipts.push({ code, token, procedure: p.code });
      if (i === 0) {
        await page.screenshot({ path: path.join(ARTIFACTS, 'receipt-mobile.png'), fullPage: true });
        const v = await runAxe(page);
        assert.deepEqual(v, [], 'axe on the receipt:\n' + v.join('\n'));
      }
      assert.deepEqual(page.scriptErrors, [], `${p.code}: no script errors`);
      await page.context().close();
    }
  });
});

describe('submission without JavaScript (plain multipart post, question, HTML receipt)', () => {
  test('every level 3/4 procedure is received and answers with an HTML receipt', async () => {
    for (const p of procedures) {
      const page = await newPage(browser, { javaScriptEnabled: false, viewport: MOBILE });
      await page.goto(BASE + p.formPath);
      const question = page.locator('.human-check');
      assert.ok(await question.isVisible(), `${p.code}: the question is shown without JavaScript`);
      // Files are generated with a JS-enabled helper page.
      const helper = await newPage(browser);
      await helper.goto(BASE + '/');
      const files = await attachmentsFor(helper, p.schema);
      await helper.context().close();
      await fillForm(page, p.schema, answers(p.schema), files);
      const asked = await answerQuestion(page);
      assert.match(asked, /bằng mấy\?$/, `${p.code}: the question is read from its frame`);
      await Promise.all([page.waitForNavigation(), page.click('#dossier-form button[type=submit]')]);
      const codeEl = page.locator('.receipt-code strong');
      if (!(await codeEl.count())) {
        const body = (await page.locator('body').textContent()).replace(/\s+/g, ' ').slice(0, 1500);
        assert.fail(`${p.code}: no HTML receipt after a plain post. Page said: ${body}`);
      }
      const code = (await codeEl.textContent()).trim();
      assert.match(code, CODE);
      const token = (await page.locator('.receipt-tracking code').textContent()).trim();
      assert.ok(token.length >= 8);
      receipts.push({ code, token, procedure: p.code, nojs: true });
      await page.context().close();
    }
  });

  test("the HTML receipt's print button works under the site's CSP (no inline script)", async () => {
    const [p] = procedures;
    const page = await newPage(browser, { viewport: MOBILE });
    // The form's own script kept out, so the browser posts the form itself, as a phone
    // without that script would; the receipt page's scripts still run.
    await page.route(/\/assets\/form\.[^/]*js$/, (r) => r.abort());
    await page.goto(BASE + p.formPath);
    const files = await attachmentsFor(page, p.schema);
    await fillForm(page, p.schema, answers(p.schema), files);
    await answerQuestion(page);
    page.scriptErrors.length = 0;  // the aborted form script
    await Promise.all([page.waitForNavigation(), page.click('#dossier-form button[type=submit]')]);
    await page.locator('.receipt-code strong').waitFor();
    const print = page.locator('button[data-print]');
    await print.waitFor({ state: 'visible' });
    await page.evaluate(() => { window.printed = 0; window.print = () => { window.printed += 1; }; });
    await print.click();
    assert.equal(await page.evaluate(() => window.printed), 1, 'the print dialog was asked for');
    assert.deepEqual(page.scriptErrors, [], 'no script error and no CSP violation');
    await page.context().close();
  });

  test('a plain post over the size limit gets the Vietnamese page, not a gateway error', async () => {
    const [p] = procedures;
    const fileField = p.schema.form.sections.flatMap((s) => s.fields).find((f) => f.type === 'file');
    assert.ok(fileField, `${p.code} has a file field`);
    // Just over the plain post's limit for files (about 4.4 MB), still under Lambda's
    // 6 MB once base64-encoded: the function itself must answer.
    const bytes = Buffer.alloc(4_650_000, 0x61);
    Buffer.from('%PDF-1.7\n').copy(bytes);
    const form = new FormData();
    form.append('procedure', p.code);
    form.append('human_answer', '1');
    form.append(fileField.id, new Blob([bytes], { type: 'application/pdf' }), 'ban-quet.pdf');
    const r = await fetch(`${BASE}/api/dossiers/form`, { method: 'POST', body: form });
    const text = await r.text();
    assert.equal(r.status, 413, text.slice(0, 300));
    assert.match(r.headers.get('content-type') || '', /text\/html/);
    assert.match(text, /Hồ sơ chưa được gửi/);
    assert.match(text, /4,4 MB/);
  });
});

describe('tracking', () => {
  test('with JavaScript: the code and token from a receipt show the status', async () => {
    assert.ok(receipts.length, 'a receipt from the submissions above');
    const { code, token } = receipts[0];
    const page = await newPage(browser);
    // From the link or QR: parameters in the address.
    await page.goto(`${BASE}/tra-cuu/?code=${encodeURIComponent(code)}&token=${encodeURIComponent(token)}`);
    await page.locator('#track-result .status').waitFor({ timeout: 15_000 });
    assert.match(await page.locator('#track-result').textContent(), new RegExp(code.replace(/\./g, '\\.')));
    // Typed in by hand, with the receipt of a no-JS submission.
    const other = receipts.find((r) => r.nojs) || receipts[0];
    await page.goto(`${BASE}/tra-cuu/`);
    await page.fill('#track-code', other.code);
    await page.fill('#track-token', other.token);
    await page.click('#track-form button[type=submit]');
    await page.locator('#track-result .status').waitFor({ timeout: 15_000 });
    assert.match(await page.locator('#track-result').textContent(), /Tình trạng/);
    // A wrong token: a clear message.
    await page.fill('#track-token', 'sai-ma-tra-cuu');
    await page.click('#track-form button[type=submit]');
    await page.getByText('Không tìm thấy hồ sơ').waitFor({ timeout: 15_000 });
    assert.deepEqual(page.scriptErrors.filter((e) => !/404/.test(e)), []);
    await page.context().close();
  });

  test('without JavaScript: the form asks the function and shows the status page', async () => {
    const { code, token } = receipts[0];
    const page = await newPage(browser, { javaScriptEnabled: false });
    await page.goto(`${BASE}/tra-cuu/`);
    await page.fill('#track-code', code);
    await page.fill('#track-token', token);
    await Promise.all([page.waitForNavigation(), page.click('#track-form button[type=submit]')]);
    assert.match(await page.locator('h1').textContent(), new RegExp(code.replace(/\./g, '\\.')));
    assert.match(await page.locator('body').textContent(), /Tình trạng/);
    await page.context().close();
  });

  test("an unknown code: the function's own answer, not the site's 404 page", async () => {
    const r = await fetch(`${BASE}/api/dossiers/H21.55.01-260101-0001?token=sai-ma-tra-cuu`);
    assert.equal(r.status, 404);
    assert.match((await r.json()).message, /Không tìm thấy hồ sơ/);
    const page = await newPage(browser, { javaScriptEnabled: false });
    const answer = await page.goto(`${BASE}/api/track?code=H21.55.01-260101-0001&token=sai-ma-tra-cuu`);
    assert.equal(answer.status(), 404);
    const body = await page.locator('body').textContent();
    assert.match(body, /Không tìm thấy hồ sơ/);
    assert.doesNotMatch(await page.locator('h1').textContent(), /Không tìm thấy trang này/);
    assert.ok(await page.locator('form[action="/api/track"]').count(), 'the tracking form to try again');
    await page.context().close();
  });

  test('a network failure while tracking says so', async () => {
    const page = await newPage(browser);
    await page.goto(`${BASE}/tra-cuu/`);
    await page.route('**/api/dossiers/**', (r) => r.abort('internetdisconnected'));
    await page.fill('#track-code', 'A-250101-0001');
    await page.fill('#track-token', 'abcdefgh');
    await page.click('#track-form button[type=submit]');
    await page.getByText('Không kết nối được tới máy chủ').waitFor({ timeout: 10_000 });
    await page.context().close();
  });
});
