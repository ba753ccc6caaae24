// Every generated page is valid HTML for the Nu Html Checker (vnu), in one batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { E2E_DIR, SITE_DIR, walkHtml } from '../lib.js';

test('vnu: no errors in any page under site/', async () => {
  const files = walkHtml(SITE_DIR);
  assert.ok(files.length > 10, `site/ holds the generated pages (found ${files.length})`);
  const jar = path.join(E2E_DIR, 'node_modules/vnu-jar/build/dist/vnu.jar');
  const out = await new Promise((resolve) => {
    execFile('java', ['-Xss4m', '-jar', jar, '--errors-only', '--format', 'json', ...files],
      { maxBuffer: 64 << 20 }, (err, stdout, stderr) => resolve(stderr || stdout));
  });
  const messages = JSON.parse(out).messages.filter((m) => m.type === 'error' || m.subType === 'fatal');
  const report = messages.map((m) => `${path.relative(SITE_DIR, new URL(m.url).pathname)}:${m.lastLine}: ${m.message}`);
  assert.deepEqual(report, [], report.join('\n'));
});
