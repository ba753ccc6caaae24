// Home page widgets: visitor statistics and the opinion poll. No cookies: a random id
// made here, kept in sessionStorage (visits) or localStorage (the poll). The page reads
// fine without this script; the widgets stay hidden.
(function () {
  'use strict';
  var script = document.currentScript;
  var api = (script && script.getAttribute('data-api')) || '/api';

  function randomId() {
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }
  function stored(storage, key) {
    try {
      var v = storage.getItem(key);
      if (!v) { v = randomId(); storage.setItem(key, v); }
      return v;
    } catch (e) { return randomId(); }
  }
  function call(method, path, body) {
    return fetch(api + path, {
      method: method,
      headers: body ? { 'Content-Type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) { return r.json().then(function (d) { return { status: r.status, data: d }; }); });
  }
  var number = new Intl.NumberFormat('vi-VN');

  var stats = document.getElementById('stats');
  // A visit the store could not finish counting (503) is finished by one retry.
  function countVisit(retries) {
    call('POST', '/stats', { sid: stored(sessionStorage, 'motcua-sid') }).then(function (res) {
      if (res.status === 503 && retries > 0) { setTimeout(countVisit, 3000, retries - 1); return; }
      if (res.status !== 200) return;
      stats.querySelectorAll('[data-stat]').forEach(function (el) {
        var v = res.data[el.getAttribute('data-stat')];
        if (typeof v === 'number') el.textContent = number.format(v);
      });
      // The figures are folded from the visits about once a minute; this visit is in them.
      var asOf = stats.querySelector('.stats-as-of');
      var t = res.data.as_of && new Date(res.data.as_of);
      if (asOf && t && !isNaN(t)) {
        asOf.textContent = 'Số liệu cập nhật lúc ' + t.toLocaleTimeString('vi-VN', { hour: '2-digit', minute: '2-digit', timeZone: 'Asia/Ho_Chi_Minh' }) + '.';
        asOf.hidden = false;
      }
      stats.hidden = false;
    }).catch(function () {});
  }
  if (stats && window.fetch && window.crypto) countVisit(1);

  var poll = document.getElementById('poll');
  if (!poll || !window.fetch || !window.crypto) return;
  var id = poll.getAttribute('data-poll');
  var key = 'motcua-poll-' + id;
  var form = poll.querySelector('form');
  var results = poll.querySelector('.poll-results');
  var note = poll.querySelector('.poll-note');

  function show(data, message) {
    results.textContent = '';
    data.options.forEach(function (o) {
      var share = data.total ? Math.round(100 * o.votes / data.total) : 0;
      var li = document.createElement('li');
      var label = document.createElement('span');
      label.textContent = o.label + ': ' + number.format(o.votes) + ' (' + share + '%)';
      var bar = document.createElement('meter');
      bar.min = 0; bar.max = 100; bar.value = share;
      bar.setAttribute('aria-hidden', 'true');
      li.append(label, ' ', bar);
      results.append(li);
    });
    note.textContent = (message ? message + ' ' : '') + 'Tổng số: ' + number.format(data.total) + ' lượt bình chọn.';
    form.hidden = true;
    results.hidden = false;
  }

  poll.hidden = false;
  if (localStorage.getItem(key + '-voted')) {
    call('GET', '/polls/' + id).then(function (res) { if (res.status === 200) show(res.data, 'Cảm ơn bạn đã bình chọn.'); }).catch(function () {});
  }
  form.addEventListener('submit', function (e) {
    e.preventDefault();
    var choice = form.querySelector('input[name="option"]:checked');
    if (!choice) { note.textContent = 'Hãy chọn một phương án.'; return; }
    call('POST', '/polls/' + id, { voter: stored(localStorage, key), option: choice.value }).then(function (res) {
      if (res.status === 201 || res.status === 409) {
        try { localStorage.setItem(key + '-voted', '1'); } catch (err) { /* private mode */ }
        show(res.data, res.status === 201 ? 'Cảm ơn bạn đã bình chọn.' : res.data.message);
      } else {
        note.textContent = (res.data && res.data.message) || 'Chưa gửi được, vui lòng thử lại sau.';
      }
    }).catch(function () { note.textContent = 'Chưa gửi được, vui lòng thử lại sau.'; });
  });
})();
