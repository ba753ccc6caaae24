// Valid HTML for the Nu Html Checker (vnu): every generated page, in one batch, and the
// pages the function writes itself (tracking, messages, the form with its errors).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BASE, SITE_DIR, walkHtml, vnuErrors } from '../lib.js';

test('vnu: no errors in any page under site/', async () => {
  const files = walkHtml(SITE_DIR);
  assert.ok(files.length > 10, `site/ holds the generated pages (found ${files.length})`);
  const report = await vnuErrors(files);
  assert.deepEqual(report, [], report.join('\n'));
});

test("vnu: no errors in the function's own pages", async () => {
  const form = new FormData();
  form.set('procedure', '1.001193');
  form.set('website', '');
  form.set('human_answer', '99');
  const pages = {
    'track-form': await fetch(`${BASE}/api/track`),
    'question-frame': await fetch(`${BASE}/api/gate`),
    'track-unknown': await fetch(`${BASE}/api/track?code=H21.55.01-250101-0001&token=khong-dung`),
    'form-errors': await fetch(`${BASE}/api/dossiers/form`, { method: 'POST', body: form }),
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'motcua-vnu-'));
  const files = [];
  for (const [name, response] of Object.entries(pages)) {
    assert.match(response.headers.get('content-type') || '', /text\/html/, `${name} is a page`);
    const file = path.join(dir, `${name}.html`);
    writeFileSync(file, await response.text());
    files.push(file);
  }
  const report = await vnuErrors(files, dir);
  assert.deepEqual(report, [], report.join('\n'));
});
