// The desk's steps in the console at /can-bo/, as officers and citizens see them:
//
//   D1: papers asked for → the citizen uploads them from the tracking page → back to the
//       desk → received with a chosen appointment → result ready → sent by post with a
//       postal number, which the citizen's tracking page shows;
//   D2: refused with a reason, which the citizen sees;
//   D3: two officers (two browser contexts) on the same dossier: the one working from an
//       old view is told in Vietnamese that the dossier changed, and of two pressing at
//       the same moment exactly one step is recorded;
//   D4: papers asked for → the citizen, with JavaScript off, sends them from the
//       function's own tracking page (the SMS/e-mail link) → back to the desk;
//   OLD: a dossier of six weeks ago never taken in (seeded in the store, since the real
//       clock cannot make a fresh one late), so that "quá hạn" has something to show,
//       with a notice the SMS gateway refused past the 7-day window.
//
// Along the way: the list's filters (status, procedure, dates) and counts (new, overdue,
// waiting for papers) for these dossiers, the outbox view with the queued notices and the
// one given up, and axe-core on every console state reached.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { launch, newPage, runAxe, onlineProcedures, answers, fillForm, attachmentsFor, makePdf, addOfficer, BASE, ARTIFACTS, vnuErrors } from '../lib.js';

const A = { login: 'canbo-a-e2e', name: 'Trần Thị Tiếp Nhận', password: 'mat-khau-can-bo-a-123456' };
const B = { login: 'canbo-b-e2e', name: 'Lê Văn Thụ Lý', password: 'mat-khau-can-bo-b-123456' };
const MISSING = 'Bản sao Giấy khai sinh có chứng thực';
const REASON = 'Người yêu cầu không cư trú trên địa bàn xã Ia Pết';
const POSTAL = 'EB123456789VN';
const WAIT = 15_000;

let browser;
let officerA; // A's console page, kept logged in across the tests
let procMain, procOther; // two online procedures with a processing time of days (never due today)
const d1 = {}, d2 = {}, d3 = {}, old = {};
let baseline; // the console's counts before this file created anything

// ---------- helpers ----------

const re = (s) => new RegExp(s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

/** Waits until the text of `selector` matches `pattern`; fails with the text seen. */
async function waitText(page, selector, pattern, what = selector) {
  try {
    await page.waitForFunction(([sel, source, flags]) => {
      const el = document.querySelector(sel);
      return el && new RegExp(source, flags).test(el.textContent);
    }, [selector, pattern.source, pattern.flags], { timeout: WAIT });
  } catch (e) {
    const seen = await page.locator(selector).first().textContent().catch(() => '(none)');
    assert.fail(`${what}: "${String(seen).slice(0, 1500)}" does not match ${pattern}`);
  }
  return page.locator(selector).first().textContent();
}

async function axe(page, where) {
  const v = await runAxe(page);
  assert.deepEqual(v, [], `axe on ${where}:\n` + v.join('\n'));
}

/** A citizen sends `p`'s form through the site; returns the code and the tracking token. */
async function submitDossier(p) {
  const page = await newPage(browser);
  await page.goto(BASE + p.formPath);
  await fillForm(page, p.schema, answers(p.schema), await attachmentsFor(page, p.schema));
  await page.click('#dossier-form button[type=submit]');
  await page.locator('#receipt').waitFor({ state: 'visible', timeout: 90_000 });
  const code = (await page.locator('#receipt .receipt-code strong').textContent()).trim();
  const token = await page.evaluate(() => new URL(document.querySelector('#receipt .receipt-tracking a').href).searchParams.get('token'));
  assert.deepEqual(page.scriptErrors, []);
  await page.context().close();
  return { code, token, procedure: p };
}

async function login(o) {
  const page = await newPage(browser);
  await page.goto(`${BASE}/can-bo/`);
  await page.locator('#cb-login').waitFor({ state: 'visible' });
  await page.fill('#cb-user', o.login);
  await page.fill('#cb-pass', o.password);
  await page.click('#cb-login-form button[type=submit]');
  await page.locator('#cb-app').waitFor({ state: 'visible' });
  await waitText(page, '#cb-who', re(o.name));
  await waitText(page, '#cb-counts', /Tổng \d+ hồ sơ/);
  return page;
}

/** The list's counts line, as numbers. */
function parseCounts(text) {
  const m = /Tổng (\d+) hồ sơ · mới (\d+) · quá hạn (\d+) · chờ bổ sung (\d+) · khớp bộ lọc (\d+)/.exec(text);
  assert.ok(m, `counts line: "${text}"`);
  const [total, fresh, overdue, waiting, matched] = m.slice(1).map(Number);
  return { total, new: fresh, overdue, waiting, matched };
}

/** Sets the list's filters as an officer would and presses "Lọc"; returns counts and rows. */
async function filter(page, { status = '', procedure = '', from = '', to = '' } = {}) {
  await page.selectOption('#cb-status', status);
  await page.fill('#cb-proc', procedure);
  await page.fill('#cb-from', from);
  await page.fill('#cb-to', to);
  // The list is redrawn in one go (counts and rows); an empty counts line marks "not yet".
  await page.evaluate(() => { document.getElementById('cb-counts').textContent = ''; });
  await page.click('#cb-filter button[type=submit]');
  const counts = parseCounts(await waitText(page, '#cb-counts', /Tổng/));
  const rows = await page.$$eval('#cb-rows tr', (trs) => trs.map((tr) => {
    const c = [...tr.cells].map((td) => td.textContent.trim());
    return { code: c[0], applicant: c[1], procedure: c[2], received: c[3], appointment: c[4], status: c[5] };
  }));
  return { counts, rows, codes: rows.map((r) => r.code) };
}

function delta(now, then) {
  return { total: now.total - then.total, new: now.new - then.new, overdue: now.overdue - then.overdue, waiting: now.waiting - then.waiting };
}

/** Opens a dossier from the list, as an officer clicks its code. */
async function openDossier(page, code) {
  await filter(page);
  await page.click(`#cb-rows a[data-code="${code}"]`);
  await waitText(page, '#cb-d-h', re(code));
  await page.locator('#cb-dossier').waitFor({ state: 'visible' });
}

/** Fills and sends one of the step forms under the open dossier; waits for the console's answer. */
async function step(page, action, fill = async () => {}) {
  const form = page.locator(`form.cb-action[data-action="${action}"]`);
  await form.waitFor();
  await page.evaluate(() => { document.getElementById('cb-msg').textContent = ''; });
  await fill(form);
  await form.locator('button[type=submit]').click();
  return waitText(page, '#cb-msg', /./, 'the console\'s message');
}

/** The citizen's tracking page (the one the receipt's link and QR code open). */
async function track(d) {
  const page = await newPage(browser);
  await page.goto(`${BASE}/tra-cuu/?code=${encodeURIComponent(d.code)}&token=${encodeURIComponent(d.token)}`);
  await page.locator('#track-title').waitFor({ timeout: WAIT });
  return page;
}

function vnToday() {
  return new Date(Date.now() + 7 * 3600e3).toISOString().slice(0, 10);
}
function isoPlusDays(iso, days) {
  return new Date(Date.parse(iso + 'T00:00:00Z') + days * 86400e3).toISOString().slice(0, 10);
}
const dmy = (iso) => iso.split('-').reverse().join('/');

/** Finds a dossier's folder in the embedded store (E2E_DATA/s3/{bucket}/dossiers/yyyy/mm/code). */
function dossierDir(code) {
  const s3 = path.join(process.env.E2E_DATA, 's3');
  for (const bucket of readdirSync(s3)) {
    const root = path.join(s3, bucket, 'dossiers');
    if (!existsSync(root)) continue;
    for (const y of readdirSync(root)) {
      for (const m of readdirSync(path.join(root, y))) {
        const dir = path.join(root, y, m, code);
        if (existsSync(path.join(dir, 'dossier.json'))) return { bucketDir: path.join(s3, bucket), dir };
      }
    }
  }
  throw new Error(`dossier ${code} not found under ${s3}`);
}

/**
 * A dossier received six weeks ago and never taken in: D1's manifest under a code of that
 * day, without attachments, plus the change marker every write leaves for the console's
 * index. Written to the embedded store's folder, as the store itself keeps objects.
 */
function seedOldDossier(from) {
  const { bucketDir, dir } = dossierDir(from.code);
  const m = JSON.parse(readFileSync(path.join(dir, 'dossier.json'), 'utf8'));
  const day = isoPlusDays(vnToday(), -42);
  const [y, mo, dd] = day.split('-');
  const code = `${m.unit_code}-${y.slice(2)}${mo}${dd}-${9000 + Math.floor(Math.random() * 999)}`;
  m.code = code;
  m.received_at = `${day}T08:30:00+07:00`;
  m.appointment = { ...m.appointment, day: isoPlusDays(day, 3) };
  m.attachments = [];
  m.contact = { ...m.contact, name: 'Phạm Văn Cũ' };
  const target = path.join(bucketDir, 'dossiers', y, mo, code);
  mkdirSync(path.join(target, 'events'), { recursive: true });
  writeFileSync(path.join(target, 'dossier.json'), JSON.stringify(m, null, 2));
  writeFileSync(path.join(target, 'events', '000001.json'), JSON.stringify({
    at: m.received_at, status: 'received', label: 'Đã tiếp nhận, đang chờ xử lý', note: 'Hồ sơ nộp trực tuyến.',
  }));
  mkdirSync(path.join(bucketDir, 'index', 'changes'), { recursive: true });
  writeFileSync(path.join(bucketDir, 'index', 'changes', `${String(Date.now()).padStart(13, '0')}-${randomBytes(4).toString('hex')}-${code}`), '');
  // Its first notice, which the SMS gateway refused for six weeks: past the 7-day window.
  mkdirSync(path.join(bucketDir, 'outbox'), { recursive: true });
  writeFileSync(path.join(bucketDir, 'outbox', `${code}-received.json`), JSON.stringify({
    code, kind: 'received', created_at: `${day}T08:30:01+07:00`,
    sms: { to: '0977000111', text: `Ho so ${code} da duoc tiep nhan.` },
    attempts: 40, last_error: 'cổng SMS trả lời 503', next_attempt_at: `${day}T20:00:00+07:00`,
  }));
  return { code, day, appointment: m.appointment.day };
}

// ---------- the tests ----------

before(async () => {
  assert.ok(process.env.E2E_DATA, 'E2E_DATA (the server\'s data folder) is set by run.sh');
  addOfficer(A);
  addOfficer(B);
  browser = await launch();
  const online = (await onlineProcedures()).filter((p) => p.processing && p.processing.working_days > 0);
  assert.ok(online.length >= 2, 'two online procedures that take some working days');
  [procMain, procOther] = online;
});
after(async () => { await browser?.close(); });

test('officer A logs in; the counts before this test\'s dossiers', async () => {
  officerA = await login(A);
  baseline = (await filter(officerA)).counts;
});

test('citizens send three dossiers; an old one is in the store; the counts grow by them', async () => {
  Object.assign(d1, await submitDossier(procMain));
  Object.assign(d2, await submitDossier(procOther));
  Object.assign(d3, await submitDossier(procMain));
  Object.assign(old, seedOldDossier(d1));

  const { counts, rows } = await filter(officerA);
  assert.deepEqual(delta(counts, baseline), { total: 4, new: 4, overdue: 1, waiting: 0 }, `counts: ${JSON.stringify(counts)} from ${JSON.stringify(baseline)}`);
  for (const d of [d1, d2, d3]) {
    const row = rows.find((r) => r.code === d.code);
    assert.ok(row, `${d.code} is listed`);
    assert.equal(row.status, 'Đã tiếp nhận, đang chờ xử lý');
    assert.equal(row.procedure, d.procedure.title);
    assert.doesNotMatch(row.appointment, /quá hạn/);
  }
  const late = rows.find((r) => r.code === old.code);
  assert.ok(late, 'the old dossier is listed');
  assert.equal(late.received, dmy(old.day));
  assert.match(late.appointment, new RegExp(`${dmy(old.appointment)} \\(quá hạn\\)`));
  d1.received = rows.find((r) => r.code === d1.code).received; // dd/mm/yyyy as the list shows it
  await axe(officerA, 'the list with the new dossiers');
});

test('the list filters by status, procedure and date', async () => {
  const iso = d1.received.split('/').reverse().join('-');
  let r = await filter(officerA, { status: 'overdue' });
  assert.ok(r.codes.includes(old.code), `overdue shows the old dossier: ${r.codes}`);
  for (const d of [d1, d2, d3]) assert.ok(!r.codes.includes(d.code), `overdue does not show ${d.code}`);
  assert.equal(r.counts.matched, r.counts.overdue);
  assert.ok(r.rows.every((x) => /quá hạn/.test(x.appointment)), 'every overdue row says so');

  r = await filter(officerA, { status: 'new' });
  for (const d of [d1, d2, d3, old]) assert.ok(r.codes.includes(d.code), `"Mới nộp" shows ${d.code}`);
  assert.equal(r.counts.matched, r.counts.new);

  r = await filter(officerA, { procedure: procOther.code, from: iso, to: iso });
  assert.ok(r.codes.includes(d2.code), `procedure ${procOther.code} today shows ${d2.code}: ${r.codes}`);
  assert.ok(!r.codes.includes(d1.code) && !r.codes.includes(d3.code), 'not the other procedure\'s dossiers');
  assert.ok(r.rows.every((x) => x.procedure === procOther.title && x.received === d1.received), JSON.stringify(r.rows));
  await axe(officerA, 'the list filtered by procedure and date');

  r = await filter(officerA, { procedure: procMain.code, from: iso });
  assert.ok(r.codes.includes(d1.code) && r.codes.includes(d3.code) && !r.codes.includes(d2.code), `${r.codes}`);

  // Up to the day before: only older dossiers, the seeded one among them.
  r = await filter(officerA, { to: isoPlusDays(iso, -1) });
  assert.ok(r.codes.includes(old.code), `before today: ${r.codes}`);
  for (const d of [d1, d2, d3]) assert.ok(!r.codes.includes(d.code));
  r = await filter(officerA, { from: old.day, to: old.day, status: 'new' });
  assert.deepEqual(r.codes, [old.code]);

  r = await filter(officerA, { from: isoPlusDays(iso, 1) });
  assert.equal(r.counts.matched, 0);
  assert.equal(r.rows.length, 0);
});

test('papers asked for; the citizen uploads them from the tracking page; the dossier is back at the desk', async () => {
  await openDossier(officerA, d1.code);
  assert.match(await officerA.locator('#cb-d-h').textContent(), /Đã tiếp nhận, đang chờ xử lý/);

  const msg = await step(officerA, 'request-papers', async (f) => {
    await f.locator('textarea[name=missing]').fill(MISSING);
  });
  assert.match(msg, /Đã ghi: Cần bổ sung giấy tờ/);
  await waitText(officerA, '#cb-d-h', /Cần bổ sung giấy tờ/);
  await waitText(officerA, '#cb-d-body', re(`Cần bổ sung: ${MISSING}`));
  await waitText(officerA, '#cb-d-body', re(A.name), 'the history names the officer');
  assert.deepEqual(await officerA.$$eval('form.cb-action', (fs) => fs.map((f) => f.dataset.action)), ['refuse'],
    'while waiting for papers only refusal is offered');
  await axe(officerA, 'a dossier waiting for papers');

  let r = await filter(officerA);
  assert.deepEqual(delta(r.counts, baseline), { total: 4, new: 3, overdue: 1, waiting: 1 });
  assert.equal(r.rows.find((x) => x.code === d1.code).status, 'Cần bổ sung giấy tờ');
  r = await filter(officerA, { status: 'supplement-requested' });
  assert.ok(r.codes.includes(d1.code), `"Chờ bổ sung" shows ${d1.code}`);
  assert.equal(r.counts.matched, r.counts.waiting);

  // The citizen follows the notice's link (the server's tracking page) and sees the
  // request with a plain form to send the papers (no JavaScript needed; its post is
  // tested in submit-fn/tests/admin.rs); here they use the site's tracking page.
  const citizen = await newPage(browser);
  const failed = [];
  citizen.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`); });
  await citizen.goto(`${BASE}/api/track?code=${encodeURIComponent(d1.code)}&token=${encodeURIComponent(d1.token)}`);
  await waitText(citizen, 'main', /Tình trạng: Cần bổ sung giấy tờ/);
  await waitText(citizen, 'main', re(`Cần bổ sung: ${MISSING}`));
  await axe(citizen, 'the server\'s tracking page asking for papers');
  await citizen.getByRole('heading', { name: 'Nộp giấy tờ bổ sung trực tuyến' }).waitFor();
  await citizen.getByRole('button', { name: 'Gửi giấy tờ bổ sung' }).waitFor();
  await citizen.goto(`${BASE}/tra-cuu/?code=${encodeURIComponent(d1.code)}&token=${encodeURIComponent(d1.token)}`);
  await citizen.locator('#track-title').waitFor({ timeout: WAIT });
  await waitText(citizen, '#track-result', /Cần bổ sung giấy tờ/);
  await waitText(citizen, '#track-result', re(MISSING));
  assert.doesNotMatch(await citizen.locator('#track-result').textContent(), re(A.name), 'the officer\'s name stays inside the desk');
  await citizen.locator('#supplement-form').waitFor();
  await axe(citizen, 'the tracking page asking for papers');
  // Sending with no file: a message, nothing sent.
  await citizen.click('#supplement-form button[type=submit]');
  await waitText(citizen, '#sup-status', /chọn ít nhất một tệp/);
  await citizen.setInputFiles('#sup-files', { name: 'ban-sao-khai-sinh.pdf', mimeType: 'application/pdf', buffer: makePdf('Ban sao khai sinh') });
  await citizen.fill('#sup-note', 'Tôi gửi bản sao có chứng thực.');
  await citizen.click('#supplement-form button[type=submit]');
  await waitText(citizen, '#track-result', /Đã gửi giấy tờ bổ sung/);
  await waitText(citizen, '#track-result .status', /Đã bổ sung giấy tờ, chờ cán bộ xem xét/);
  assert.equal(await citizen.locator('#supplement-form').count(), 0, 'the upload form is gone once sent');
  await axe(citizen, 'the tracking page after sending papers');
  // The server's pages name no icon, so the browser asks for /favicon.ico (404); the
  // only failed load allowed.
  assert.deepEqual(failed.filter((f) => !/ \/favicon\.ico$/.test(f)), []);
  assert.deepEqual(citizen.scriptErrors.filter((e) => !/Failed to load resource/.test(e)), []);
  await citizen.context().close();

  // The officer: back among the new ones, with the file.
  r = await filter(officerA);
  assert.deepEqual(delta(r.counts, baseline), { total: 4, new: 4, overdue: 1, waiting: 0 });
  assert.equal(r.rows.find((x) => x.code === d1.code).status, 'Đã bổ sung giấy tờ, chờ cán bộ xem xét');
  await openDossier(officerA, d1.code);
  await waitText(officerA, '#cb-d-h', /Đã bổ sung giấy tờ, chờ cán bộ xem xét/);
  const body = await officerA.locator('#cb-d-body').textContent();
  assert.match(body, /ban-sao-khai-sinh\.pdf \(bổ sung, 1 KB\)/);
  assert.match(body, /Công dân đã gửi 1 tệp bổ sung\. Ghi chú: Tôi gửi bản sao có chứng thực\./);
  assert.deepEqual(await officerA.$$eval('form.cb-action', (fs) => fs.map((f) => f.dataset.action)),
    ['receive', 'request-papers', 'result-ready', 'refuse']);
  await axe(officerA, 'a supplemented dossier');
});

test('received with a chosen day, result ready, sent by post: the citizen sees the postal number', async () => {
  // The officer moves the appointment a week past the proposed day (a week later is the
  // same weekday; a holiday is refused with a message, then the week after is tried).
  const receive = officerA.locator('form.cb-action[data-action="receive"]');
  await receive.waitFor();
  const proposed = await receive.locator('input[name=appointment]').inputValue();
  let chosen;
  for (let weeks = 1; weeks <= 4 && !chosen; weeks++) {
    const day = isoPlusDays(proposed, 7 * weeks);
    const msg = await step(officerA, 'receive', (f) => f.locator('input[name=appointment]').fill(day));
    if (/Đã ghi/.test(msg)) chosen = day;
    else assert.match(msg, /là ngày nghỉ/, 'only a holiday is refused');
  }
  assert.ok(chosen, 'a working day within four weeks');
  await waitText(officerA, '#cb-d-h', /Đã nhận đủ hồ sơ, đang giải quyết/);
  await waitText(officerA, '#cb-d-body', re(`Hẹn trả: ${dmy(chosen)}`));

  // The receipt in the official layout (Mẫu 01): two copies, the day the desk set, the
  // officer who received it; printed, one A4 page each.
  const [sheet] = await Promise.all([
    officerA.context().waitForEvent('page'),
    officerA.getByRole('link', { name: 'In giấy tiếp nhận (Mẫu 01)' }).click(),
  ]);
  await sheet.waitForLoadState();
  const sheetText = await sheet.textContent('main');
  assert.equal((sheetText.match(/GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ/g) || []).length, 2, sheetText);
  for (const part of [d1.code, 'Liên 1: Lưu tại Trung tâm Phục vụ hành chính công xã', 'Liên 2: Giao người nộp hồ sơ', A.name, dmy(chosen), 'NGƯỜI NỘP HỒ SƠ']) {
    assert.ok(sheetText.includes(part), `the printed receipt shows "${part}"`);
  }
  // As served (before axe adds its script to the page).
  const sheetFile = path.join(ARTIFACTS, 'desk-receipt.html');
  writeFileSync(sheetFile, await sheet.content());
  const invalid = await vnuErrors([sheetFile], ARTIFACTS);
  assert.deepEqual(invalid, [], invalid.join('\n'));
  await axe(sheet, 'the printable receipt');
  await sheet.screenshot({ path: path.join(ARTIFACTS, 'desk-receipt.png'), fullPage: true });
  await sheet.emulateMedia({ media: 'print' });
  assert.ok(!(await sheet.locator('.no-print').first().isVisible()), 'the printing hint is not printed');
  const pdf = await sheet.pdf({ format: 'A4', path: path.join(ARTIFACTS, 'desk-receipt.pdf') });
  const pages = (pdf.toString('latin1').match(/\/Type\s*\/Page\b(?!s)/g) || []).length;
  assert.equal(pages, 2, 'one A4 page per copy');
  await sheet.close();

  let citizen = await track(d1);
  await waitText(citizen, '#track-result .status', /Đã nhận đủ hồ sơ, đang giải quyết/);
  const shown = await citizen.$$eval('#track-result dt', (dts) => {
    const dt = dts.find((x) => x.textContent === 'Hẹn trả kết quả');
    return dt ? dt.nextElementSibling.textContent : '';
  });
  assert.match(shown, re(dmy(chosen)), 'the tracking page gives the appointment the desk set');
  await citizen.context().close();

  assert.match(await step(officerA, 'result-ready'), /Đã ghi: Đã có kết quả, mời nhận/);
  await waitText(officerA, '#cb-d-h', /Đã có kết quả, mời nhận/);
  assert.deepEqual(await officerA.$$eval('form.cb-action', (fs) => fs.map((f) => f.dataset.action)), ['hand-over']);
  await axe(officerA, 'a dossier with its result ready');

  // By post without the postal number: told what is missing, nothing recorded.
  let msg = await step(officerA, 'hand-over', (f) => f.getByLabel('Qua bưu điện').check());
  assert.match(msg, /Vui lòng nhập số hiệu bưu gửi/);
  assert.match(await officerA.locator('#cb-msg').getAttribute('class'), /error/);
  await axe(officerA, 'the hand-over form with its error');
  msg = await step(officerA, 'hand-over', async (f) => {
    await f.getByLabel('Qua bưu điện').check();
    await f.getByLabel('Số hiệu bưu gửi').fill(POSTAL);
  });
  assert.match(msg, /Đã ghi: Đã gửi kết quả qua bưu điện/);
  await waitText(officerA, '#cb-d-h', /Đã gửi kết quả qua bưu điện/);
  await waitText(officerA, '#cb-d-body', re(POSTAL));
  await waitText(officerA, '#cb-actions', /^$/, 'no step is left');
  await axe(officerA, 'a dossier sent by post');
  await officerA.screenshot({ path: path.join(ARTIFACTS, 'console-posted.png'), fullPage: true });

  citizen = await track(d1);
  await waitText(citizen, '#track-result .status', /Đã gửi kết quả qua bưu điện/);
  await waitText(citizen, '#track-result', re(`số hiệu bưu gửi: ${POSTAL}`));
  assert.deepEqual(citizen.scriptErrors, []);
  await citizen.context().close();

  const r = await filter(officerA, { status: 'posted' });
  assert.ok(r.codes.includes(d1.code));
  assert.equal(r.rows.find((x) => x.code === d1.code).status, 'Đã gửi kết quả qua bưu điện');
});

test('refused with a reason: the citizen sees it', async () => {
  await openDossier(officerA, d2.code);
  const msg = await step(officerA, 'refuse', (f) => f.getByLabel('Lý do từ chối').fill(REASON));
  assert.match(msg, /Đã ghi: Từ chối giải quyết/);
  await waitText(officerA, '#cb-d-h', /Từ chối giải quyết/);
  await waitText(officerA, '#cb-d-body', re(`Lý do: ${REASON}`));
  await waitText(officerA, '#cb-actions', /^$/, 'no step is left');
  await axe(officerA, 'a refused dossier');

  const citizen = await track(d2);
  await waitText(citizen, '#track-result .status', /Từ chối giải quyết/);
  await waitText(citizen, '#track-result', re(REASON));
  assert.equal(await citizen.locator('#supplement-form').count(), 0);
  assert.deepEqual(citizen.scriptErrors, []);
  await citizen.context().close();

  const r = await filter(officerA, { status: 'refused', procedure: procOther.code });
  assert.ok(r.codes.includes(d2.code));
});

test('two officers on one dossier: the second is told it changed, nothing is overwritten', async () => {
  const officerB = await login(B);
  await openDossier(officerA, d3.code);
  await openDossier(officerB, d3.code);

  // A takes it in; B, still looking at the dossier as it was, asks for papers.
  assert.match(await step(officerA, 'receive'), /Đã ghi: Đã nhận đủ hồ sơ, đang giải quyết/);
  const msg = await step(officerB, 'request-papers', (f) => f.locator('textarea[name=missing]').fill(MISSING));
  assert.match(msg, /Hồ sơ vừa được cán bộ khác cập nhật, vui lòng tải lại/);
  assert.match(await officerB.locator('#cb-msg').getAttribute('class'), /error/);
  await axe(officerB, 'the console telling of a conflict');

  // B reloads, as told: A's step stands, B's was not recorded.
  await officerB.reload();
  await officerB.locator('#cb-app').waitFor({ state: 'visible' });
  await openDossier(officerB, d3.code);
  await waitText(officerB, '#cb-d-h', /Đã nhận đủ hồ sơ, đang giải quyết/);
  let body = await officerB.locator('#cb-d-body').textContent();
  assert.match(body, re(A.name));
  assert.doesNotMatch(body, /Cần bổ sung/);

  // Both press at the same moment: exactly one step is recorded.
  await openDossier(officerA, d3.code);
  const [ma, mb] = await Promise.all([
    step(officerA, 'result-ready'),
    step(officerB, 'refuse', (f) => f.getByLabel('Lý do từ chối').fill(REASON)),
  ]);
  const won = [/Đã ghi/.test(ma), /Đã ghi/.test(mb)];
  assert.equal(won.filter(Boolean).length, 1, `one of "${ma}" and "${mb}" is recorded`);
  const loser = won[0] ? mb : ma;
  assert.match(loser, /Hồ sơ vừa được cán bộ khác cập nhật, vui lòng tải lại/);
  const expected = won[0] ? 'Đã có kết quả, mời nhận' : 'Từ chối giải quyết';
  d3.final = expected;

  await officerB.reload();
  await officerB.locator('#cb-app').waitFor({ state: 'visible' });
  await openDossier(officerB, d3.code);
  await waitText(officerB, '#cb-d-h', re(expected));
  body = await officerB.locator('#cb-d-body').textContent();
  assert.equal((body.match(/Đã có kết quả, mời nhận|Từ chối giải quyết/g) || []).length, 1, `one step in the history:\n${body}`);
  assert.deepEqual(officerB.scriptErrors.filter((e) => !/status of (401|409)/.test(e)), []);
  await officerB.context().close();

  const citizen = await track(d3);
  await waitText(citizen, '#track-result .status', re(expected));
  const seen = await citizen.locator('#track-result').textContent();
  assert.doesNotMatch(seen, /Cần bổ sung/);
  await citizen.context().close();
});

test('the counts at the end, and the outbox with the queued notices', async () => {
  // D1 sent, D2 refused, D3 ready or refused: only the old one is still new and late.
  const { counts } = await filter(officerA);
  assert.deepEqual(delta(counts, baseline), { total: 4, new: 1, overdue: 1, waiting: 0 });

  // A fresh page, as an officer coming back: the outbox view lists every notice waiting.
  await officerA.reload();
  await officerA.locator('#cb-app').waitFor({ state: 'visible' });
  await waitText(officerA, '#cb-outbox', /đang chờ \d+/);
  const table = (caption) => officerA.$$eval('#cb-outbox table', (tables, caption) => {
    const t = tables.find((x) => x.caption && x.caption.textContent.trim() === caption);
    return t ? [...t.tBodies[0].rows].map((tr) => [...tr.cells].map((c) => c.textContent.trim())) : null;
  }, caption);
  const rows = await table('Thông báo đang chờ gửi');
  assert.ok(rows, 'the table of notices waiting');
  const notices = (code) => rows.filter((r) => r[0] === code).map((r) => r[1]);
  assert.deepEqual(notices(d1.code).sort(), ['Đã nhận hồ sơ', 'Yêu cầu bổ sung', 'Đã nhận giấy tờ bổ sung', 'Tiếp nhận, hẹn trả', 'Đã có kết quả', 'Gửi kết quả qua bưu điện'].sort(),
    `D1's notices: ${JSON.stringify(rows.filter((r) => r[0] === d1.code))}`);
  assert.deepEqual(notices(d2.code).sort(), ['Đã nhận hồ sơ', 'Từ chối'].sort());
  assert.deepEqual(notices(d3.code).sort(), ['Đã nhận hồ sơ', 'Tiếp nhận, hẹn trả', d3.final === 'Từ chối giải quyết' ? 'Từ chối' : 'Đã có kết quả'].sort(),
    'a step refused for a conflict sends nothing');
  for (const r of rows.filter((r) => [d1.code, d2.code, d3.code].includes(r[0]))) {
    assert.match(r[2], /SMS 0912345678/, `sent to the applicant's phone: ${r}`);
    assert.equal(r[3], 'Chờ gửi');
  }
  assert.ok(!rows.some((r) => r[0] === old.code), 'a notice past its 7 days is not among those waiting');

  // The old dossier's notice was never sent: the desk sees whom to call and why it failed.
  assert.match(await officerA.textContent('#cb-outbox'), /Không gửi được sau 7 ngày: hãy liên hệ công dân/);
  const gaveUp = await table('Thông báo không gửi được');
  assert.deepEqual(gaveUp?.filter((r) => r[0] === old.code), [[old.code, 'Đã nhận hồ sơ', 'SMS 0977000111', 'cổng SMS trả lời 503']],
    `the given-up notices: ${JSON.stringify(gaveUp)}`);
  await axe(officerA, 'the console with the outbox');
  assert.deepEqual(officerA.scriptErrors.filter((e) => !/status of (401|409|422)/.test(e)), []);
  await officerA.context().close();
});

test('without JavaScript, the citizen sends the papers from the function\'s own tracking page', async () => {
  const d4 = await submitDossier(procMain);
  const officer = await login(A);
  await openDossier(officer, d4.code);
  assert.match(await step(officer, 'request-papers', (f) => f.locator('textarea[name=missing]').fill(MISSING)),
    /Đã ghi: Cần bổ sung giấy tờ/);

  // The link in the SMS and e-mail, opened with scripts off.
  const citizen = await newPage(browser, { javaScriptEnabled: false });
  await citizen.goto(`${BASE}/api/track?code=${encodeURIComponent(d4.code)}&token=${encodeURIComponent(d4.token)}`);
  await waitText(citizen, 'main', /Tình trạng: Cần bổ sung giấy tờ/);
  await citizen.getByRole('heading', { name: 'Nộp giấy tờ bổ sung trực tuyến' }).waitFor();
  await citizen.setInputFiles('#sup-files', { name: 'ban-sao-khai-sinh.pdf', mimeType: 'application/pdf', buffer: makePdf('Ban sao khai sinh') });
  await citizen.fill('#sup-note', 'Gửi từ trang không có JavaScript.');
  await Promise.all([citizen.waitForNavigation(), citizen.getByRole('button', { name: 'Gửi giấy tờ bổ sung' }).click()]);
  // Back on the tracking page, with the new status and no form.
  assert.match(new URL(citizen.url()).pathname, /\/api\/track$/);
  await waitText(citizen, 'main', /Tình trạng: Đã bổ sung giấy tờ, chờ cán bộ xem xét/);
  await waitText(citizen, 'main', /Ghi chú: Gửi từ trang không có JavaScript\./);
  assert.equal(await citizen.getByRole('button', { name: 'Gửi giấy tờ bổ sung' }).count(), 0);
  const after = citizen.url();
  await citizen.context().close();
  // axe needs scripts: the same page again in a page that runs them.
  const seen = await newPage(browser);
  await seen.goto(after);
  await axe(seen, 'the function\'s tracking page after the papers were sent');
  await seen.context().close();

  // The desk sees the file.
  await openDossier(officer, d4.code);
  await waitText(officer, '#cb-d-h', /Đã bổ sung giấy tờ, chờ cán bộ xem xét/);
  assert.match(await officer.locator('#cb-d-body').textContent(), /ban-sao-khai-sinh\.pdf \(bổ sung, 1 KB\)/);
  await officer.context().close();
});
