/* Bản nháp trên máy: what the citizen types is kept in this browser's storage as it is
   typed (never sent anywhere), offered back when the form is opened again, and
   cleared when the dossier is received, by "Xóa bản nháp", or after a few days.
   Loaded by form.js only when a draft exists or the citizen starts typing. */
(function () {
  'use strict';
  var KEEP_DAYS = 3;
  // A staged file serves only the proof of work it was issued under: it is remembered
  // while that proof is valid (its `expires`, MOTCUA_CAPTCHA_TTL, 20 minutes on AWS),
  // never past the bucket's lifecycle rule for uploads/ (1 day, infra/template.yaml).
  var STAGING_MS = 24 * 3600e3, MARGIN_MS = 2 * 60e3;
  var SKIP = /^(altcha|idempotency_key|form_version|procedure|website|human_answer|human_token)$/;

  function hhmm(t) {
    var d = new Date(t);
    function two(n) { return (n < 10 ? '0' : '') + n; }
    return two(d.getHours()) + ':' + two(d.getMinutes()) + ' ngày ' + two(d.getDate()) + '/' + two(d.getMonth() + 1) + '/' + d.getFullYear();
  }
  function powExpires(pow) {
    try {
      var s = JSON.parse(atob(pow)).salt;
      var m = /[?&]expires=(\d+)/.exec(s);
      return m ? +m[1] * 1000 : 0;
    } catch (e) { return 0; }
  }

  window.motcuaDrafts = function (ctx) {
    if (ctx.started) return;
    ctx.started = true;
    var form = ctx.form, el = ctx.el, store = ctx.store, paused = false, timer = null;
    var versionInput = form.elements.form_version;
    var version = versionInput ? versionInput.value : '';

    function read() {
      try {
        var d = JSON.parse(localStorage.getItem(store) || 'null');
        if (d && d.saved && Date.now() - d.saved < KEEP_DAYS * 86400e3) return d;
        localStorage.removeItem(store);
      } catch (e) { /* storage blocked or damaged */ }
      return null;
    }
    function inputs() {
      return Array.prototype.filter.call(form.elements, function (i) {
        return i.id && i.name && !SKIP.test(i.name) && i.type !== 'file' && i.type !== 'hidden' &&
          !/^(submit|button)$/.test(i.type);
      });
    }

    /* ---------- saving as the citizen types ---------- */
    var note = el('p', 'hint draft-note');
    note.setAttribute('aria-live', 'polite');
    var clear = el('button', 'button secondary', 'Xóa bản nháp');
    clear.type = 'button';
    var bar = el('div', 'draft-bar');
    bar.append(note, clear);
    bar.hidden = true;
    form.querySelector('.form-actions').after(bar);

    function save() {
      clearTimeout(timer);
      timer = null;
      if (paused || ctx.done) return;
      var values = {}, any = false;
      inputs().forEach(function (i) {
        if (i.type === 'checkbox' || i.type === 'radio') { if (i.checked) values[i.id] = true; } else if (i.value) values[i.id] = i.value;
        any = any || touched(i);
      });
      var up = ctx.uploads(), pow = ctx.proof(), uploads = [];
      Object.keys(up).forEach(function (id) { if (up[id].checked) uploads.push(up[id].ref); });
      if (!any && !uploads.length) {
        // Everything emptied by hand: no draft left to offer.
        try { localStorage.removeItem(store); } catch (e) { /* storage blocked */ }
        bar.hidden = true;
        return;
      }
      var old = read() || {};
      var d = {
        v: 1,
        saved: Date.now(),
        started: old.started || Date.now(),
        form_version: version,
        fields: ctx.fields.map(function (f) { return f.id; }),
        key: ctx.key(),
        values: values
      };
      if (uploads.length && pow) {
        d.pow = pow;
        d.uploads = uploads;
        d.until = Math.min(powExpires(pow), Date.now() + STAGING_MS);
      }
      try {
        localStorage.setItem(store, JSON.stringify(d));
        note.textContent = 'Bản nháp được lưu trên máy này lúc ' + hhmm(d.saved) + ' (không gửi đi đâu). Dùng chung điện thoại? Bấm "Xóa bản nháp" khi xong.';
        bar.hidden = false;
      } catch (e) {
        note.textContent = 'Máy này không cho lưu bản nháp (bộ nhớ đầy hoặc chế độ riêng tư). Bạn vẫn gửi hồ sơ được như thường.';
        bar.hidden = false;
      }
    }
    // Only what the citizen changed makes a draft: the page's own defaults do not.
    function touched(i) {
      if (i.type === 'checkbox' || i.type === 'radio') return i.checked !== i.defaultChecked;
      if (i.tagName === 'SELECT') {
        var d = 0;
        Array.prototype.forEach.call(i.options, function (o, n) { if (o.defaultSelected) d = n; });
        return i.selectedIndex !== d;
      }
      return i.value !== i.defaultValue;
    }
    function later() { if (!timer) timer = setTimeout(save, 400); }
    form.addEventListener('input', later);
    form.addEventListener('change', later);
    // A tab put away (the camera opened, another app) saves at once.
    document.addEventListener('visibilitychange', function () { if (document.hidden) save(); });
    window.addEventListener('pagehide', save);
    ctx.changed = save;

    clear.addEventListener('click', function () {
      try { localStorage.removeItem(store); } catch (e) { /* storage blocked */ }
      clearTimeout(timer);
      form.reset();
      Array.prototype.forEach.call(form.querySelectorAll('.upload-status'), function (b) { b.textContent = ''; });
      form.dispatchEvent(new Event('change'));
      ctx.key(ctx.newKey());
      ctx.forget();
      clearTimeout(timer);
      timer = null;
      bar.hidden = true;
      if (offer) offer.remove();
      paused = false;
      ctx.say('Đã xóa bản nháp và những gì đã nhập trên máy này.');
    });

    /* ---------- a draft found when the form opens ---------- */
    var draft = read(), offer = null;
    if (draft && !form.hidden) {
      paused = true;
      offer = el('div', 'draft-offer');
      offer.setAttribute('role', 'region');
      offer.setAttribute('aria-labelledby', 'draft-offer-title');
      offer.tabIndex = -1;
      var h = el('h2', null, 'Bạn có một bản nháp chưa gửi');
      h.id = 'draft-offer-title';
      var go = el('button', 'button', 'Tiếp tục điền');
      go.type = 'button';
      var fresh = el('button', 'button secondary', 'Bắt đầu lại');
      fresh.type = 'button';
      var actions = el('p', 'draft-actions');
      actions.append(go, ' ', fresh);
      offer.append(h, el('p', null, 'Lưu trên máy này lúc ' + hhmm(draft.saved) + '. Bạn muốn điền tiếp từ bản nháp, hay bắt đầu lại với biểu mẫu trống?'), actions);
      form.before(offer);
      go.addEventListener('click', function () { restore(draft); offer.remove(); offer = null; paused = false; save(); });
      fresh.addEventListener('click', function () {
        try { localStorage.removeItem(store); } catch (e) { /* storage blocked */ }
        offer.remove();
        offer = null;
        paused = false;
        save();
        form.querySelector('input:not([type=hidden]),select,textarea').focus();
      });
    }

    if (!paused) later();

    function restore(d) {
      Object.keys(d.values || {}).forEach(function (id) {
        var i = document.getElementById(id);
        if (!i || !form.contains(i)) return;
        if (i.type === 'checkbox' || i.type === 'radio') i.checked = !!d.values[id];
        else i.value = d.values[id];
      });
      // Unchecked boxes are not stored: clear those the page may have checked.
      inputs().forEach(function (i) {
        if ((i.type === 'checkbox' || i.type === 'radio') && !(i.id in d.values) && d.values) i.checked = false;
      });
      form.dispatchEvent(new Event('change'));
      if (d.key) ctx.key(d.key);
      var said = [];
      var refs = (d.uploads || []).filter(function (r) { return ctx.byId[r.field]; });
      if (refs.length && d.pow && d.until - MARGIN_MS > Date.now()) {
        ctx.remember(d.pow, refs);
        refs.forEach(function (r) {
          document.getElementById('f-' + r.field + '-status').textContent = 'Đã tải lên "' + r.name + '" từ lần trước: không cần chọn lại nếu bạn gửi trước ' + hhmm(d.until - MARGIN_MS).slice(0, 5) + '.';
        });
      } else {
        refs.forEach(function (r) {
          document.getElementById('f-' + r.field + '-status').textContent = 'Tệp "' + r.name + '" đã tải lên từ lần trước nhưng đã quá thời gian máy chủ giữ. Vui lòng chọn lại tệp.';
        });
      }
      // A form changed since the draft was typed: say which fields are new.
      if (d.form_version !== version && d.fields) {
        var added = ctx.fields.filter(function (f) { return d.fields.indexOf(f.id) < 0 && !f.box.hidden; })
          .map(function (f) { return '"' + f.label + '"'; });
        said.push('Biểu mẫu đã được xã cập nhật từ khi bạn lưu bản nháp.' + (added.length ? ' Ô mới cần xem: ' + added.join(', ') + '.' : ' Vui lòng xem lại các ô trước khi gửi.'));
      }
      ctx.say(['Đã điền lại từ bản nháp.'].concat(said).join(' '));
      var first = form.querySelector('input:not([type=hidden]),select,textarea');
      if (first) first.focus();
    }
  };
})();
