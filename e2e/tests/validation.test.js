// The form checks like the server before anything is sent, and says what to fix.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, onlineProcedures, answers, fillForm, attachmentsFor, makePdf, BASE } from '../lib.js';

let browser, procedures;
before(async () => {
  browser = await launch();
  procedures = await onlineProcedures();
});
after(async () => { await browser?.close(); });

function watchApi(page) {
  const seen = [];
  page.on('request', (r) => { if (r.method() !== 'GET' && /\/api\/(uploads|dossiers)/.test(r.url())) seen.push(r.url()); });
  page.on('request', (r) => { if (r.method() === 'PUT') seen.push(r.url()); });
  return seen;
}

function pick(schema, type) {
  return schema.form.sections.flatMap((s) => s.fields).find((f) => f.type === type && (f.required || !f.required_if));
}

test('a failing field shows the summary, the message beside the field, and keeps the input', async () => {
  const p = procedures.find((x) => pick(x.schema, 'phone'));
  const page = await newPage(browser);
  const sent = watchApi(page);
  await page.goto(BASE + p.formPath);
  const values = answers(p.schema);
  const phone = pick(p.schema, 'phone');
  const text = p.schema.form.sections.flatMap((s) => s.fields).find((f) => f.type === 'text' && f.required);
  values[phone.id] = '0212 345 678';
  delete values[text.id];
  await fillForm(page, p.schema, values, await attachmentsFor(page, p.schema));
  await page.click('#dossier-form button[type=submit]');
  const summary = page.locator('#error-summary');
  await summary.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'error-summary', 'focus moves to the summary');
  const s = await summary.textContent();
  assert.match(s, /Vui lòng sửa 2 chỗ/);
  assert.match(s, /Số điện thoại di động chưa đúng/);
  assert.match(s, /Vui lòng nhập/);
  assert.match(await page.locator(`#f-${phone.id}-error`).textContent(), /Số điện thoại di động chưa đúng/);
  assert.equal(await page.inputValue(`#f-${phone.id}`), '0212 345 678', 'what was typed is kept');
  assert.equal(await page.getAttribute(`#f-${phone.id}`, 'aria-invalid'), 'true');
  assert.match(await page.getAttribute(`#f-${phone.id}`, 'aria-describedby'), new RegExp(`f-${phone.id}-error`));
  // The link in the summary takes the citizen to the field.
  await summary.getByRole('link', { name: /Số điện thoại/ }).click();
  assert.equal(await page.evaluate(() => document.activeElement.id), `f-${phone.id}`);
  assert.deepEqual(sent, [], 'nothing was sent to the function');
  // Fixing the field clears its error on the next try.
  await page.fill(`#f-${phone.id}`, '+84 912 345 678');
  await page.fill(`#f-${text.id}`, 'Nguyễn Thị Hoa');
  assert.deepEqual(page.scriptErrors, []);
  await page.context().close();
});

test('mirrors the server messages for dates, citizen IDs, e-mail and numbers', async () => {
  const p = procedures.find((x) => {
    const fs = x.schema.form.sections.flatMap((s) => s.fields);
    const id = fs.find((f) => f.birth_date_field);
    return id && fs.some((f) => f.type === 'date' && f.max_date === 'today' && f.id !== id.birth_date_field);
  });
  const page = await newPage(browser);
  await page.goto(BASE + p.formPath);
  const fields = p.schema.form.sections.flatMap((s) => s.fields);
  const id = fields.find((f) => f.birth_date_field);
  const email = fields.find((f) => f.type === 'email');
  const values = answers(p.schema);
  values[id.id] = '064195012345'; // says born 1995; the birth date says 1990
  if (email) values[email.id] = 'an@@gmail';
  await page.waitForFunction(() => document.querySelector('input[data-max-date=today]')?.max);
  await fillForm(page, p.schema, values, await attachmentsFor(page, p.schema));
  const future = fields.find((f) => f.type === 'date' && f.max_date === 'today' && f.id !== id.birth_date_field);
  await page.fill(`#f-${future.id}`, '2999-01-01');
  await page.click('#dossier-form button[type=submit]');
  await page.locator('#error-summary').waitFor();
  const s = await page.locator('#error-summary').textContent();
  assert.match(s, /không khớp với năm sinh 1990/);
  assert.match(s, /không được sau hôm nay/);
  if (email) assert.match(s, /Địa chỉ thư điện tử chưa đúng/);
  const max = await page.getAttribute(`#f-${future.id}`, 'max');
  assert.match(max, /^\d{4}-\d{2}-\d{2}$/, 'date inputs get max = today');
  await page.context().close();
});

test('a too-large or wrong-type file is refused before upload, beside its field', async () => {
  const p = procedures.find((x) => pick(x.schema, 'file'));
  const file = p.schema.form.sections.flatMap((s) => s.fields).find((f) => f.type === 'file' && f.required) || pick(p.schema, 'file');
  const page = await newPage(browser);
  const sent = watchApi(page);
  await page.goto(BASE + p.formPath);
  await fillForm(page, p.schema, answers(p.schema), await attachmentsFor(page, p.schema));
  const limit = (file.max_size_kb || 5120) * 1024;
  const big = Buffer.concat([makePdf(), Buffer.alloc(limit + 1 - makePdf().length, 0x20)]);
  await page.setInputFiles(`#f-${file.id}`, { name: 'ban-quet-lon.pdf', mimeType: 'application/pdf', buffer: big });
  const error = page.locator(`#f-${file.id}-error`);
  await error.waitFor();
  assert.match(await error.textContent(), /vượt giới hạn 5 MB/);
  await page.setInputFiles(`#f-${file.id}`, { name: 'giay-khai-sinh.pdf', mimeType: 'application/pdf', buffer: Buffer.from('MZ\x90\x00 this is a program, not a scan', 'latin1') });
  await page.getByText('Nội dung tệp cho thấy đây là loại khác').waitFor();
  assert.match(await error.textContent(), /không phải PDF, JPG hoặc PNG/);
  await page.click('#dossier-form button[type=submit]');
  await page.locator('#error-summary').waitFor();
  assert.match(await page.locator('#error-summary').textContent(), /giay-khai-sinh\.pdf/);
  assert.deepEqual(sent, [], 'no upload was attempted');
  await page.context().close();
});

test('level 4: the delivery choice shows and hides the delivery address', async (t) => {
  const p = procedures.find((x) => x.level === 4 && x.schema.form.sections.flatMap((s) => s.fields).some((f) => f.type === 'address' && f.required_if));
  if (!p) return t.skip('no level-4 procedure with a conditional address');
  const addr = p.schema.form.sections.flatMap((s) => s.fields).find((f) => f.type === 'address' && f.required_if);
  const radio = p.schema.form.sections.flatMap((s) => s.fields).find((f) => f.id === addr.required_if.field);
  const page = await newPage(browser);
  await page.goto(BASE + p.formPath);
  assert.equal(await page.locator(`#field-${addr.id}`).isVisible(), false, 'hidden until post is chosen');
  const n = radio.options.findIndex((o) => o.value === addr.required_if.equals);
  await page.check(n === 0 ? `#f-${radio.id}` : `#f-${radio.id}-${n}`);
  assert.equal(await page.locator(`#field-${addr.id}`).isVisible(), true, 'shown for delivery by post');
  const other = radio.options.findIndex((o) => o.value !== addr.required_if.equals);
  await page.check(other === 0 ? `#f-${radio.id}` : `#f-${radio.id}-${other}`);
  assert.equal(await page.locator(`#field-${addr.id}`).isVisible(), false);
  // Without JavaScript every field is shown.
  const plain = await newPage(browser, { javaScriptEnabled: false });
  await plain.goto(BASE + p.formPath);
  assert.equal(await plain.locator(`#field-${addr.id}`).isVisible(), true);
  await plain.context().close();
  await page.context().close();
});

test('a failed upload is sent again by itself and keeps everything typed', async (t) => {
  const p = procedures.find((x) => pick(x.schema, 'file'));
  const page = await newPage(browser);
  await page.goto(BASE + p.formPath);
  const values = answers(p.schema);
  await fillForm(page, p.schema, values, await attachmentsFor(page, p.schema));
  let failing = true;
  await page.route('**/*', async (route) => {
    if (route.request().method() === 'PUT' && failing) return route.abort('connectionreset');
    return route.fallback();
  });
  await page.click('#dossier-form button[type=submit]');
  // The page says it will send the file again once the network is back, and does (the
  // "Thử tải lại" button comes only after 7 failed tries, about two minutes).
  await page.locator('.upload-status', { hasText: /tự gửi lại tệp khi có mạng/ }).first().waitFor({ timeout: 90_000 });
  const textField = p.schema.form.sections.flatMap((s) => s.fields).find((f) => f.type === 'text');
  assert.equal(await page.inputValue(`#f-${textField.id}`), values[textField.id], 'input kept');
  failing = false;
  await page.locator('#receipt').waitFor({ state: 'visible', timeout: 90_000 });
  assert.match(await page.locator('#receipt .receipt-code').textContent(), /-\d{6}-\d{4}$/);
  await page.context().close();
});
