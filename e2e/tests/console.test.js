// An officer at the one-stop desk: an account made with `submit-fn officer add` in the
// server's own data folder, a citizen's dossier sent through the site's form, then the
// console at /can-bo/: log in, find it in the list, open it, receive it with the
// proposed appointment; the citizen's tracking page shows the new status and date.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { launch, newPage, runAxe, onlineProcedures, answers, fillForm, attachmentsFor, addOfficer, BASE, ARTIFACTS } from '../lib.js';

const LOGIN = 'canbo-e2e';
const PASSWORD = 'mat-khau-e2e-du-dai-123';
let browser, code, token;

before(async () => {
  addOfficer({ login: LOGIN, name: 'Nguyễn Văn Tiếp Nhận', password: PASSWORD });
  browser = await launch();
});
after(async () => { await browser?.close(); });

test('a citizen submits a dossier through the site', async () => {
  const [p] = await onlineProcedures();
  const page = await newPage(browser);
  await page.goto(BASE + p.formPath);
  await fillForm(page, p.schema, answers(p.schema), await attachmentsFor(page, p.schema));
  await page.click('#dossier-form button[type=submit]');
  await page.locator('#receipt').waitFor({ state: 'visible', timeout: 90_000 });
  code = (await page.locator('#receipt .receipt-code strong').textContent()).trim();
  token = await page.evaluate(() => new URL(document.querySelector('#receipt .receipt-tracking a').href).searchParams.get('token'));
  assert.ok(code && token);
  assert.deepEqual(page.scriptErrors, []);
  await page.context().close();
});

test('the officer logs in, finds the dossier, opens it and receives it', async () => {
  const page = await newPage(browser);
  await page.goto(`${BASE}/can-bo/`);
  await page.locator('#cb-login').waitFor({ state: 'visible' });
  let v = await runAxe(page);
  assert.deepEqual(v, [], 'axe on the login form:\n' + v.join('\n'));

  // A wrong password: a message, still on the login form.
  await page.fill('#cb-user', LOGIN);
  await page.fill('#cb-pass', 'sai-mat-khau-123456');
  await page.click('#cb-login-form button[type=submit]');
  await page.locator('#cb-msg.error').waitFor();
  assert.equal(await page.locator('#cb-app').isVisible(), false);

  await page.fill('#cb-pass', PASSWORD);
  await page.click('#cb-login-form button[type=submit]');
  await page.locator('#cb-app').waitFor({ state: 'visible' });
  assert.match(await page.locator('#cb-who').textContent(), new RegExp(LOGIN));
  const link = page.locator(`#cb-rows a[data-code="${code}"]`);
  await link.waitFor({ timeout: 15_000 });
  assert.match(await page.locator('#cb-counts').textContent(), /Tổng \d+ hồ sơ/);
  v = await runAxe(page);
  assert.deepEqual(v, [], 'axe on the list:\n' + v.join('\n'));

  await link.click();
  await page.locator('#cb-dossier').waitFor({ state: 'visible' });
  assert.match(await page.locator('#cb-d-h').textContent(), new RegExp(code.replace(/\./g, '\\.')));
  const receive = page.locator('form.cb-action[data-action="receive"]');
  await receive.waitFor();
  const proposed = await receive.locator('input[name=appointment]').inputValue();
  assert.match(proposed, /^\d{4}-\d{2}-\d{2}$/, 'the proposed appointment is filled in');
  v = await runAxe(page);
  assert.deepEqual(v, [], 'axe on the dossier:\n' + v.join('\n'));
  await page.screenshot({ path: path.join(ARTIFACTS, 'console-dossier.png'), fullPage: true });

  await receive.locator('button[type=submit]').click();
  await page.waitForFunction(() => /Đã ghi/.test(document.getElementById('cb-msg').textContent));
  await page.waitForFunction(() => /đang giải quyết/.test(document.getElementById('cb-d-h').textContent));
  assert.equal(await page.locator('form.cb-action[data-action="receive"]').count(), 0, 'receive is no longer offered');
  v = await runAxe(page);
  assert.deepEqual(v, [], 'axe after the step:\n' + v.join('\n'));
  // The 401s of the session probe before logging in and of the wrong password are
  // expected; Chromium logs them as failed loads.
  assert.deepEqual(page.scriptErrors.filter((e) => !/status of 401/.test(e)), []);
  await page.context().close();

  // The citizen's tracking page: received by the desk, with that appointment.
  const citizen = await newPage(browser);
  await citizen.goto(`${BASE}/tra-cuu/?code=${encodeURIComponent(code)}&token=${encodeURIComponent(token)}`);
  await citizen.waitForFunction(() => /đang giải quyết/.test(document.body.textContent), null, { timeout: 15_000 });
  const text = await citizen.locator('body').textContent();
  const [y, m, d] = proposed.split('-');
  assert.ok(text.includes(`${d}/${m}/${y}`), `the tracking page shows the appointment ${d}/${m}/${y}:\n${text.slice(0, 2000)}`);
  assert.deepEqual(citizen.scriptErrors, []);
  await citizen.context().close();
});
