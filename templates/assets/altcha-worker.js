/* Giải bài toán chống thư rác (ALTCHA) trong nền: tìm n để sha256(salt + n) = challenge. */
'use strict';
var hex = [];
for (var i = 0; i < 256; i++) hex.push((i < 16 ? '0' : '') + i.toString(16));
function toHex(buf) {
  var b = new Uint8Array(buf), s = '';
  for (var i = 0; i < b.length; i++) s += hex[b[i]];
  return s;
}
async function solve(c) {
  var enc = new TextEncoder(), subtle = crypto.subtle, step = 500;
  for (var start = 0; start <= c.maxnumber; start += step) {
    var end = Math.min(start + step, c.maxnumber + 1), jobs = [];
    for (var n = start; n < end; n++) jobs.push(subtle.digest('SHA-256', enc.encode(c.salt + n)));
    var sums = await Promise.all(jobs);
    for (var k = 0; k < sums.length; k++) {
      if (toHex(sums[k]) === c.challenge) return start + k;
    }
  }
  return -1;
}
onmessage = async function (e) {
  try {
    var r = await fetch(e.data.api + '/challenge', { cache: 'no-store' });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    var c = await r.json();
    var t0 = Date.now();
    var number = await solve(c);
    if (number < 0) throw new Error('no solution');
    postMessage({
      ok: true,
      ms: Date.now() - t0,
      payload: btoa(JSON.stringify({
        algorithm: c.algorithm, challenge: c.challenge, number: number, salt: c.salt, signature: c.signature
      }))
    });
  } catch (err) {
    postMessage({ ok: false, error: String(err) });
  }
};
