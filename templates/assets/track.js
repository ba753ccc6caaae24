/* Tra cứu hồ sơ ngay trên trang: mã hồ sơ + mã tra cứu → tình trạng, ngày hẹn, lịch sử.
   Không có JavaScript thì biểu mẫu gửi tới /api/track và máy chủ trả trang kết quả. */
(function () {
  'use strict';
  var form = document.getElementById('track-form');
  var out = document.getElementById('track-result');
  if (!form || !out || !window.fetch) return;
  var action = form.getAttribute('action') || '/api/track';
  var api = action.replace(/\/track\/?$/, '') || '/api';
  var code = form.elements.code;
  var token = form.elements.token;
  var button = form.querySelector('button[type=submit]');
  var busy = false;
  form.noValidate = true;

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function when(s) {
    // "2025-04-30T14:05:00+07:00" → "14:05, ngày 30/04/2025"
    var m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?/.exec(s || '');
    if (!m) return s || '';
    return (m[4] ? m[4] + ':' + m[5] + ', ngày ' : '') + m[3] + '/' + m[2] + '/' + m[1];
  }
  function problem(text) {
    out.textContent = '';
    var box = el('div', 'error-summary');
    box.setAttribute('role', 'alert');
    box.append(el('h2', null, 'Chưa tra cứu được'), el('p', null, text));
    out.append(box);
  }
  function render(d) {
    out.textContent = '';
    var box = el('section', 'receipt-box receipt');
    box.setAttribute('aria-labelledby', 'track-title');
    var h = el('h2', null, 'Hồ sơ ' + (d.code || ''));
    h.id = 'track-title';
    var dl = el('dl');
    function row(t, v) {
      if (!v) return;
      dl.append(el('dt', null, t));
      var dd = el('dd');
      if (v.nodeType) dd.append(v); else dd.textContent = v;
      dl.append(dd);
    }
    row('Thủ tục', d.procedure && d.procedure.title);
    row('Tình trạng', el('span', 'status', d.status_label || d.status || 'Đang xử lý'));
    row('Hẹn trả kết quả', d.appointment_text || when(d.appointment));
    row('Nơi nhận kết quả', d.delivery_text);
    if (d.fee) row('Phí, lệ phí', d.fee.total_text + (d.payment_label ? ' – ' + d.payment_label : ''));
    if (d.refund_due_text) row('Tiền được hoàn trả', d.refund_due_text + ': Trung tâm Phục vụ hành chính công xã sẽ liên hệ để trả lại Ông/Bà.');
    (d.e_receipts || []).forEach(function (r) {
      var a = el('a', null, 'xem biên lai tại ' + r.issuer);
      a.href = r.url;
      a.rel = 'noopener';
      var span = el('span', null, 'Mã tra cứu ' + r.code + ' – ');
      span.append(a);
      row('Biên lai điện tử', span);
    });
    box.append(h, dl);
    var q = '?code=' + encodeURIComponent(d.code) + '&token=' + encodeURIComponent(token.value.trim());
    // The result handed over online: each file through a short-lived link.
    if (d.result_files && d.result_files.length) {
      box.append(el('h3', null, 'Kết quả bản điện tử'));
      var ul = el('ul');
      d.result_files.forEach(function (f) {
        var a = el('a', null, 'Tải ' + f.name);
        a.href = api + '/dossiers/' + encodeURIComponent(d.code) + '/result?token=' + encodeURIComponent(token.value.trim()) + '&n=' + f.n;
        var li = el('li');
        li.append(a, ' (' + f.size_kb + ' KB)');
        ul.append(li);
      });
      box.append(ul);
    }
    // A fee still to pay: the function's own page shows the VietQR code and the gateway.
    if (d.due_now > 0) {
      var pay = el('a', 'button', 'Cách nộp phí: mã VietQR, chuyển khoản');
      pay.href = api + '/track' + q;
      var para = el('p');
      para.append(pay);
      box.append(para);
    }
    var hist = d.history || [];
    if (hist.length) {
      box.append(el('h3', null, 'Các bước đã qua'));
      var ol = el('ol', 'history');
      hist.forEach(function (e) {
        var li = el('li');
        li.append(el('strong', null, e.label || e.status || ''), ' – ' + when(e.at));
        if (e.note) li.append(el('br'), e.note);
        ol.append(li);
      });
      box.append(ol);
    }
    // Settled: the rating form (a plain page of the function, no script needed).
    if (d.can_rate) {
      box.append(el('h3', null, 'Đánh giá mức độ hài lòng'));
      box.append(el('p', null, 'Ông/Bà vui lòng dành một phút cho biết mức độ hài lòng về việc giải quyết hồ sơ này.'));
      var rate = el('a', 'button', 'Đánh giá');
      rate.href = api + '/dossiers/' + encodeURIComponent(d.code) + '/rating?t=' + encodeURIComponent(token.value.trim());
      var rp = el('p');
      rp.append(rate);
      box.append(rp);
    }
    if (d.rating) {
      box.append(el('h3', null, 'Đánh giá của Ông/Bà'));
      var given = el('dl', 'rating-given');
      (d.rating.answers || []).forEach(function (a) { given.append(el('dt', null, a.question), el('dd', null, a.label)); });
      if (d.rating.comment) given.append(el('dt', null, 'Góp ý'), el('dd', null, d.rating.comment));
      box.append(given);
    }
    // Who at the commune opened the dossier: time and role, never a name.
    box.append(el('h3', null, 'Cán bộ đã xem hồ sơ của Ông/Bà'));
    var seen = d.access || [];
    if (!seen.length) {
      box.append(el('p', null, 'Chưa có cán bộ nào mở hồ sơ này.'));
    } else {
      var ul2 = el('ul', 'access-list');
      seen.forEach(function (a) {
        var li = el('li');
        var t = el('time', null, a.at_text);
        t.dateTime = a.at;
        li.append(t, ': ' + a.role + ' đã xem ' + a.what);
        ul2.append(li);
      });
      box.append(ul2);
    }
    out.append(box);
    if (d.status === 'supplement-requested') out.append(supplementForm(d, hist));
  }
  // The desk asked for papers: the citizen sends them from here (multipart, with the
  // tracking token), then the page shows the new status.
  function supplementForm(d, hist) {
    var asked = hist.filter(function (e) { return e.status === 'supplement-requested'; }).pop() || {};
    var sec = el('section', 'receipt-box');
    sec.setAttribute('aria-labelledby', 'sup-title');
    var h = el('h2', null, 'Nộp bổ sung giấy tờ');
    h.id = 'sup-title';
    sec.append(h);
    if (asked.missing) sec.append(el('p', null, 'Giấy tờ cần bổ sung: ' + asked.missing));
    var f = el('form');
    f.id = 'supplement-form';
    f.noValidate = true;
    var files = el('div', 'field');
    var fl = el('label', null, 'Tệp giấy tờ bổ sung');
    fl.htmlFor = 'sup-files';
    var hint = el('p', 'hint', 'Ảnh chụp (JPG, PNG) hoặc bản quét PDF; có thể chọn nhiều tệp.');
    hint.id = 'sup-files-hint';
    var input = el('input');
    input.type = 'file'; input.id = 'sup-files'; input.name = 'files'; input.multiple = true;
    input.accept = '.pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png';
    input.setAttribute('aria-describedby', 'sup-files-hint');
    files.append(fl, hint, input);
    var notes = el('div', 'field');
    var nl = el('label', null, 'Ghi chú (không bắt buộc)');
    nl.htmlFor = 'sup-note';
    var note = el('textarea');
    note.id = 'sup-note'; note.name = 'note'; note.rows = 2; note.maxLength = 500;
    notes.append(nl, note);
    var msg = el('div', 'form-status');
    msg.id = 'sup-status';
    msg.setAttribute('role', 'status');
    var send = el('button', 'button', 'Gửi giấy tờ bổ sung');
    send.type = 'submit';
    f.append(files, notes, msg, send);
    f.addEventListener('submit', async function (e) {
      e.preventDefault();
      if (!input.files.length) {
        msg.textContent = 'Vui lòng chọn ít nhất một tệp giấy tờ bổ sung (ảnh JPG/PNG hoặc PDF).';
        input.focus();
        return;
      }
      var body = new FormData();
      body.append('token', token.value.trim());
      body.append('note', note.value);
      for (var i = 0; i < input.files.length; i++) body.append('files', input.files[i], input.files[i].name);
      send.disabled = true;
      msg.textContent = 'Đang gửi giấy tờ bổ sung…';
      try {
        var r = await fetch(api + '/dossiers/' + encodeURIComponent(d.code) + '/supplement', { method: 'POST', body: body });
        var j = null;
        try { j = await r.json(); } catch (x) { /* not JSON */ }
        if (!r.ok) {
          msg.textContent = (j && j.message) || 'Chưa gửi được (lỗi ' + r.status + '). Vui lòng thử lại.';
          send.disabled = false;
          return;
        }
        await lookup();
        var done = el('p', 'notice', 'Đã gửi giấy tờ bổ sung. Trung tâm Phục vụ hành chính công xã sẽ xem xét và tiếp tục giải quyết hồ sơ.');
        done.setAttribute('role', 'status');
        out.prepend(done);
      } catch (x) {
        msg.textContent = 'Không kết nối được tới máy chủ. Vui lòng kiểm tra kết nối mạng rồi gửi lại.';
        send.disabled = false;
      }
    });
    sec.append(f);
    return sec;
  }
  async function lookup(e) {
    if (e) e.preventDefault();
    if (busy) return;
    var c = code.value.trim(), t = token.value.trim();
    if (!c || !t) {
      problem(!c ? 'Vui lòng nhập mã hồ sơ (in trên giấy tiếp nhận).' : 'Vui lòng nhập mã tra cứu (in trên giấy tiếp nhận, cạnh mã hồ sơ).');
      (!c ? code : token).focus();
      return;
    }
    busy = true;
    button.disabled = true;
    out.textContent = 'Đang tra cứu…';
    try {
      var r = await fetch(api + '/dossiers/' + encodeURIComponent(c) + '?token=' + encodeURIComponent(t), { cache: 'no-store' });
      var d = null;
      try { d = await r.json(); } catch (x) { /* not JSON */ }
      if (r.ok && d) {
        render(d);
        history.replaceState(null, '', '?code=' + encodeURIComponent(c) + '&token=' + encodeURIComponent(t));
      } else if (r.status === 404) {
        problem((d && d.message) || 'Không tìm thấy hồ sơ với mã và mã tra cứu này. Vui lòng kiểm tra lại mã hồ sơ và mã tra cứu in trên giấy tiếp nhận.');
      } else {
        problem((d && d.message) || 'Hệ thống tạm thời gián đoạn (lỗi ' + r.status + '). Vui lòng thử lại sau ít phút.');
      }
    } catch (x) {
      problem('Không kết nối được tới máy chủ. Vui lòng kiểm tra kết nối mạng rồi bấm "Tra cứu" lần nữa.');
    } finally {
      busy = false;
      button.disabled = false;
    }
  }
  form.addEventListener('submit', lookup);
  var q = new URLSearchParams(location.search);
  if (q.get('code')) code.value = q.get('code');
  if (q.get('token')) token.value = q.get('token');
  if (code.value && token.value) lookup();
})();
