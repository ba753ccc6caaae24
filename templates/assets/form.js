/* Biểu mẫu nộp hồ sơ: kiểm tra như máy chủ (crates/catalog/src/validate.rs) trước khi gửi, giải
   bài toán chống thư rác trong nền, tải giấy tờ thẳng lên kho lưu trữ, rồi gửi hồ sơ và
   hiện giấy tiếp nhận. Không có JavaScript thì biểu mẫu vẫn gửi được như thường. */
(function () {
  'use strict';
  var form = document.getElementById('dossier-form');
  if (!form || !window.fetch || !window.Promise || !''.normalize) return;
  var script = document.currentScript;
  var api = form.getAttribute('data-api') || '/api';
  var procedure = form.getAttribute('data-procedure');
  var workerUrl = script && script.getAttribute('data-worker');
  var schemaUrl = script && script.getAttribute('data-schema');
  var draftUrl = script && script.getAttribute('data-drafts');
  var photoUrl = script && script.getAttribute('data-photo');
  var receiptBox = document.getElementById('receipt');
  var button = form.querySelector('button[type=submit]');
  var humanCheck = form.querySelector('.human-check');
  var MIME = { pdf: 'application/pdf', jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp' };
  var PARTS = [['detail', 'số nhà, thôn/làng/tổ dân phố', 1], ['commune', 'xã/phường', 1], ['district', 'huyện (nếu có)', 0], ['province', 'tỉnh/thành phố', 1]];
  var PREFIXES = '032 033 034 035 036 037 038 039 086 096 097 098 081 082 083 084 085 088 091 094 070 076 077 078 079 089 090 093 052 056 058 092 059 099 087 055'.split(' ');
  var CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
  var CONTROL_ML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
  var RETRY = 'Mọi thông tin bạn đã nhập vẫn được giữ nguyên.';

  form.noValidate = true;

  /* ---------- small helpers ---------- */
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function todayIso() { return new Date(Date.now() + 7 * 3600e3).toISOString().slice(0, 10); }
  function vnDate(iso) { return iso.slice(8, 10) + '/' + iso.slice(5, 7) + '/' + iso.slice(0, 4); }
  function lowerFirst(s) {
    return /^.\p{Ll}/u.test(s) ? s.charAt(0).toLowerCase() + s.slice(1) : s;
  }
  function chars(s) { return Array.from(s).length; }
  function bytes(s) { return new TextEncoder().encode(s).length; }
  function humanSize(n) {
    if (n >= 1048576) {
      var t = Math.floor((n * 10 + 524288) / 1048576);
      return (t % 10 ? Math.floor(t / 10) + ',' + (t % 10) : t / 10) + ' MB';
    }
    return Math.ceil(n / 1024) + ' KB';
  }
  function listLabel(items) {
    return items.length > 1 ? items.slice(0, -1).join(', ') + ' hoặc ' + items[items.length - 1] : items.join('');
  }
  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    var a = new Uint8Array(16);
    crypto.getRandomValues(a);
    return Array.from(a, function (b) { return (b < 16 ? '0' : '') + b.toString(16); }).join('');
  }
  function Shown() {}
  // The draft and photo code load only when used: a script of the site (CSP 'self')
  // that leaves its function at window[name].
  var loaded = {};
  function load(url, name) {
    return loaded[name] || (loaded[name] = new Promise(function (ok, fail) {
      if (!url) return fail(new Error('no ' + name));
      var s = document.createElement('script');
      s.src = url;
      s.onload = function () { window[name] ? ok(window[name]) : fail(new Error(name)); };
      s.onerror = function () { delete loaded[name]; fail(new Error(name)); };
      document.head.append(s);
    }));
  }

  /* ---------- the fields, read from the page ---------- */
  var fields = Array.from(form.querySelectorAll('.field[data-field]')).map(function (box) {
    var id = box.getAttribute('data-field');
    var type = box.getAttribute('data-type');
    var grouped = box.tagName === 'FIELDSET';
    var labelEl = grouped ? box.querySelector('legend') : box.querySelector('label[for="f-' + id + '"]');
    var label = labelEl ? Array.from(labelEl.childNodes).filter(function (n) { return n.nodeType === 3; })
      .map(function (n) { return n.data; }).join('').trim() : id;
    var cond = box.getAttribute('data-required-if');
    cond = cond ? [cond.slice(0, cond.indexOf('=')), cond.slice(cond.indexOf('=') + 1)] : null;
    return {
      id: id, type: type, box: box, grouped: grouped, label: label, cond: cond,
      required: !!(labelEl && labelEl.querySelector('.req')),
      input: $('f-' + id),
      anchor: type === 'address' ? 'f-' + id + '-detail' : 'f-' + id
    };
  });
  var byId = {};
  fields.forEach(function (f) { byId[f.id] = f; });

  // Exact labels, date bounds and birth-date links come from the form schema when it loads.
  if (schemaUrl) {
    fetch(schemaUrl).then(function (r) { return r.ok ? r.json() : null; }).then(function (s) {
      (s && s.form ? s.form.sections : []).forEach(function (sec) {
        sec.fields.forEach(function (d) {
          var f = byId[d.id];
          if (!f) return;
          f.label = d.label;
          f.required = !!d.required;
          f.birth = d.birth_date_field;
          f.minDate = d.min_date;
          f.maxDate = d.max_date;
          f.maxLen = d.max_length;
          f.minLen = d.min_length;
        });
      });
    }).catch(function () {});
  }

  function raw(id) {
    var f = byId[id];
    if (!f) return [];
    return Array.from(form.querySelectorAll('[name="' + id + '"]')).filter(function (i) {
      return !/^(radio|checkbox)$/.test(i.type) || i.checked;
    }).map(function (i) { return i.value; });
  }
  function shown(f) { return !f.box.hidden; }
  function isRequired(f) {
    return f.required || !!(f.cond && raw(f.cond[0]).some(function (v) { return v.trim() === f.cond[1]; }));
  }

  /* ---------- conditional fields (level 4: delivery address by post) ---------- */
  function applyConditions() {
    fields.forEach(function (f) {
      if (f.cond) f.box.hidden = !raw(f.cond[0]).some(function (v) { return v.trim() === f.cond[1]; });
    });
  }
  applyConditions();
  form.addEventListener('change', applyConditions);

  Array.from(form.querySelectorAll('input[data-max-date=today]')).forEach(function (i) { i.max = todayIso(); });
  Array.from(form.querySelectorAll('input[data-min-date=today]')).forEach(function (i) { i.min = todayIso(); });

  /* ---------- validators, one per type, as on the server ---------- */
  function parseDate(s) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s), y, mo, d;
    if (m) { y = +m[1]; mo = +m[2]; d = +m[3]; } else {
      m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(s);
      if (!m) return null;
      d = +m[1]; mo = +m[2]; y = +m[3];
    }
    var t = new Date(0);
    t.setUTCFullYear(y, mo - 1, d);
    if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo - 1 || t.getUTCDate() !== d) return null;
    return ('000' + y).slice(-4) + '-' + ('0' + mo).slice(-2) + '-' + ('0' + d).slice(-2);
  }
  function mobile(s) {
    var c = s.replace(/[ .\-()]/g, '');
    if (c.indexOf('+84') === 0) c = '0' + c.slice(3);
    else if (c.length === 11 && c.indexOf('84') === 0) c = '0' + c.slice(2);
    return c.length === 10 && /^\d+$/.test(c) && PREFIXES.indexOf(c.slice(0, 3)) >= 0 ? c : null;
  }
  function emailOk(s) {
    if (bytes(s) > 254 || /[\s\u0000-\u001f\u007f-\u009f]/.test(s)) return false;
    var at = s.lastIndexOf('@');
    if (at < 0) return false;
    var local = s.slice(0, at), domain = s.slice(at + 1);
    return domain.indexOf('.') >= 0 && domain[0] !== '.' && domain.slice(-1) !== '.' &&
      domain.indexOf('..') < 0 && /^[A-Za-z0-9.-]+$/.test(domain) &&
      local.length > 0 && bytes(local) <= 64 && local.indexOf('@') < 0;
  }
  function citizenId(s) {
    var id = s.replace(/\s/g, '');
    if (!/^\d{12}$/.test(id)) {
      throw 'Số định danh cá nhân gồm đúng 12 chữ số (in trên thẻ Căn cước), bạn đã nhập ' + chars(id) + ' ký tự.';
    }
    var p = +id.slice(0, 3);
    if (p < 1 || p > 96) {
      throw 'Ba chữ số đầu "' + id.slice(0, 3) + '" không phải mã tỉnh, thành phố nào (001–096). Vui lòng xem lại thẻ.';
    }
    return id;
  }
  function cleanText(label, v, multiline) {
    v = v.trim().normalize('NFC');
    if ((multiline ? CONTROL_ML : CONTROL).test(v)) {
      throw label + ' có ký tự không in được. Vui lòng gõ lại nội dung, đừng dán từ nơi khác.';
    }
    return v;
  }
  function sentence(t) { return t.replace(/[?:.]+$/, '') + '.'; }
  function badOption(label) { return 'Lựa chọn ở "' + label + '" không có trong danh sách. Vui lòng chọn lại.'; }
  function options(f) {
    return Array.from(form.querySelectorAll('[name="' + f.id + '"] option, input[name="' + f.id + '"]'))
      .map(function (o) { return o.value; });
  }
  function bound(b) { return b === 'today' || b == null ? (b && todayIso()) : String(b); }

  // Returns the clean value (or undefined when empty); throws the message.
  function check(f) {
    var label = f.label, required = isRequired(f), v, n;
    if (f.type === 'file') {
      if (required && !(f.input.files && f.input.files.length) && !remembered(f)) throw 'Vui lòng đính kèm ' + sentence(lowerFirst(label));
      return;
    }
    if (f.type === 'address') {
      var parts = {}, missing = [], any = false;
      PARTS.forEach(function (p) {
        var i = $('f-' + f.id + '-' + p[0]);
        v = cleanText(label, i ? i.value : '', false);
        if (chars(v) > 200) throw label + ' (' + p[1] + ') dài quá: tối đa 200 ký tự.';
        if (v) { any = true; parts[p[0]] = v; } else if (p[2]) missing.push(p[1]);
      });
      if (!any && !required) return;
      if (missing.length) throw label + ' còn thiếu: ' + missing.join(', ') + '.';
      return parts;
    }
    if (f.type === 'checkbox') {
      if (f.grouped) {
        v = raw(f.id).map(function (x) { return x.trim(); }).filter(Boolean);
        if (!v.length) { if (required) throw 'Vui lòng chọn ít nhất một mục ở "' + label + '".'; return; }
        return v;
      }
      if (required && !f.input.checked) throw 'Vui lòng đánh dấu vào ô "' + label + '".';
      return f.input.checked;
    }
    v = raw(f.id)[0];
    v = cleanText(label, v == null ? '' : v, f.type === 'textarea');
    if (!v) {
      if (required) throw 'Vui lòng ' + (f.type === 'select' || f.type === 'radio' ? 'chọn ' : 'nhập ') + sentence(lowerFirst(label));
      return;
    }
    n = chars(v);
    var max = Math.min(f.maxLen != null ? f.maxLen : +(f.input.getAttribute('maxlength') || 5000), 5000);
    var min = f.minLen != null ? f.minLen : +(f.input.getAttribute('minlength') || 0);
    if (n > max) throw label + ' dài quá: tối đa ' + max + ' ký tự, bạn đã nhập ' + n + ' ký tự.';
    if (n < min) throw label + ' cần ít nhất ' + min + ' ký tự.';
    switch (f.type) {
      case 'select': case 'radio':
        if (options(f).indexOf(v) < 0) throw badOption(label);
        return v;
      case 'date':
        var day = parseDate(v);
        if (!day) throw label + ' chưa đúng. Hãy nhập ngày/tháng/năm, ví dụ 30/04/2025.';
        var lo = bound(f.minDate !== undefined ? f.minDate : f.input.getAttribute('data-min-date'));
        var hi = bound(f.maxDate !== undefined ? f.maxDate : f.input.getAttribute('data-max-date'));
        if (lo && day < lo) throw label + (lo === todayIso() ? ' không được trước hôm nay.' : ' không được trước ngày ' + vnDate(lo) + '.');
        if (hi && day > hi) throw label + (hi === todayIso() ? ' không được sau hôm nay.' : ' không được sau ngày ' + vnDate(hi) + '.');
        return day;
      case 'email':
        if (!emailOk(v)) throw 'Địa chỉ thư điện tử chưa đúng. Ví dụ đúng: nguyenvana@gmail.com.';
        return v;
      case 'phone':
        var m = mobile(v);
        if (!m) throw 'Số điện thoại di động chưa đúng. Hãy nhập 10 chữ số, bắt đầu bằng 03, 05, 07, 08 hoặc 09, ví dụ 0912 345 678.';
        return m;
      case 'citizen_id':
        return citizenId(v);
      case 'number':
        var s = v.replace(/[. ]/g, '');
        if (!/^[+-]?\d+$/.test(s)) throw label + ' phải là một số nguyên, ví dụ 2.';
        n = +s;
        var lo2 = f.input.getAttribute('min'), hi2 = f.input.getAttribute('max');
        if (lo2 !== null && n < +lo2) throw label + ' nhỏ nhất là ' + lo2 + '.';
        if (hi2 !== null && n > +hi2) throw label + ' lớn nhất là ' + hi2 + '.';
        return n;
    }
    return v;
  }

  /* ---------- attachments: size and real type, before any upload ---------- */
  var fileChecks = {};
  function sniff(b) {
    function at(sig, off) { return sig.every(function (x, i) { return b[(off || 0) + i] === x; }); }
    if (at([37, 80, 68, 70, 45])) return 'pdf';
    if (at([255, 216, 255])) return 'jpg';
    if (at([137, 80, 78, 71, 13, 10, 26, 10])) return 'png';
    if (b.length >= 12 && at([82, 73, 70, 70]) && at([87, 69, 66, 80], 8)) return 'webp';
    return null;
  }
  function readHead(file) {
    var blob = file.slice(0, 64);
    if (blob.arrayBuffer) return blob.arrayBuffer();
    return new Promise(function (ok, fail) {
      var r = new FileReader();
      r.onload = function () { ok(r.result); };
      r.onerror = fail;
      r.readAsArrayBuffer(blob);
    });
  }
  function checkFile(f) {
    var file = f.input.files && f.input.files[0];
    if (!file) return Promise.resolve(null);
    var name = Array.from(file.name.split(/[\/\\]/).pop()).filter(function (c) { return !CONTROL.test(c); }).slice(0, 60).join('');
    var kinds = (f.input.getAttribute('data-kinds') || 'pdf,jpg,png').split(',');
    var kindLabel = listLabel(kinds.map(function (k) { return k.toUpperCase(); }));
    var limit = +f.input.getAttribute('data-max-bytes') || 5242880;
    if (file.size === 0) return Promise.resolve({ error: 'Tệp "' + name + '" trống. Vui lòng chọn lại tệp.' });
    var note = $('f-' + f.id + '-size');
    if (note) note.remove();
    return readHead(file).then(function (buf) {
      var head = new Uint8Array(buf), kind = sniff(head);
      if (!kind || kinds.indexOf(kind) < 0) {
        return { error: 'Tệp "' + name + '" không phải ' + kindLabel + '. Nội dung tệp cho thấy đây là loại khác, dù tên tệp có thể giống. Hãy chụp ảnh hoặc quét giấy tờ thành ' + kindLabel + '.' };
      }
      // A large photo is made smaller here (photo.js), and a phone photo's location
      // data left out; PDFs and small pictures go as they are.
      var exif = kind === 'jpg' && /Exif/.test(String.fromCharCode.apply(null, head));
      if (kind !== 'pdf' && kinds.indexOf('jpg') >= 0 && (file.size > 1048576 || exif) && window.createImageBitmap) {
        $('f-' + f.id + '-status').textContent = 'Đang thu nhỏ ảnh "' + name + '"…';
        return load(photoUrl, 'motcuaPhoto').then(function (shrink) { return shrink(file, exif); })
          .catch(function () { return null; }).then(function (small) {
            $('f-' + f.id + '-status').textContent = '';
            if (small) {
              note = el('p', 'hint', 'Ảnh đã được thu nhỏ để gửi nhanh hơn: ' + humanSize(file.size) + ' → ' + humanSize(small.size) + '.');
              note.id = 'f-' + f.id + '-size';
              $('f-' + f.id + '-status').after(note);
              // The field holds the smaller photo too, for the plain post if it comes to that.
              if (f.input.files[0] === file) try {
                var dt = new DataTransfer();
                dt.items.add(small);
                f.input.files = dt.files;
                if (fileChecks[f.id]) fileChecks[f.id].file = f.input.files[0];
                small = f.input.files[0];
              } catch (e) { /* an older browser: the upload still sends the smaller one */ }
              return sized(small, 'jpg');
            }
            return sized(file, kind);
          });
      }
      return sized(file, kind);
    }, function () {
      return { error: 'Không đọc được tệp "' + name + '". Vui lòng chọn lại tệp.' };
    });
    function sized(file, kind) {
      if (file.size > limit) {
        return { error: 'Tệp "' + name + '" nặng ' + humanSize(file.size) + ', vượt giới hạn ' + humanSize(limit) +
          ' của ô "' + f.label + '". Hãy chụp lại với độ phân giải thấp hơn hoặc nén tệp.' };
      }
      return { field: f.id, file: file, kind: kind };
    }
  }
  fields.forEach(function (f) {
    if (f.type !== 'file') return;
    f.input.addEventListener('change', function () {
      delete uploaded[f.id];
      $('f-' + f.id + '-status').textContent = '';
      ctx.changed();
      fileChecks[f.id] = checkFile(f);
      fileChecks[f.id].file = f.input.files && f.input.files[0];
      fileChecks[f.id].then(function (r) {
        clearFieldError(f);
        if (r && r.error) showFieldError(f, r.error);
      });
    });
  });

  /* ---------- errors, GOV.UK style ---------- */
  function clearFieldError(f) {
    var old = $('f-' + f.id + '-error');
    if (old) old.remove();
    f.box.classList.remove('has-error');
    var target = f.grouped ? f.box : f.input;
    if (target) {
      var d = (target.getAttribute('aria-describedby') || '').split(' ').filter(function (x) { return x && x !== 'f-' + f.id + '-error'; });
      if (d.length) target.setAttribute('aria-describedby', d.join(' ')); else target.removeAttribute('aria-describedby');
    }
    Array.from(f.box.querySelectorAll('input,select,textarea')).forEach(function (i) { i.removeAttribute('aria-invalid'); });
  }
  function showFieldError(f, message) {
    var p = el('p', 'field-error');
    p.id = 'f-' + f.id + '-error';
    p.append(el('span', 'visually-hidden', 'Lỗi: '), message);
    var hint = f.box.querySelector(':scope > .hint');
    var after = hint || (f.box.classList.contains('check') ? null : f.box.firstElementChild);
    if (after) after.after(p); else f.box.prepend(p);
    f.box.classList.add('has-error');
    var target = f.grouped ? f.box : f.input;
    target.setAttribute('aria-describedby', ((target.getAttribute('aria-describedby') || '') + ' ' + p.id).trim());
    Array.from(f.box.querySelectorAll('input,select,textarea')).forEach(function (i) { i.setAttribute('aria-invalid', 'true'); });
  }
  function clearErrors() {
    var s = $('error-summary');
    if (s) s.remove();
    fields.forEach(clearFieldError);
    if (humanCheck) {
      var h = $('f-human_answer-error');
      if (h) h.remove();
      humanCheck.classList.remove('has-error');
    }
  }
  function showSummary(title, items) {
    var old = $('error-summary');
    if (old) old.remove();
    var box = el('div', 'error-summary');
    box.id = 'error-summary';
    box.setAttribute('role', 'alert');
    box.setAttribute('tabindex', '-1');
    box.setAttribute('aria-labelledby', 'error-summary-title');
    var h = el('h2', null, title);
    h.id = 'error-summary-title';
    var ul = el('ul');
    items.forEach(function (it) {
      var li = el('li');
      if (it.anchor) {
        var a = el('a', null, it.message);
        a.href = '#' + it.anchor;
        li.append(a);
      } else if (it.node) {
        li.append(it.node);
      } else {
        li.textContent = it.message;
      }
      ul.append(li);
    });
    box.append(h, ul);
    form.prepend(box);
    box.focus();
    return box;
  }
  form.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('#error-summary a[href^="#"]');
    if (!a) return;
    var t = $(a.getAttribute('href').slice(1));
    if (!t) return;
    e.preventDefault();
    var box = t.closest('.field') || t;
    (box.querySelector('legend,label') || box).scrollIntoView();
    t.focus({ preventScroll: true });
  });
  // Shows field errors [{field, message}] beside their fields and in the summary.
  function showErrors(errors) {
    clearErrors();
    var order = fields.map(function (f) { return f.id; });
    errors = errors.slice().sort(function (a, b) { return order.indexOf(a.field) - order.indexOf(b.field); });
    var seen = {};
    errors.forEach(function (e) {
      var f = byId[e.field];
      if (f && !seen[f.id]) { seen[f.id] = 1; showFieldError(f, e.message); }
    });
    showSummary('Hồ sơ chưa gửi được. Vui lòng sửa ' + errors.length + ' chỗ dưới đây', errors.map(function (e) {
      var f = byId[e.field];
      return { message: e.message, anchor: f ? f.anchor : null };
    }));
  }
  function problem(message, node) {
    showSummary('Hồ sơ chưa gửi được', [{ message: message }].concat(node ? [{ node: node }] : []));
  }

  async function validateAll() {
    var errors = [], clean = {};
    var checks = await Promise.all(fields.map(function (f) {
      if (f.type !== 'file' || !shown(f)) return null;
      var file = f.input.files && f.input.files[0];
      if (!file) return remembered(f) ? { field: f.id, file: uploaded[f.id].file } : null;
      if (!fileChecks[f.id] || fileChecks[f.id].file !== file) {
        fileChecks[f.id] = checkFile(f);
        fileChecks[f.id].file = file;
      }
      return fileChecks[f.id];
    }));
    fields.forEach(function (f, i) {
      if (!shown(f)) return;
      try {
        var v = check(f);
        if (v !== undefined) clean[f.id] = v;
        if (checks[i] && checks[i].error) throw checks[i].error;
      } catch (m) {
        if (typeof m !== 'string') throw m;
        errors.push({ field: f.id, message: m });
      }
    });
    fields.forEach(function (f) {
      if (f.type !== 'citizen_id' || !f.birth || typeof clean[f.id] !== 'string' || typeof clean[f.birth] !== 'string') return;
      var id = clean[f.id], year = +clean[f.birth].slice(0, 4);
      var idYear = 1900 + 100 * Math.floor(+id[3] / 2) + +id.slice(4, 6);
      if (idYear !== year) {
        errors.push({ field: f.id, message: 'Số định danh cá nhân không khớp với năm sinh ' + year + ': chữ số thứ 4–6 của số định danh cho năm sinh ' + idYear + '. Vui lòng xem lại số trên thẻ hoặc ngày sinh.' });
      }
    });
    return { errors: errors, files: checks.filter(function (c) { return c && c.file; }) };
  }

  /* ---------- proof of work in the background ---------- */
  var altcha = null, altchaOk = !!(window.Worker && workerUrl && window.crypto && crypto.subtle), nativeMode = false;
  function startAltcha() {
    altcha = new Promise(function (ok, fail) {
      if (!altchaOk) return fail(new Error('no worker'));
      var w = new Worker(workerUrl);
      w.onmessage = function (e) {
        w.terminate();
        if (e.data && e.data.ok) {
          form.elements.altcha.value = e.data.payload;
          ok(e.data.payload);
        } else fail(new Error(e.data && e.data.error));
      };
      w.onerror = function (e) { w.terminate(); fail(e); };
      w.postMessage({ api: new URL(api, location.href).href });
    });
    altcha.catch(function () {});
  }
  /* Files go straight to storage from here: the plain post's total limit does not apply. */
  Array.prototype.forEach.call(form.querySelectorAll('.no-js-note'), function (n) { n.hidden = true; });
  if (altchaOk) {
    if (humanCheck) humanCheck.hidden = true;
    startAltcha();
  }
  async function proof() {
    try { return await altcha; } catch (e) {
      startAltcha();
      try { return await altcha; } catch (e2) {
        // Fall back to the plain post with the question for visitors without JavaScript.
        nativeMode = true;
        if (humanCheck) humanCheck.hidden = false;
        problem('Không tải được bước xác minh tự động (có thể do mạng yếu). Vui lòng trả lời câu hỏi kiểm tra ở cuối biểu mẫu rồi bấm "Gửi hồ sơ" lần nữa. ' + RETRY);
        throw new Shown();
      }
    }
  }

  /* ---------- idempotency: one key per form fill, kept across retries ---------- */
  var key = newKey();
  form.elements.idempotency_key.value = key;

  /* ---------- direct upload to storage ---------- */
  // Uploads are issued under one proof of work and serve only the submission that
  // carries it: with a new one, every file goes up (and is checked) again.
  var uploaded = {}, uploadedUnder = null;
  function remembered(f) { return !!(uploaded[f.id] && uploaded[f.id].file.remembered); }

  /* ---------- the draft on this device (drafts.js, loaded when used) ---------- */
  var DRAFT = 'motcua-draft:' + procedure;
  var ctx = {
    form: form, fields: fields, byId: byId, store: DRAFT, el: el, say: say,
    key: function (k) { if (k) { key = k; form.elements.idempotency_key.value = k; } return key; },
    newKey: newKey,
    uploads: function () { return uploaded; },
    proof: function () { return uploadedUnder; },
    // Files a draft remembers as staged under `pow`, still valid: not asked for again.
    remember: function (pow, refs) {
      altcha = Promise.resolve(pow);
      form.elements.altcha.value = pow;
      uploaded = {};
      uploadedUnder = pow;
      refs.forEach(function (r) {
        if (byId[r.field]) uploaded[r.field] = { file: { remembered: true, name: r.name }, ref: r, checked: true };
      });
    },
    forget: function () { uploaded = {}; uploadedUnder = null; startAltcha(); },
    changed: function () {}
  };
  function drafts() {
    return load(draftUrl, 'motcuaDrafts').then(function (init) { init(ctx); }).catch(function () {});
  }
  var hasDraft = false;
  try { hasDraft = !!localStorage.getItem(DRAFT); } catch (e) { /* storage blocked */ }
  if (hasDraft) drafts();
  else {
    form.addEventListener('input', function first() {
      form.removeEventListener('input', first);
      drafts();
    });
  }
  var status = el('p', 'form-status');
  status.setAttribute('aria-live', 'polite');
  button.parentNode.append(status);
  function say(text) { status.textContent = text; }

  async function jsonPost(path, body) {
    var r = await fetch(api + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin'
    });
    var data = null;
    try { data = await r.json(); } catch (e) { /* not JSON */ }
    // Over a rate limit (the function's JSON, or the WAF's page): wait, nothing is lost.
    if (r.status === 429 && !(data && (data.message || data.errors))) {
      data = { message: 'Có quá nhiều yêu cầu từ địa chỉ mạng của bạn trong ít phút vừa qua. Vui lòng chờ vài phút rồi bấm "Gửi hồ sơ" lần nữa; những gì bạn đã nhập vẫn còn nguyên.' };
    }
    return { status: r.status, data: data || {} };
  }
  function retryButton() {
    var b = el('button', 'button secondary', 'Thử tải lại');
    b.type = 'button';
    b.addEventListener('click', retry);
    return b;
  }
  function putOnce(up, file, f, box) {
    box.textContent = '';
    var line = el('span', null, 'Đang tải lên "' + up.name + '"…');
    var bar = el('progress');
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute('aria-label', 'Tiến độ tải lên tệp ' + up.name);
    box.append(line, bar);
    return new Promise(function (ok, fail) {
      var x = new XMLHttpRequest();
      x.open('PUT', up.url);
      Object.keys(up.headers || {}).forEach(function (h) {
        if (!/^(content-length|host)$/i.test(h)) x.setRequestHeader(h, up.headers[h]);
      });
      x.upload.onprogress = function (e) { if (e.lengthComputable) bar.value = Math.round(e.loaded * 100 / e.total); };
      x.onload = function () {
        if (x.status >= 200 && x.status < 300) {
          bar.value = 100;
          line.textContent = 'Đã tải lên "' + up.name + '".';
          ok();
        } else fail({ status: x.status });
      };
      x.onerror = x.ontimeout = function () { fail({ status: 0 }); };
      x.send(file);
    });
  }
  // A new ticket (presigned PUT) for one file, under the same proof of work.
  async function ticket(c, pow) {
    var res = await jsonPost('/uploads', {
      procedure: procedure,
      altcha: pow,
      files: [{ field: c.field, name: c.file.name, size: c.file.size, type: MIME[c.kind] }]
    });
    if (res.status !== 200 || !res.data.uploads) throw { status: res.status, final: res.status < 500 && res.status !== 429 };
    return expiry(res.data.uploads[0], res.data);
  }
  function expiry(up, data) {
    up.until = Date.now() + ((data && data.expires_in) || 600) * 1000 - 30000;
    return up;
  }
  // Waits `ms`, or less when the phone comes back online (offline: until then, a minute at most).
  function pause(ms) {
    if (navigator.onLine === false) ms = Math.max(ms, 60000);
    return new Promise(function (ok) {
      var t = setTimeout(done, ms);
      function done() { clearTimeout(t); window.removeEventListener('online', done); ok(); }
      window.addEventListener('online', done);
    });
  }
  // One file up: a dropped connection sends the whole file again by itself after 2, 4,
  // 8… seconds (sooner once the phone is back online), with a fresh URL when the old one
  // has expired. Resolves with the ticket that worked.
  async function put(up, c, pow) {
    var f = byId[c.field], box = $('f-' + f.id + '-status'), name = up.name;
    for (var n = 1; ; n++) {
      try {
        if (!up || Date.now() > up.until) up = await ticket(c, pow);
        await putOnce(up, c.file, f, box);
        return up;
      } catch (err) {
        var st = err && err.status;
        if (st === undefined && err instanceof TypeError) st = 0;
        if (st === 403 && !err.final) up = null;
        else if (st === undefined || err.final || (st >= 400 && st < 500 && st !== 408 && st !== 429) || n >= 8) {
          box.textContent = '';
          box.append(el('span', 'field-error', 'Chưa tải lên được "' + name + '". Hãy kiểm tra kết nối mạng rồi bấm "Thử tải lại". '), retryButton());
          throw err instanceof Error ? err : new Error('HTTP ' + st);
        }
        var secs = Math.min(30, 1 << n);
        box.textContent = (navigator.onLine === false ? 'Điện thoại đang mất mạng' : 'Kết nối bị ngắt') + ' khi tải "' + name +
          '". Trang sẽ tự gửi lại tệp khi có mạng (thử lại sau ' + secs + ' giây, lần ' + n + '/7). Bạn không cần làm gì.';
        say('Đang chờ mạng để tải lại giấy tờ…');
        await pause(secs * 1000);
      }
    }
  }
  // The files' references for the submission, or { refused: message } when the proof of
  // work was not accepted (a new one is needed).
  async function uploadAll(files, pow) {
    if (pow !== uploadedUnder) { uploaded = {}; uploadedUnder = pow; }
    var todo = files.filter(function (c) {
      return !(uploaded[c.field] && uploaded[c.field].file === c.file);
    });
    // Files remembered from a draft serve only the proof of work they were sent under.
    var lost = todo.filter(function (c) { return c.file.remembered; });
    if (lost.length) {
      showErrors(lost.map(function (c) {
        return { field: c.field, message: 'Tệp "' + c.file.name + '" đã tải lên từ lần trước nhưng máy chủ không còn giữ. Vui lòng chọn lại tệp.' };
      }));
      throw new Shown();
    }
    if (todo.length) {
      say('Đang chuẩn bị tải giấy tờ lên…');
      var res = await jsonPost('/uploads', {
        procedure: procedure,
        altcha: pow,
        files: todo.map(function (c) {
          return { field: c.field, name: c.file.name, size: c.file.size, type: MIME[c.kind] };
        })
      });
      if (res.status === 403) return { refused: res.data.message };
      if (res.status === 422 && res.data.errors) { showErrors(res.data.errors); throw new Shown(); }
      if (res.status !== 200 || !res.data.uploads) {
        problem(res.data.message || 'Chưa tải giấy tờ lên được (lỗi ' + res.status + '). Vui lòng thử lại sau ít phút. ' + RETRY);
        throw new Shown();
      }
      var failed = false;
      for (var i = 0; i < todo.length; i++) {
        var c = todo[i], f = byId[c.field], up = res.data.uploads[i];
        if (!up || up.field !== f.id) up = res.data.uploads.filter(function (u) { return u.field === f.id; })[0];
        say('Đang tải giấy tờ lên (' + (i + 1) + '/' + todo.length + ')…');
        try {
          up = await put(expiry(up, res.data), c, pow);
          uploaded[f.id] = { file: c.file, ref: { field: f.id, key: up.key, name: up.name }, checked: false };
        } catch (e) { failed = true; }
      }
      if (failed) {
        problem('Có tệp chưa tải lên được, có thể do mạng yếu. Bấm "Thử tải lại" để gửi tiếp; tệp đã tải xong không phải tải lại. ' + RETRY, retryButton());
        throw new Shown();
      }
    }
    // Once up, each file is read whole by the function (type, image, PDF without
    // scripts); a refused one's reason goes beside its field, to be chosen again.
    var unchecked = files.filter(function (c) { return !uploaded[c.field].checked; });
    if (unchecked.length) {
      say('Đang kiểm tra giấy tờ đã tải lên…');
      var chk = await jsonPost('/uploads/check', {
        procedure: procedure,
        altcha: pow,
        files: unchecked.map(function (c) { return uploaded[c.field].ref; })
      });
      if (chk.status === 403) return { refused: chk.data.message };
      if (chk.status !== 200) {
        unchecked.forEach(function (c) { delete uploaded[c.field]; });
        if (chk.status === 422 && chk.data.errors) { showErrors(chk.data.errors); throw new Shown(); }
        problem(chk.data.message || 'Chưa kiểm tra được giấy tờ (lỗi ' + chk.status + '). Vui lòng thử lại sau ít phút. ' + RETRY);
        throw new Shown();
      }
      // Each file's signed verdict goes back with it: the function then reads nothing for it.
      (chk.data.files || []).forEach(function (v) {
        unchecked.forEach(function (c) { if (uploaded[c.field].ref.key === v.key) uploaded[c.field].ref.verdict = v.verdict; });
      });
      unchecked.forEach(function (c) { uploaded[c.field].checked = true; });
      ctx.changed();
    }
    return { refs: files.map(function (c) { return uploaded[c.field].ref; }) };
  }

  /* ---------- the values, shaped as the function takes them ---------- */
  function values() {
    var out = {};
    fields.forEach(function (f) {
      if (!shown(f) || f.type === 'file') return;
      if (f.type === 'address') {
        var o = {}, any = false;
        PARTS.forEach(function (p) {
          var i = $('f-' + f.id + '-' + p[0]);
          o[p[0]] = i ? i.value : '';
          any = any || !!o[p[0]].trim();
        });
        if (any) out[f.id] = o;
      } else if (f.type === 'checkbox' && f.grouped) {
        var list = raw(f.id);
        if (list.length) out[f.id] = list;
      } else if (f.type === 'checkbox') {
        if (f.input.checked) out[f.id] = 'on';
      } else {
        var v = raw(f.id)[0];
        if (v != null && v.trim() !== '') out[f.id] = v;
      }
    });
    return out;
  }

  /* ---------- the amount, as the citizen picks copies and delivery ---------- */
  // The amounts come computed by the server's rule (the generator's fee table); the
  // page only looks them up.
  var feeBox = document.getElementById('fee-live');
  if (feeBox) {
    var fees = JSON.parse(feeBox.getAttribute('data-fees'));
    var showFee = function () {
      var pick = fees.delivery ? (form.querySelector('[name="' + fees.delivery + '"]:checked') || form.elements[fees.delivery] || {}).value || '' : '';
      var row = fees.totals[pick] || (fees.delivery ? null : fees.totals['']);
      var n = fees.copies && form.elements[fees.copies] ? parseInt(form.elements[fees.copies].value, 10) || fees.min : fees.min;
      var total = row ? row[Math.min(Math.max(n - fees.min, 0), row.length - 1)] : null;
      feeBox.hidden = total == null;
      if (total != null) feeBox.textContent = 'Số tiền phải nộp theo lựa chọn của bạn: ' + String(total).replace(/\B(?=(\d{3})+(?!\d))/g, '.') + ' đồng.';
    };
    form.addEventListener('change', showFee);
    form.addEventListener('input', showFee);
    showFee();
  }

  /* ---------- the receipt ---------- */
  // The function's own receipt (the HTML of its receipt page, templates/receipt.html in
  // submit-fn), put in place of the form. Its print button waits hidden for a script.
  function showReceipt(html, code) {
    var box = receiptBox || el('div', 'receipt-box');
    if (!receiptBox) { box.id = 'receipt'; box.tabIndex = -1; form.after(box); }
    box.innerHTML = html;
    box.querySelectorAll('[data-print]').forEach(function (b) {
      b.hidden = false;
      b.addEventListener('click', function () { window.print(); });
    });
    // The transfer's facts, one tap each, where the browser can copy.
    if (navigator.clipboard && window.isSecureContext) {
      box.querySelectorAll('[data-copy]').forEach(function (b) {
        var label = b.textContent;
        b.hidden = false;
        b.addEventListener('click', function () {
          navigator.clipboard.writeText(b.getAttribute('data-copy')).then(function () {
            b.textContent = 'Đã chép';
            setTimeout(function () { b.textContent = label; }, 2000);
          }, function () { b.textContent = 'Không chép được, hãy chép tay'; });
        });
      });
    }
    form.hidden = true;
    document.body.classList.add('has-receipt');
    box.hidden = false;
    document.title = 'Đã nhận hồ sơ ' + code + ' – ' + document.title;
    box.focus();
  }

  /* ---------- sending ---------- */
  var busy = false, again = false, received = false;
  // A retry asked for while other files are still going up runs once they are done,
  // instead of being lost (a second press of "Gửi hồ sơ" is ignored: it would send twice).
  function retry() {
    if (busy) { again = true; say('Sẽ thử tải lại ngay khi các tệp đang tải xong…'); return; }
    send();
  }
  async function send(e) {
    if (e && e.preventDefault) e.preventDefault();
    if (busy) return;
    busy = true;
    button.disabled = true;
    var label = button.textContent;
    button.textContent = 'Đang gửi…';
    try {
      say('Đang kiểm tra thông tin…');
      var v = await validateAll();
      if (v.errors.length) { say(''); showErrors(v.errors); return; }
      clearErrors();
      if (nativeMode) { say('Đang gửi hồ sơ…'); form.submit(); return; }
      for (var attempt = 0; ; attempt++) {
        say('Đang xác minh chống thư rác tự động…');
        // One solution for the uploads and the submission of one attempt.
        var pow = await proof();
        var up = await uploadAll(v.files, pow);
        if (up.refused) {
          if (attempt === 0) { startAltcha(); continue; }
          say('');
          problem((up.refused || 'Không xác minh được bạn là người gửi thật.') + ' ' + RETRY);
          startAltcha();
          return;
        }
        var refs = up.refs;
        say('Đang gửi hồ sơ…');
        var res = await jsonPost('/dossiers', {
          procedure: procedure,
          // The page's own version, not the schema's: the fields shown are the page's.
          form_version: form.elements.form_version ? form.elements.form_version.value : undefined,
          idempotency_key: key,
          altcha: pow,
          website: form.elements.website ? form.elements.website.value : '',
          values: values(),
          uploads: refs
        });
        if ((res.status === 200 || res.status === 201) && res.data.receipt_html) {
          received = ctx.done = true;
          try { localStorage.removeItem(DRAFT); } catch (e) { /* storage blocked */ } say(''); showReceipt(res.data.receipt_html, res.data.receipt.code); return; }
        var captcha = res.data.errors && res.data.errors.some(function (x) { return x.field === 'altcha'; });
        if (res.status === 403 && captcha && attempt === 0) { startAltcha(); continue; }
        say('');
        var fieldErrors = (res.data.errors || []).filter(function (x) { return byId[x.field]; });
        if (res.status === 422 && fieldErrors.length) {
          // A staged upload may have expired; choose it again on the next try.
          if (fieldErrors.some(function (x) { return byId[x.field].type === 'file'; })) uploaded = {};
          showErrors(res.data.errors);
        } else if (res.data.errors && res.data.errors.length) {
          problem(res.data.errors.map(function (x) { return x.message; }).join(' ') + ' ' + RETRY);
        } else {
          problem((res.data.message || 'Máy chủ đang bận (lỗi ' + res.status + '). Vui lòng chờ ít phút rồi bấm "Gửi hồ sơ" lần nữa.') + ' ' + RETRY);
        }
        if (captcha) startAltcha();
        return;
      }
    } catch (err) {
      say('');
      if (!(err instanceof Shown)) {
        problem('Không gửi được vì mất kết nối mạng hoặc mạng quá yếu. Hãy kiểm tra mạng rồi bấm "Gửi hồ sơ" lần nữa; hồ sơ sẽ không bị gửi trùng. ' + RETRY);
      }
    } finally {
      busy = false;
      button.disabled = false;
      button.textContent = label;
      if (again) { again = false; if (!received) setTimeout(send, 0); }
    }
  }
  form.addEventListener('submit', send);
})();
