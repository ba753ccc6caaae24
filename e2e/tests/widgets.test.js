// The home page's widgets in the browser: visitor statistics and the opinion poll, through
// the real function and store. Each browser context is a new visitor (its own
// sessionStorage and localStorage), as a citizen's phone would be.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, runAxe, getJson, BASE } from '../lib.js';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** The figures the statistics box shows, as numbers (vi-VN groups thousands with "."). */
async function shownStats(page) {
  await page.locator('#stats').waitFor({ state: 'visible' });
  await page.waitForFunction(() => !document.querySelector('#stats [data-stat="total"]').textContent.includes('–'));
  return page.$$eval('#stats [data-stat]', (dds) => Object.fromEntries(dds.map((d) => [d.dataset.stat, Number(d.textContent.replace(/\D/g, ''))])));
}

/** The poll's results list: option label → votes. */
async function shownResults(page) {
  await page.locator('#poll .poll-results').waitFor({ state: 'visible' });
  const items = await page.$$eval('#poll .poll-results li', (lis) => lis.map((li) => li.textContent));
  return Object.fromEntries(items.map((t) => {
    const m = t.match(/^(.*): ([\d.]+) \(\d+%\)/);
    return [m[1], Number(m[2].replace(/\./g, ''))];
  }));
}

/**
 * Waits for the figures to be folded from the visits after `since` (ms): every few
 * seconds locally (MOTCUA_WIDGETS_FOLD_INTERVAL), once a minute in production. Each
 * visitor's answer holds the last fold's figures and their own visit, so another
 * visitor's counts only once a fold has listed it.
 */
async function foldedAfter(since) {
  for (let i = 0; i < 150; i++) {
    const f = await getJson('/api/stats');
    if (f.as_of && Date.parse(f.as_of) > since) return f;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the statistics were not folded within 30 s');
}

test('a visitor sees the statistics; a reload is not a new visit, another phone is', async () => {
  const a = await newPage(browser);
  await a.goto(BASE + '/');
  const first = await shownStats(a);
  const visited = Date.now();
  assert.ok(first.today >= 1 && first.total >= first.today, JSON.stringify(first));
  assert.ok(first.week >= first.today && first.month >= first.week && first.year >= first.month, JSON.stringify(first));
  assert.ok(first.online >= 1);

  await a.reload();
  const reloaded = await shownStats(a);
  assert.equal(reloaded.total, first.total, 'a reload in the same session counts nothing');

  await foldedAfter(visited);
  const b = await newPage(browser);
  await b.goto(BASE + '/');
  const other = await shownStats(b);
  assert.equal(other.total, first.total + 1, 'another visitor counts once');
  assert.equal(other.today, first.today + 1);
  assert.ok(other.online >= 2, `both visitors are online: ${other.online}`);
  assert.match(await b.textContent('#stats .stats-as-of'), /^Số liệu cập nhật lúc \d\d:\d\d\.$/);
  assert.deepEqual([...a.scriptErrors, ...b.scriptErrors], []);
  await a.context().close();
  await b.context().close();
});

test('the poll: a vote shows the results, once per browser; another browser adds one', async () => {
  const before = await getJson('/api/polls/tim-thay-trang');
  const page = await newPage(browser);
  await page.goto(BASE + '/');
  await page.locator('#poll').waitFor({ state: 'visible' });

  // Sending without a choice asks for one.
  await page.click('#poll button[type="submit"]');
  assert.match(await page.textContent('#poll .poll-note'), /Hãy chọn một phương án/);

  const choice = page.locator('#poll input[name="option"]').nth(1);
  const label = (await page.locator('#poll fieldset label').nth(1).textContent()).trim();
  await choice.check();
  await page.click('#poll button[type="submit"]');
  const results = await shownResults(page);
  const was = before.options.find((o) => o.label === label);
  assert.ok(was, `the option "${label}" is one of the poll's`);
  assert.equal(results[label], was.votes + 1, JSON.stringify(results));
  assert.match(await page.textContent('#poll .poll-note'), new RegExp(`Cảm ơn bạn đã bình chọn\\. Tổng số: ${before.total + 1} lượt`));
  assert.ok(!(await page.locator('#poll form').isVisible()), 'the form gives way to the results');
  assert.deepEqual(await runAxe(page), []);

  // Back on the page later: the results, not the form.
  await page.reload();
  await shownResults(page);
  assert.match(await page.textContent('#poll .poll-note'), /Cảm ơn bạn đã bình chọn/);

  // Even with the page's memory of the vote wiped, the function allows one vote.
  await page.evaluate(() => localStorage.removeItem('motcua-poll-tim-thay-trang-voted'));
  await page.reload();
  await page.locator('#poll form').waitFor({ state: 'visible' });
  await page.locator('#poll input[name="option"]').nth(0).check();
  await page.click('#poll button[type="submit"]');
  const again = await shownResults(page);
  assert.match(await page.textContent('#poll .poll-note'), /Bạn đã bình chọn rồi/);
  assert.equal(again[label], was.votes + 1, 'the second vote changed nothing');

  // Another phone votes for the same option.
  const other = await newPage(browser);
  await other.goto(BASE + '/');
  await other.locator('#poll input[name="option"]').nth(1).check();
  await other.click('#poll button[type="submit"]');
  const after = await shownResults(other);
  assert.equal(after[label], was.votes + 2);
  const total = (await getJson('/api/polls/tim-thay-trang')).total;
  assert.equal(total, before.total + 2);
  assert.deepEqual([...page.scriptErrors, ...other.scriptErrors].filter((e) => !/status of 409/.test(e)), []);
  await page.context().close();
  await other.context().close();
});

test('without JavaScript the home page reads fine and the widgets stay out of the way', async () => {
  const page = await newPage(browser, { javaScriptEnabled: false });
  await page.goto(BASE + '/');
  assert.ok(await page.locator('h1').isVisible());
  assert.ok((await page.locator('main a[href*="/thu-tuc/"]').count()) > 0, 'the catalogue is there');
  assert.ok(!(await page.locator('#stats').isVisible()), 'no empty statistics box');
  assert.ok(!(await page.locator('#poll').isVisible()), 'no poll that could not be sent');
  await page.context().close();
});
