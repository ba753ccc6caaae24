// Never lose what a citizen typed: drafts on the device, smaller photos, uploads that
// survive a dropped connection, and guides that open offline (issue 18).
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launch, newPage, onlineProcedures, answers, fillForm, makePdf, BASE, MOBILE } from '../lib.js';
import { makePhoto, hasGps, ocrWords } from '../photo-fixture.js';

let browser, khaiSinh;
const sha256 = (b) => createHash('sha256').update(b).digest('hex');
const receiptTimeout = 180_000;

before(async () => {
  browser = await launch();
  khaiSinh = (await onlineProcedures()).find((p) => p.code === '1.001193');
  assert.ok(khaiSinh, 'the birth registration form (1.001193) is online');
});
after(async () => { await browser?.close(); });

const fileFields = (schema) => schema.form.sections.flatMap((s) => s.fields).filter((f) => f.type === 'file');
/** A small PDF for every file field (a field another answer makes required too), `given` for some. */
function filesFor(schema, given) {
  const out = {};
  for (const f of fileFields(schema)) {
    out[f.id] = given[f.id] || { name: `${f.id}.pdf`, mimeType: 'application/pdf', buffer: makePdf(`Giay to ${f.id}`) };
  }
  return out;
}

/** A real PDF of about `size` bytes: one page whose content stream is a long comment. */
function bigPdf(size) {
  const filler = Buffer.alloc(size, 0).map((_, i) => '0123456789abcdef'.charCodeAt((i * 7919 + (i >> 5)) % 16));
  const stream = Buffer.concat([Buffer.from('BT /F1 12 Tf 20 100 Td (Giay chung sinh) Tj ET\n%'), filler, Buffer.from('\n')]);
  const objects = [
    Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'),
    Buffer.from('<< /Type /Pages /Kids [3 0 R] /Count 1 >>'),
    Buffer.from('<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>'),
    Buffer.concat([Buffer.from(`<< /Length ${stream.length} >>\nstream\n`), stream, Buffer.from('endstream')]),
    Buffer.from('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'),
  ];
  const parts = [Buffer.from('%PDF-1.4\n')];
  let len = parts[0].length;
  const offsets = [];
  objects.forEach((o, i) => {
    offsets.push(len);
    const b = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), o, Buffer.from('\nendobj\n')]);
    parts.push(b);
    len += b.length;
  });
  let tail = `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) tail += `${String(o).padStart(10, '0')} 00000 n \n`;
  tail += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${len}\n%%EOF\n`;
  parts.push(Buffer.from(tail));
  return Buffer.concat(parts);
}

/** The stored manifest of dossier `code` and the bytes of each stored file. */
async function storedDossier(code) {
  if (process.env.E2E_S3_ENDPOINT) {
    // The production-shaped stack: moto, read through the S3 API (signed, with boto3,
    // which moto's server installs).
    const py = [
      'import base64, boto3, json, sys',
      "c = boto3.client('s3', endpoint_url=sys.argv[1], aws_access_key_id='local', aws_secret_access_key='local', region_name='ap-southeast-1')",
      "keys = [o['Key'] for p in c.get_paginator('list_objects_v2').paginate(Bucket=sys.argv[2], Prefix='dossiers/') for o in p.get('Contents', [])]",
      "m = [k for k in keys if k.endswith('/' + sys.argv[3] + '/dossier.json')]",
      "man = json.loads(c.get_object(Bucket=sys.argv[2], Key=m[0])['Body'].read()) if m else None",
      "files = {a['key']: base64.b64encode(c.get_object(Bucket=sys.argv[2], Key=a['key'])['Body'].read()).decode() for a in (man or {}).get('attachments', [])}",
      "print(json.dumps({'manifest': man, 'files': files}))",
    ].join('\n');
    const out = JSON.parse(execFileSync('python3', ['-c', py, process.env.E2E_S3_ENDPOINT, process.env.E2E_BUCKET, code], { encoding: 'utf8', maxBuffer: 64 << 20 }));
    assert.ok(out.manifest, `dossier ${code} is stored`);
    const files = Object.fromEntries(Object.entries(out.files).map(([k, b]) => [k, Buffer.from(b, 'base64')]));
    return { manifest: out.manifest, files };
  }
  const s3 = path.join(process.env.E2E_DATA, 's3');
  for (const bucket of readdirSync(s3)) {
    const root = path.join(s3, bucket, 'dossiers');
    if (!existsSync(root)) continue;
    for (const y of readdirSync(root)) {
      for (const m of readdirSync(path.join(root, y))) {
        const dir = path.join(root, y, m, code);
        if (!existsSync(path.join(dir, 'dossier.json'))) continue;
        const manifest = JSON.parse(readFileSync(path.join(dir, 'dossier.json'), 'utf8'));
        const files = {};
        for (const a of manifest.attachments) files[a.key] = readFileSync(path.join(s3, bucket, a.key));
        return { manifest, files };
      }
    }
  }
  throw new Error(`dossier ${code} not found under ${s3}`);
}

async function waitReceipt(page) {
  await page.locator('#receipt').waitFor({ state: 'visible', timeout: receiptTimeout }).catch(async () => {
    const summary = await page.locator('#error-summary').textContent().catch(() => '');
    const status = await page.locator('.form-status').textContent().catch(() => '');
    throw new Error(`no receipt. Summary: ${summary}. Status: ${status}. Script errors: ${page.scriptErrors.join('; ')}`);
  });
  return (await page.locator('#receipt .receipt-code strong').textContent()).trim();
}

describe('drafts on the device', () => {
  test('typing, closing the tab and opening the form again offers the draft back', async () => {
    const p = khaiSinh;
    const page = await newPage(browser, { viewport: MOBILE });
    const context = page.context();
    await page.goto(BASE + p.formPath);
    const values = answers(p.schema);
    await fillForm(page, p.schema, values, {});
    const key = await page.inputValue('input[name=idempotency_key]');
    await page.locator('.draft-note').waitFor({ state: 'visible' });
    assert.match(await page.locator('.draft-note').textContent(), /Bản nháp được lưu trên máy này/);
    const stored = await page.evaluate((k) => localStorage.getItem(k), `motcua-draft:${p.code}`);
    assert.ok(stored, 'the draft is in the browser storage');
    assert.equal(JSON.parse(stored).key, key, 'the draft keeps its idempotency key');
    await page.close();

    const again = await context.newPage();
    again.scriptErrors = [];
    again.on('pageerror', (e) => again.scriptErrors.push(String(e)));
    await again.goto(BASE + p.formPath);
    const offer = again.locator('.draft-offer');
    await offer.waitFor({ state: 'visible' });
    assert.match(await offer.textContent(), /bản nháp chưa gửi/);
    await again.getByRole('button', { name: 'Tiếp tục điền' }).click();
    const textField = p.schema.form.sections.flatMap((s) => s.fields).find((f) => f.type === 'text');
    assert.equal(await again.inputValue(`#f-${textField.id}`), values[textField.id], 'the typed text is back');
    const cid = p.schema.form.sections.flatMap((s) => s.fields).find((f) => f.type === 'citizen_id');
    assert.equal(await again.inputValue(`#f-${cid.id}`), values[cid.id]);
    assert.equal(await again.inputValue('input[name=idempotency_key]'), key, 'the same idempotency key');

    // A shared phone: "Xóa bản nháp" empties the form and the storage.
    await again.getByRole('button', { name: 'Xóa bản nháp' }).click();
    assert.equal(await again.inputValue(`#f-${textField.id}`), '');
    assert.equal(await again.evaluate((k) => localStorage.getItem(k), `motcua-draft:${p.code}`), null);
    assert.notEqual(await again.inputValue('input[name=idempotency_key]'), key, 'a new form fill, a new key');
    await again.reload();
    await again.waitForTimeout(500);
    assert.equal(await again.locator('.draft-offer').count(), 0, 'nothing offered after the draft was deleted');
    assert.deepEqual(again.scriptErrors, []);
    await context.close();
  });

  test('uploaded files are remembered with their staging references, and the draft is cleared once received', async () => {
    const p = khaiSinh;
    const page = await newPage(browser, { viewport: MOBILE });
    const context = page.context();
    // The submission itself does not get through (the tab dies, the network drops).
    await page.route('**/api/dossiers', (r) => r.abort('connectionreset'));
    await page.goto(BASE + p.formPath);
    const pdf = makePdf('Giay chung sinh');
    await fillForm(page, p.schema, answers(p.schema), filesFor(p.schema, { giay_chung_sinh: { name: 'giay-chung-sinh.pdf', mimeType: 'application/pdf', buffer: pdf } }));
    await page.click('#dossier-form button[type=submit]');
    await page.locator('#error-summary').waitFor({ timeout: 60_000 });
    const draft = JSON.parse(await page.evaluate((k) => localStorage.getItem(k), `motcua-draft:${p.code}`));
    assert.equal(draft.uploads?.length, fileFields(p.schema).length, 'the staged files are in the draft');
    assert.ok(draft.until > Date.now(), 'with the time it stays valid');
    await page.close();

    const again = await context.newPage();
    again.scriptErrors = [];
    const puts = [];
    const posts = [];
    again.on('request', (r) => {
      if (r.method() === 'PUT') puts.push(r.url());
      if (r.method() === 'POST' && r.url().endsWith('/api/dossiers')) posts.push(r);
    });
    await again.goto(BASE + p.formPath);
    await again.getByRole('button', { name: 'Tiếp tục điền' }).click();
    assert.match(await again.locator('#f-giay_chung_sinh-status').textContent(), /Đã tải lên "giay-chung-sinh.pdf" từ lần trước/);
    await again.click('#dossier-form button[type=submit]');
    const code = await waitReceipt(again);
    assert.equal(puts.length, 0, 'the remembered file is not sent again');
    assert.equal(posts.length, 1);
    assert.equal(posts[0].postDataJSON().idempotency_key, draft.key, 'the draft\'s idempotency key is sent');
    assert.equal(await again.evaluate((k) => localStorage.getItem(k), `motcua-draft:${p.code}`), null, 'the draft is cleared once received');
    const { manifest, files } = await storedDossier(code);
    const a = manifest.attachments.find((x) => x.field === 'giay_chung_sinh');
    assert.equal(a.sha256, sha256(pdf), 'the stored file is the one chosen');
    assert.equal(sha256(files[a.key]), sha256(pdf));
    await context.close();
  });

  test('a draft older than the staging lifetime keeps its text and asks for the files again', async () => {
    const p = khaiSinh;
    const page = await newPage(browser, { viewport: MOBILE });
    await page.goto(BASE + p.formPath);
    const first = p.schema.form.sections.flatMap((s) => s.fields).find((f) => f.type === 'text');
    await page.evaluate(({ k, id, text }) => localStorage.setItem(k, JSON.stringify({
      v: 1, saved: Date.now() - 3600e3, form_version: 'old', fields: [id], key: 'draft-key-0001',
      values: { ['f-' + id]: text }, pow: 'eyJ9', until: Date.now() - 60e3,
      uploads: [{ field: 'giay_chung_sinh', key: 'uploads/x/y/1-a.pdf', name: 'cu.pdf' }],
    })), { k: `motcua-draft:${p.code}`, id: first.id, text: 'Lò Văn Tú' });
    await page.reload();
    await page.getByRole('button', { name: 'Tiếp tục điền' }).click();
    assert.equal(await page.inputValue(`#f-${first.id}`), 'Lò Văn Tú', 'the text is kept');
    assert.equal(await page.inputValue('input[name=idempotency_key]'), 'draft-key-0001');
    assert.match(await page.locator('#f-giay_chung_sinh-status').textContent(), /quá thời gian máy chủ giữ. Vui lòng chọn lại tệp/);
    assert.match(await page.locator('.form-status').textContent(), /Biểu mẫu đã được xã cập nhật/, 'a changed form is announced');
    // Sent without choosing the file again: asked for it, nothing goes out without it.
    await page.click('#dossier-form button[type=submit]');
    await page.locator('#error-summary').waitFor();
    assert.match(await page.locator('#error-summary').textContent(), /Vui lòng đính kèm/);
    await page.context().close();
  });
});

describe('uploads that survive', () => {
  test('slow 3G and a connection cut in the middle of a large upload: one dossier, every file intact', async () => {
    const p = khaiSinh;
    const page = await newPage(browser, { viewport: MOBILE });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    // Chrome DevTools' "Slow 3G": 2 s round trip, about 50 KB/s each way.
    const slow3g = { offline: false, latency: 2000, downloadThroughput: 51200, uploadThroughput: 51200 };
    await page.goto(BASE + p.formPath);
    const pdf = bigPdf(1_200_000);
    const toKhai = bigPdf(60_000);
    const puts = [];
    const posts = [];
    page.on('request', (r) => {
      if (r.method() === 'PUT') puts.push(r.url());
      if (r.method() === 'POST' && r.url().endsWith('/api/dossiers')) posts.push(r);
    });
    const files = filesFor(p.schema, {
      giay_chung_sinh: { name: 'giay-chung-sinh.pdf', mimeType: 'application/pdf', buffer: pdf },
      to_khai: { name: 'to-khai.pdf', mimeType: 'application/pdf', buffer: toKhai },
    });
    await fillForm(page, p.schema, answers(p.schema), files);
    // The connection is cut while the large file goes up: the phone goes offline for
    // 4 seconds and that PUT fails. (Chromium's emulated offline does not break a
    // request already under way, so the failure of the first attempt is given by a
    // route, at the moment the phone goes offline.)
    let cut = 0;
    await page.route((url) => url.pathname.includes('/uploads/') && url.pathname.endsWith('giay-chung-sinh.pdf'), async (route) => {
      if (route.request().method() !== 'PUT' || cut++ > 0) return route.continue();
      await new Promise((ok) => setTimeout(ok, 3000));
      await cdp.send('Network.emulateNetworkConditions', { ...slow3g, offline: true });
      await route.abort('internetdisconnected');
      setTimeout(() => cdp.send('Network.emulateNetworkConditions', slow3g).catch(() => {}), 4000);
    });
    await cdp.send('Network.emulateNetworkConditions', slow3g);
    await page.click('#dossier-form button[type=submit]');
    await page.locator('#f-giay_chung_sinh-status', { hasText: /tự gửi lại tệp khi có mạng/ }).waitFor({ timeout: 120_000 });
    const said = await page.locator('#f-giay_chung_sinh-status').textContent();
    const code = await waitReceipt(page);
    assert.match(said, /Bạn không cần làm gì/);
    assert.equal(posts.length, 1, 'one submission');
    assert.ok(cut >= 2, `the cut file was sent again (${cut} attempts)`);
    const { manifest, files: stored } = await storedDossier(code);
    const want = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, sha256(f.buffer)]));
    assert.equal(manifest.attachments.length, Object.keys(files).length, 'every file is in the dossier');
    for (const a of manifest.attachments) {
      assert.equal(a.sha256, want[a.field], `${a.field}: the manifest's sha256 is the file's`);
      assert.equal(sha256(stored[a.key]), want[a.field], `${a.field}: the stored bytes are the file's`);
    }
    assert.deepEqual(page.scriptErrors.filter((e) => !/ERR_INTERNET_DISCONNECTED|Failed to load resource/.test(e)), []);
    await page.context().close();
  });

  test('an upload URL refused as expired is replaced by a fresh one', async () => {
    const p = khaiSinh;
    const page = await newPage(browser, { viewport: MOBILE });
    await page.goto(BASE + p.formPath);
    let refused = 0;
    const tickets = [];
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/api/uploads')) tickets.push(r); });
    await page.route((url) => url.pathname.includes('/uploads/') && !url.pathname.startsWith('/api/'), async (route) => {
      if (route.request().method() === 'PUT' && refused === 0) {
        refused++;
        return route.fulfill({ status: 403, contentType: 'application/xml', body: '<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>' });
      }
      return route.continue();
    });
    const pdf = makePdf('Giay chung sinh');
    await fillForm(page, p.schema, answers(p.schema), filesFor(p.schema, { giay_chung_sinh: { name: 'giay-chung-sinh.pdf', mimeType: 'application/pdf', buffer: pdf } }));
    await page.click('#dossier-form button[type=submit]');
    const code = await waitReceipt(page);
    assert.equal(refused, 1);
    assert.equal(tickets.length, 2, 'a second ticket was asked for');
    assert.equal(tickets[1].postDataJSON().files.length, 1, 'for the refused file only');
    const { manifest } = await storedDossier(code);
    assert.equal(manifest.attachments.find((x) => x.field === 'giay_chung_sinh').sha256, sha256(pdf));
    page.scriptErrors = page.scriptErrors.filter((e) => !/403/.test(e));
    assert.deepEqual(page.scriptErrors, []);
    await page.context().close();
  });
});

describe('smaller photos', () => {
  test('a 4 MB phone photo goes up under 1 MB, without its location, and its text still reads', async () => {
    const p = khaiSinh;
    const page = await newPage(browser, { viewport: MOBILE });
    await page.goto(BASE + p.formPath);
    const { jpeg, text } = await makePhoto(page);
    assert.ok(jpeg.length > 3_500_000 && jpeg.length < 5_242_880, `the photo is about 4 MB (${jpeg.length} bytes)`);
    assert.ok(hasGps(jpeg), 'the fixture carries GPS data');
    await fillForm(page, p.schema, answers(p.schema), filesFor(p.schema, { giay_chung_sinh: { name: 'anh-chup.jpg', mimeType: 'image/jpeg', buffer: jpeg } }));
    const note = page.locator('#f-giay_chung_sinh-size');
    await note.waitFor({ timeout: 30_000 });
    assert.match(await note.textContent(), /Ảnh đã được thu nhỏ để gửi nhanh hơn: [\d,]+ MB → \d+ KB\./);
    const held = await page.evaluate(() => { const f = document.getElementById('f-giay_chung_sinh').files[0]; return { name: f.name, size: f.size }; });
    assert.ok(held.name.endsWith('.jpg') && held.size < 1_000_000, `the field holds the smaller photo for a plain post too (${JSON.stringify(held)})`);
    await page.click('#dossier-form button[type=submit]');
    const code = await waitReceipt(page);
    const { manifest, files: stored } = await storedDossier(code);
    const photo = manifest.attachments.find((x) => x.field === 'giay_chung_sinh');
    const sent = stored[photo.key];
    assert.ok(sent.length < 1_000_000, `the photo sent is under 1 MB (${sent.length} bytes)`);
    assert.deepEqual([...sent.subarray(0, 3)], [0xff, 0xd8, 0xff], 'a JPEG');
    assert.ok(!hasGps(sent), 'no location data');
    assert.equal(photo.sha256, sha256(sent), 'the dossier holds the smaller photo');
    assert.ok(photo.name.endsWith('.jpg'));

    const dir = mkdtempSync(path.join(os.tmpdir(), 'motcua-ocr-'));
    try {
      writeFileSync(path.join(dir, 'before.jpg'), jpeg);
      writeFileSync(path.join(dir, 'after.jpg'), sent);
      const before = ocrWords(path.join(dir, 'before.jpg'), text);
      const after = ocrWords(path.join(dir, 'after.jpg'), text);
      console.log(`OCR (tesseract, vie): words read before ${before.found}/${before.total}, after ${after.found}/${after.total}; sizes ${jpeg.length} → ${sent.length} bytes`);
      assert.ok(after.found >= 0.9 * before.found, `the text survives the resize (${after.found} vs ${before.found} words)`);
      assert.ok(after.found >= 0.8 * after.total, `most words read after (${after.found}/${after.total})`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await page.context().close();
  });
});

describe('guides that open offline', () => {
  test('a guide opened once opens again with the network offline; /api/ is never kept', async () => {
    const p = khaiSinh;
    const page = await newPage(browser, { viewport: MOBILE });
    const sw = await fetch(BASE + '/sw.js');
    assert.equal(sw.status, 200);
    assert.equal(sw.headers.get('cache-control'), 'no-cache', 'the worker is served without caching');
    await page.goto(BASE + p.pagePath);
    const title = (await page.locator('h1').textContent()).trim();
    await page.waitForFunction(async () => {
      const keys = await caches.open('motcua-pages-v1').then((c) => c.keys());
      return keys.some((k) => new URL(k.url).pathname === location.pathname) && keys.some((k) => /\/assets\/site\./.test(k.url));
    }, null, { timeout: 15_000, polling: 200 });
    // The home page and the form, visited with the worker in control.
    await page.goto(BASE + '/');
    await page.goto(BASE + p.formPath);
    await page.waitForTimeout(1000);
    await page.context().setOffline(true);
    await page.goto(BASE + p.pagePath);
    assert.equal((await page.locator('h1').textContent()).trim(), title, 'the guide opens offline');
    await page.goto(BASE + '/');
    assert.ok(await page.locator('h1').count(), 'the catalogue opens offline');
    const kept = await page.evaluate(async () => (await caches.open('motcua-pages-v1').then((c) => c.keys())).map((k) => new URL(k.url).pathname));
    assert.ok(!kept.some((u) => u.startsWith('/api/')), `nothing under /api/ is kept: ${kept.join(' ')}`);
    await page.context().setOffline(false);
    await page.context().close();
  });
});
