// Shared helpers for the end-to-end tests: the browser, the site's catalogue, and a
// citizen who fills a procedure's form from its schema.
import { chromium } from 'playwright-core';
import { readFileSync, mkdirSync, existsSync, readdirSync } from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import os from 'node:os';
import zlib from 'node:zlib';

import assert from 'node:assert/strict';

export const E2E_DIR = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(E2E_DIR, '..');
export const SITE_DIR = process.env.SITE_DIR || path.join(ROOT, 'site');
export const BASE = (process.env.E2E_BASE || 'http://127.0.0.1:8787').replace(/\/$/, '');
export const ARTIFACTS = path.join(E2E_DIR, 'artifacts');

// The plain form's question ("Bảy cộng hai bằng mấy?"), answered from its words as a
// person would.
const NUMBER_WORDS = ['không', 'một', 'hai', 'ba', 'bốn', 'năm', 'sáu', 'bảy', 'tám', 'chín', 'mười',
  'mười một', 'mười hai', 'mười ba', 'mười bốn', 'mười lăm', 'mười sáu', 'mười bảy', 'mười tám', 'mười chín', 'hai mươi'];
export function solveQuestion(question) {
  const m = question.trim().toLowerCase().match(/^(.+?) (cộng|trừ) (.+?) bằng mấy\?$/u);
  if (!m) throw new Error(`not a question this test can answer: ${question}`);
  const [a, b] = [m[1], m[3]].map((w) => NUMBER_WORDS.indexOf(w));
  if (a < 0 || b < 0) throw new Error(`unknown number words in: ${question}`);
  return m[2] === 'cộng' ? a + b : a - b;
}

/** Reads the question in the form page's frame and types the answer, as a person would. */
export async function answerQuestion(page) {
  const frame = page.locator('iframe.gate-frame');
  await frame.scrollIntoViewIfNeeded();
  const question = await page.frameLocator('iframe.gate-frame').locator('.gate-question').textContent();
  await page.fill('#f-human_answer', String(solveQuestion(question)));
  return question;
}

mkdirSync(ARTIFACTS, { recursive: true });

export const MOBILE = { width: 360, height: 740 };

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page that fails the test on any uncaught script error. */
export async function newPage(browser, options = {}) {
  const context = await browser.newContext({ locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh', ...options });
  const page = await context.newPage();
  page.scriptErrors = [];
  page.on('pageerror', (e) => page.scriptErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') page.scriptErrors.push('console: ' + m.text()); });
  return page;
}

function submitFnBin() {
  for (const p of [process.env.SUBMIT_FN_BIN, path.join(ROOT, 'target/debug/submit-fn'), path.join(ROOT, 'target/release/submit-fn')]) {
    if (p && existsSync(p)) return p;
  }
  throw new Error('submit-fn binary not found: build it with `cargo build -p submit-fn` or set SUBMIT_FN_BIN');
}

/**
 * An officer's account, made as the commune makes one: `submit-fn officer add`, the
 * password on standard input, into the server's own store: the embedded store's folder
 * (E2E_DATA) under `generator serve`, or moto through the S3 API (E2E_S3_ENDPOINT,
 * E2E_BUCKET) in the production-shaped stack.
 */
export function addOfficer({ login, name, password, role = 'officer' }) {
  const env = { ...process.env };
  if (process.env.E2E_S3_ENDPOINT) {
    Object.assign(env, {
      MOTCUA_S3_ENDPOINT: process.env.E2E_S3_ENDPOINT,
      MOTCUA_BUCKET: process.env.E2E_BUCKET,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'ap-southeast-1',
      // Its development secrets are not used with a bucket; kept out of the checkout.
      MOTCUA_DATA_DIR: path.join(os.tmpdir(), 'motcua-officer-cli'),
    });
  } else {
    if (!process.env.E2E_DATA) throw new Error("E2E_DATA (the server's data folder) is set by run.sh");
    env.MOTCUA_DATA_DIR = process.env.E2E_DATA;
    delete env.MOTCUA_S3_ENDPOINT;
    delete env.MOTCUA_BUCKET;
  }
  execFileSync(submitFnBin(), ['officer', 'add', '--login', login, '--name', name, '--role', role, '--replace'], {
    input: password + '\n', env, stdio: ['pipe', 'inherit', 'inherit'],
  });
}

export async function getJson(urlPath) {
  const r = await fetch(BASE + urlPath);
  if (!r.ok) throw new Error(`${urlPath}: HTTP ${r.status}`);
  return r.json();
}

/** Online procedures (level 3/4) with their form schema. */
export async function onlineProcedures() {
  const cat = await getJson('/api/procedures.json');
  const out = [];
  for (const p of cat.procedures.filter((p) => p.level >= 3)) {
    const schema = await getJson(`/api/forms/${p.code}.json`);
    out.push({ ...p, schema, formPath: new URL(p.form_url, BASE).pathname, pagePath: new URL(p.url, BASE).pathname });
  }
  return out;
}

// ---------- test files, generated ----------

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A small real PNG (grey square). */
export function makePng(size = 16) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; ihdr[9] = 0; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const rows = Buffer.alloc((size + 1) * size, 0x99);
  for (let y = 0; y < size; y++) rows[y * (size + 1)] = 0;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(rows)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A small valid one-page PDF with correct cross-reference offsets. */
export function makePdf(text = 'Giay to thu') {
  const stream = `BT /F1 12 Tf 20 100 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets = [];
  objects.forEach((o, i) => { offsets.push(out.length); out += `${i + 1} 0 obj\n${o}\nendobj\n`; });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** A real JPEG, drawn and encoded by the browser itself. */
export async function makeJpeg(page) {
  const b64 = await page.evaluate(() => {
    const c = document.createElement('canvas');
    c.width = 64; c.height = 48;
    const g = c.getContext('2d');
    g.fillStyle = '#eee'; g.fillRect(0, 0, 64, 48);
    g.fillStyle = '#a4161a'; g.fillRect(8, 8, 30, 20);
    return c.toDataURL('image/jpeg', 0.8).split(',')[1];
  });
  return Buffer.from(b64, 'base64');
}

// ---------- a citizen filling the form ----------

function isoDaysFromToday(days) {
  const d = new Date(Date.now() + 7 * 3600e3 + days * 86400e3);
  return d.toISOString().slice(0, 10);
}

const BIRTH = '1990-05-12';

/** Valid values for every field of a schema, as a citizen would type them. */
export function answers(schema) {
  const fields = schema.form.sections.flatMap((s) => s.fields);
  const wanted = {};
  for (const f of fields) if (f.required_if) wanted[f.required_if.field] = f.required_if.equals;
  const births = new Set(fields.filter((f) => f.birth_date_field).map((f) => f.birth_date_field));
  const v = {};
  for (const f of fields) {
    switch (f.type) {
      case 'text': {
        let s = /ho_ten|ten/.test(f.id) ? 'Nguyễn Thị Hoa' : /dan_toc/.test(f.id) ? 'Kinh' : 'Thôn Plei Ia Pết';
        if (f.max_length) s = s.slice(0, f.max_length);
        while (f.min_length && s.length < f.min_length) s += ' a';
        v[f.id] = s;
        break;
      }
      case 'textarea': v[f.id] = 'Trạm y tế xã Ia Pết, tỉnh Gia Lai'; break;
      case 'date':
        if (f.min_date === 'today') v[f.id] = isoDaysFromToday(10);
        else if (births.has(f.id)) v[f.id] = BIRTH;
        else v[f.id] = isoDaysFromToday(-30);
        break;
      case 'citizen_id': v[f.id] = f.birth_date_field ? '064090012345' : '064195012345'; break;
      case 'phone': v[f.id] = '0912 345 678'; break;
      case 'email': v[f.id] = 'hoa.nguyen@example.com'; break;
      case 'number': v[f.id] = String(f.min ?? 1); break;
      case 'select': case 'radio':
        v[f.id] = wanted[f.id] && f.options.some((o) => o.value === wanted[f.id]) ? wanted[f.id] : f.options[0].value;
        break;
      case 'checkbox':
        // A list: its first option, and the one another field depends on (e-mail
        // notices, which show the address field), so that every field gets filled.
        if (f.options && f.options.length) {
          v[f.id] = [...new Set([f.options[0].value, ...(f.options.some((o) => o.value === wanted[f.id]) ? [wanted[f.id]] : [])])];
        } else v[f.id] = true;
        break;
      case 'address': v[f.id] = { detail: 'Thôn Plei Ia Pết', commune: 'Ia Pết', district: '', province: 'Gia Lai' }; break;
      case 'file': v[f.id] = 'file'; break;
    }
  }
  // Birth dates are in the past; make sure the dependent IDs agree (1990 → 0, 90).
  return v;
}

/** Fills the form on `page` with `values` (from answers()); attaches `files` by field id. */
export async function fillForm(page, schema, values, files) {
  const fields = schema.form.sections.flatMap((s) => s.fields);
  for (const f of fields) {
    const v = values[f.id];
    if (v === undefined) continue;
    const box = page.locator(`#field-${f.id}`);
    if (!(await box.isVisible())) continue;
    switch (f.type) {
      case 'select': await page.selectOption(`#f-${f.id}`, v); break;
      case 'radio': {
        const n = f.options.findIndex((o) => o.value === v);
        await page.check(n === 0 ? `#f-${f.id}` : `#f-${f.id}-${n}`);
        break;
      }
      case 'checkbox':
        if (Array.isArray(v)) {
          for (const one of v) {
            const n = f.options.findIndex((o) => o.value === one);
            await page.check(n === 0 ? `#f-${f.id}` : `#f-${f.id}-${n}`);
          }
        } else if (v) await page.check(`#f-${f.id}`);
        break;
      case 'address':
        for (const [part, text] of Object.entries(v)) if (text) await page.fill(`#f-${f.id}-${part}`, text);
        break;
      case 'file':
        if (files && files[f.id]) await page.setInputFiles(`#f-${f.id}`, files[f.id]);
        break;
      default: await page.fill(`#f-${f.id}`, v);
    }
  }
}

/** One attachment per file field, cycling PDF, JPEG and PNG. */
export async function attachmentsFor(page, schema) {
  const jpeg = await makeJpeg(page);
  const kinds = [
    { name: 'giay-to.pdf', mimeType: 'application/pdf', buffer: makePdf() },
    { name: 'ảnh chụp giấy tờ.jpg', mimeType: 'image/jpeg', buffer: jpeg },
    { name: 'ban-quet.png', mimeType: 'image/png', buffer: makePng() },
  ];
  const out = {};
  let n = 0;
  for (const f of schema.form.sections.flatMap((s) => s.fields)) {
    if (f.type !== 'file') continue;
    const accept = f.accept && f.accept.length ? f.accept : ['pdf', 'jpeg', 'png'];
    let k;
    for (let i = 0; i < kinds.length; i++) {
      k = kinds[(n + i) % kinds.length];
      const kind = k.mimeType.split('/')[1];
      if (accept.includes(kind)) break;
    }
    out[f.id] = k;
    n++;
  }
  return out;
}

export function walkHtml(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walkHtml(p, out);
    else if (e.name.endsWith('.html')) out.push(p);
  }
  return out;
}

let axeSource;
export async function runAxe(page) {
  // Evaluated through the DevTools protocol, not as a <script>: the production CSP
  // (script-src 'self') refuses inline scripts, and the pages must keep it.
  axeSource ??= readFileSync(path.join(E2E_DIR, 'node_modules/axe-core/axe.min.js'), 'utf8');
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n    ` +
    v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' — ' + n.failureSummary.replace(/\n/g, ' ')).join('\n    '));
}

export function readText(p) { return readFileSync(p, 'utf8'); }

/** The Nu Html Checker's errors for `files` (vnu-jar on the machine's Java), one line each. */
export async function vnuErrors(files, base = SITE_DIR) {
  const jar = path.join(E2E_DIR, 'node_modules/vnu-jar/build/dist/vnu.jar');
  const out = await new Promise((resolve) => {
    execFile('java', ['-Xss4m', '-jar', jar, '--errors-only', '--format', 'json', ...files],
      { maxBuffer: 64 << 20 }, (err, stdout, stderr) => resolve(stderr || stdout));
  });
  return JSON.parse(out).messages
    .filter((m) => m.type === 'error' || m.subType === 'fatal')
    .map((m) => `${path.relative(base, decodeURIComponent(new URL(m.url).pathname))}:${m.lastLine}: ${m.message}`);
}

// ---------- the console, as an officer uses it ----------

const CONSOLE_WAIT = 15_000;

/** A page of the console (/can-bo/) signed in as `o` (made first with addOfficer). */
export async function consoleAs(browser, o) {
  const page = await newPage(browser);
  await page.goto(`${BASE}/can-bo/`);
  await page.fill('#cb-user', o.login);
  await page.fill('#cb-pass', o.password);
  await page.click('#cb-login-form button[type=submit]');
  await page.locator('#cb-app').waitFor({ state: 'visible' });
  return page;
}

/** Opens dossier `code` from the console's list. */
export async function openDossier(page, code) {
  await page.click('#cb-filter button[type=submit]');
  await page.locator(`#cb-rows a[data-code="${code}"]`).click();
  await page.waitForFunction((c) => document.getElementById('cb-d-h').textContent.includes(c), code, { timeout: CONSOLE_WAIT });
}

/** Takes the desk's step `action` on the open dossier (`fill` fills its form); the console must say "Đã ghi". */
export async function takeStep(page, action, fill = async () => {}) {
  const form = page.locator(`form.cb-action[data-action="${action}"]`);
  await form.waitFor({ timeout: CONSOLE_WAIT });
  await page.evaluate(() => { document.getElementById('cb-msg').textContent = ''; });
  await fill(form);
  await form.locator('button[type=submit]').click();
  await page.waitForFunction(() => document.getElementById('cb-msg').textContent !== '', null, { timeout: CONSOLE_WAIT });
  const said = await page.locator('#cb-msg').textContent();
  assert.match(said, /^Đã ghi/, `${action}: ${said}`);
}
