// Trang cán bộ: đăng nhập, danh sách hồ sơ, xem hồ sơ, các bước xử lý. Không dùng thư viện.
(function () {
  "use strict";
  var API = "/api/admin";
  var csrf = "";
  var $ = function (id) { return document.getElementById(id); };
  function esc(s) { return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); }
  function say(text, bad) { var m = $("cb-msg"); m.className = bad ? "notice error" : "notice"; m.textContent = text || ""; }
  function call(method, path, body) {
    var opt = { method: method, credentials: "same-origin", headers: {} };
    if (method !== "GET") { opt.headers["X-CSRF-Token"] = csrf; opt.headers["Content-Type"] = "application/json"; opt.body = JSON.stringify(body || {}); }
    return fetch(API + path, opt).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (r.status === 401) { show(false); }
        if (!r.ok) { throw new Error(j.message || (r.status === 429 ? "Quá nhiều yêu cầu từ mạng này trong ít phút; vui lòng chờ vài phút rồi thử lại." : "Lỗi " + r.status)); }
        return j;
      });
    });
  }
  function show(on) { $("cb-login").hidden = on; $("cb-app").hidden = !on; }
  function filters(id, options) {
    // The statuses, the fee's states and their names come from the server.
    var sel = $(id);
    if (sel.options.length > 1 || !options) { return; }
    options.forEach(function (o) { var opt = document.createElement("option"); opt.value = o.value; opt.textContent = o.label; sel.appendChild(opt); });
  }
  function started(s) { csrf = s.csrf; filters("cb-status", s.filters); filters("cb-payment", s.payment_filters); $("cb-who").textContent = s.name + " (" + s.login + ")"; show(true); list(); outbox(); }
  function day(t) { return t ? t.slice(8, 10) + "/" + t.slice(5, 7) + "/" + t.slice(0, 4) : ""; }
  function list() {
    var f = new FormData($("cb-filter")), q = [];
    f.forEach(function (v, k) { if (v) q.push(k + "=" + encodeURIComponent(v)); });
    call("GET", "/dossiers?" + q.join("&")).then(function (d) {
      var c = d.counts;
      $("cb-counts").textContent = "Tổng " + c.total + " hồ sơ · mới " + c.new + " · quá hạn " + c.overdue + " · chờ bổ sung " + c.waiting_papers + " · khớp bộ lọc " + d.matched;
      $("cb-rows").innerHTML = d.items.map(function (s) {
        return "<tr><td><a href=\"#" + esc(s.code) + "\" data-code=\"" + esc(s.code) + "\">" + esc(s.code) + "</a></td><td>" + esc(s.applicant) + "</td><td>" + esc(s.procedure_title) +
          "</td><td>" + day(s.received_at) + "</td><td>" + day(s.appointment) + (s.overdue ? " <strong>(quá hạn)</strong>" : "") + "</td><td>" + esc(s.status_label) + (s.payment_label ? "<br>" + esc(s.payment_label) : "") + "</td></tr>";
      }).join("");
    }).catch(function (e) { say(e.message, true); });
  }
  // Each step's label and whether it is open come from the server (dossier::status);
  // only the inputs a step asks for live here.
  var INPUTS = {
    "receive": "<label>Ngày hẹn trả <input type=\"date\" name=\"appointment\" required></label>",
    "request-papers": "<label>Giấy tờ cần bổ sung <textarea name=\"missing\" required></textarea></label>",
    "hand-over": "<fieldset><legend>Cách trả</legend><label><input type=\"radio\" name=\"method\" value=\"desk\" checked> Tại quầy</label> <label><input type=\"radio\" name=\"method\" value=\"post\"> Qua bưu điện</label> <label><input type=\"radio\" name=\"method\" value=\"online\"> Bản điện tử</label></fieldset><label>Số hiệu bưu gửi <input name=\"postal_tracking\"></label><label>Tệp kết quả (khi trả bản điện tử: PDF, JPG hoặc PNG, tối đa 4 MB) <input type=\"file\" name=\"result_file\" accept=\".pdf,.jpg,.jpeg,.png\"></label>",
    "refuse": "<label>Lý do từ chối <textarea name=\"reason\" required></textarea></label>",
    "record-payment": "<label>Số tiền đã nhận (đồng) <input name=\"amount\" inputmode=\"numeric\" required></label><fieldset><legend>Cách nộp</legend><label><input type=\"radio\" name=\"payment_method\" value=\"transfer\" checked> Chuyển khoản (đã thấy tiền vào tài khoản)</label> <label><input type=\"radio\" name=\"payment_method\" value=\"cash\"> Tiền mặt</label></fieldset><label>Mã giao dịch trên sao kê (khi chuyển khoản) <input name=\"reference\" spellcheck=\"false\"></label>",
    "record-refund": "<label>Số tiền đã hoàn trả (đồng) <input name=\"amount\" inputmode=\"numeric\" required></label><fieldset><legend>Cách hoàn trả</legend><label><input type=\"radio\" name=\"payment_method\" value=\"transfer\" checked> Chuyển khoản về tài khoản của công dân</label> <label><input type=\"radio\" name=\"payment_method\" value=\"cash\"> Tiền mặt tại quầy</label></fieldset><label>Mã giao dịch chuyển trả (khi chuyển khoản) <input name=\"reference\" spellcheck=\"false\"></label><label>Ghi chú <input name=\"note\"></label>",
    "record-receipt": "<label>Mã tra cứu in trên biên lai điện tử <input name=\"e_receipt\" spellcheck=\"false\" required></label>"
  };
  // Asked with the payment too when the commune has a receipt system.
  var RECEIPT_WITH_PAYMENT = "<label>Mã tra cứu biên lai điện tử (nếu đã phát hành) <input name=\"e_receipt\" spellcheck=\"false\"></label>";
  function open(code) {
    call("GET", "/dossiers/" + encodeURIComponent(code)).then(function (d) {
      $("cb-d-h").textContent = "Hồ sơ " + d.code + " – " + d.status_label;
      var h = "<p>" + esc(d.procedure.title) + " · Hẹn trả: " + esc(day(d.appointment)) + " " + esc(d.appointment.slice(11)) +
        (d.fee_total ? " · Phí: " + esc(d.fee_total) + " – <strong>" + esc(d.payment_label) + "</strong>" : "") + (d.refundable_text ? " · <strong>Cần hoàn trả " + esc(d.refundable_text) + "</strong>" : "") + "</p><table class=\"receipt-table\"><tbody>";
      d.fields.forEach(function (f) { h += "<tr><th scope=\"row\">" + esc(f.label) + "</th><td>" + esc(f.value) + "</td></tr>"; });
      // Each file through the console's own link (a fresh short-lived URL per click),
      // so the opening is written to the dossier's access log the citizen sees.
      h += "</tbody></table><h3>Tệp đính kèm</h3><p class=\"hint\">Mỗi lần mở tệp được ghi lại và công dân xem được trên trang tra cứu hồ sơ (thời gian, vai trò; không ghi tên cán bộ).</p><ul>";
      d.attachments.forEach(function (a) { h += "<li><a href=\"" + API + "/dossiers/" + encodeURIComponent(d.code) + "/attachment?key=" + encodeURIComponent(a.key) + "\" target=\"_blank\" rel=\"noopener\">" + esc(a.name) + "</a> (" + esc(a.origin) + ", " + Math.ceil(a.size / 1024) + " KB)</li>"; });
      h += "</ul><h3>Quá trình xử lý</h3><ol>";
      d.history.forEach(function (e) { h += "<li>" + esc(e.at.slice(0, 16).replace("T", " ")) + " – " + esc(e.label) + (e.by_name ? " – " + esc(e.by_name) : "") + (e.note ? "<br>" + esc(e.note) : "") + "</li>"; });
      h += "</ol>";
      // The register's fields in its order, each copied with one click.
      if (d.register) {
        h += "<h3>Chép vào " + esc(d.register.register) + (d.register.software ? " (" + esc(d.register.software) + ")" : "") + "</h3><table class=\"receipt-table\"><tbody>";
        d.register.entries.forEach(function (e) {
          h += "<tr><th scope=\"row\">" + esc(e.name) + "</th><td>" + esc(e.value) + (e.value ? " <button type=\"button\" class=\"button-link\" data-copy=\"" + esc(e.value) + "\">Chép</button>" : "") + "</td></tr>";
        });
        h += "</tbody></table>";
      }
      if (d.rating) {
        h += "<h3>Đánh giá của công dân</h3><dl class=\"rating-given\">";
        d.rating.answers.forEach(function (a) { h += "<dt>" + esc(a.question) + "</dt><dd>" + esc(a.label) + " (" + a.score + "/5)</dd>"; });
        if (d.rating.comment) { h += "<dt>Góp ý</dt><dd>" + esc(d.rating.comment) + "</dd>"; }
        h += "</dl>";
      }
      if (d.printable_receipt) {
        h += "<p><a class=\"button\" href=\"" + API + "/dossiers/" + encodeURIComponent(d.code) + "/receipt\" target=\"_blank\" rel=\"noopener\">In giấy tiếp nhận (Mẫu 01)</a></p>";
      }
      $("cb-d-body").innerHTML = h;
      $("cb-actions").innerHTML = d.actions.map(function (a) {
        return "<form class=\"cb-action\" data-action=\"" + esc(a.id) + "\" data-seq=\"" + d.seq + "\" data-code=\"" + esc(d.code) + "\"><h3>" + esc(a.label) + "</h3>" + (INPUTS[a.id] || "") + (a.id === "record-payment" && d.e_receipts ? RECEIPT_WITH_PAYMENT : "") + "<button class=\"button\" type=\"submit\">" + esc(a.label) + "</button></form>";
      }).join("");
      var ap = $("cb-actions").querySelector("input[name=appointment]");
      if (ap) { ap.value = d.proposed_appointment; }
      var back = $("cb-actions").querySelector("form[data-action=record-refund] input[name=amount]");
      if (back) { back.value = String(d.refundable); }
      $("cb-dossier").hidden = false; $("cb-dossier").focus();
    }).catch(function (e) { say(e.message, true); });
  }
  function outbox() {
    call("GET", "/outbox").then(function (o) {
      $("cb-outbox").innerHTML = "<p>Đã gửi " + o.delivered + " · đang chờ " + o.waiting.length + (o.smtp_configured ? "" : " · chưa cấu hình máy chủ thư") + (o.sms_configured ? "" : " · chưa cấu hình cổng SMS") + "</p>" +
        (o.waiting.length ? "<table class=\"receipt-table cb-outbox\"><caption class=\"visually-hidden\">Thông báo đang chờ gửi</caption><thead><tr><th scope=\"col\">Mã hồ sơ</th><th scope=\"col\">Thông báo</th><th scope=\"col\">Gửi tới</th><th scope=\"col\">Tình trạng</th></tr></thead><tbody>" +
          o.waiting.map(function (r) {
            var to = [r.sms_to ? "SMS " + r.sms_to + (r.sms_sent ? " (đã gửi)" : "") : "", r.email_to ? "thư " + r.email_to + (r.email_sent ? " (đã gửi)" : "") : ""].filter(Boolean).join(", ");
            return "<tr><td>" + esc(r.code) + "</td><td>" + esc(r.kind_label) + "</td><td>" + esc(to) + "</td><td>" +
              (r.attempts > 0 ? "Lỗi sau " + r.attempts + " lần: " + esc(r.last_error) : "Chờ gửi") + "</td></tr>";
          }).join("") + "</tbody></table>" : "") +
        (o.gave_up && o.gave_up.length ? "<h3>Không gửi được sau 7 ngày: hãy liên hệ công dân</h3><table class=\"receipt-table cb-outbox\"><caption class=\"visually-hidden\">Thông báo không gửi được</caption><thead><tr><th scope=\"col\">Mã hồ sơ</th><th scope=\"col\">Thông báo</th><th scope=\"col\">Gửi tới</th><th scope=\"col\">Lỗi cuối</th></tr></thead><tbody>" +
          o.gave_up.map(function (r) {
            var to = [r.sms_to ? "SMS " + r.sms_to : "", r.email_to ? "thư " + r.email_to : ""].filter(Boolean).join(", ");
            return "<tr><td>" + esc(r.code) + "</td><td>" + esc(r.kind_label) + "</td><td>" + esc(to) + "</td><td>" + esc(r.last_error || "chưa gửi được") + "</td></tr>";
          }).join("") + "</tbody></table>" : "");
    }).catch(function () {});
  }
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (f.id === "cb-login-form") {
      ev.preventDefault();
      fetch(API + "/login", { method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ login: $("cb-user").value, password: $("cb-pass").value }) })
        .then(function (r) { return r.json().then(function (j) { if (!r.ok) { throw new Error(j.message); } return j; }); })
        .then(function (s) { $("cb-pass").value = ""; say(""); started(s); })
        .catch(function (e) { say(e.message, true); });
    } else if (f.id === "cb-filter") {
      ev.preventDefault(); list();
    } else if (f.id === "cb-desk-open") {
      // A paper dossier: the server renders the procedure's form for the desk.
      ev.preventDefault();
      call("GET", "/desk/form?procedure=" + encodeURIComponent($("cb-desk-proc").value)).then(function (d) {
        $("cb-desk").innerHTML = "<h3>" + esc(d.title) + "</h3>" + d.form_html;
        var first = $("cb-desk").querySelector("input:not([type=hidden]),select,textarea");
        if (first) { first.focus(); }
      }).catch(function (e) { say(e.message, true); });
    } else if (f.id === "desk-form") {
      ev.preventDefault();
      var values = {};
      new FormData(f).forEach(function (v, k) { (values[k] = values[k] || []).push(String(v)); });
      var go = f.querySelector("button[type=submit]");
      go.disabled = true;
      fetch(API + "/desk", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json" },
        body: JSON.stringify({ procedure: f.dataset.procedure, idempotency_key: (values.idempotency_key || [""])[0], values: values }) })
        .then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (j) {
            if (r.ok) {
              $("cb-desk").innerHTML = "<p class=\"notice\">" + esc(j.message) + " <a href=\"" + esc(j.receipt_url) + "\" target=\"_blank\" rel=\"noopener\">In giấy tiếp nhận</a></p>";
              say(j.message); list(); open(j.code);
              return;
            }
            // The form comes back filled, with each mistake beside its field.
            if (j.form_html) { f.outerHTML = j.form_html; var sum = $("error-summary"); if (sum) { sum.focus(); } }
            throw new Error(j.message || "Lỗi " + r.status);
          });
        })
        .catch(function (e) { go.disabled = false; say(e.message, true); });
    } else if (f.id === "cb-statement") {
      ev.preventDefault();
      var file = $("cb-st-file").files[0];
      if (!file) { return; }
      file.text().then(function (text) {
        return fetch(API + "/payments/statement", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf, "Content-Type": "text/csv" }, body: text })
          .then(function (r) { return r.json().then(function (j) { if (!r.ok) { throw new Error(j.message || "Lỗi " + r.status); } return j; }); });
      }).then(function (d) {
        $("cb-st-result").innerHTML = "<table class=\"receipt-table\"><caption class=\"visually-hidden\">Các khoản ghi có và hồ sơ</caption><thead><tr><th scope=\"col\">Dòng</th><th scope=\"col\">Số tiền</th><th scope=\"col\">Nội dung</th><th scope=\"col\">Hồ sơ</th><th scope=\"col\">Đối chiếu</th></tr></thead><tbody>" +
          d.matches.map(function (m) {
            var act = m.recordable ? " <button type=\"button\" class=\"button-link\" data-record=\"" + esc(JSON.stringify({ code: m.code, seq: m.seq, amount: m.amount, reference: m.reference })) + "\">Ghi nhận</button>" : "";
            // Money naming no dossier goes back to its sender: how, recorded once.
            if (m.verdict === "no-dossier") {
              act = m.returned ? "<br>" + esc(m.returned) : "<form class=\"cb-return\" data-line=\"" + esc(JSON.stringify({ date: m.date, amount: m.amount, reference: m.reference, description: m.description })) +
                "\"><label>Cách đã trả lại người chuyển <input name=\"note\" required></label> <button class=\"button-link\" type=\"submit\">Ghi nhận đã trả lại</button></form>";
            }
            return "<tr><td>" + m.row + "</td><td>" + esc(m.amount_text) + "</td><td>" + esc(m.description) + "</td><td>" + esc(m.code || "—") + "</td><td>" + esc(m.verdict_label) + act + "</td></tr>";
          }).join("") + "</tbody></table>";
      }).catch(function (e) { say(e.message, true); });
    } else if (f.classList.contains("cb-return")) {
      ev.preventDefault();
      var line = JSON.parse(f.dataset.line);
      line.note = f.elements.note.value;
      call("POST", "/payments/unmatched", line)
        .then(function (r) { f.replaceWith(document.createTextNode(" – " + r.returned)); say(r.returned); })
        .catch(function (e) { say(e.message, true); });
    } else if (f.classList.contains("cb-action")) {
      ev.preventDefault();
      var body = { action: f.dataset.action, expected_seq: Number(f.dataset.seq) };
      var file = null;
      new FormData(f).forEach(function (v, k) {
        if (typeof v === "string") { body[k] = v; } else if (v.size) { file = v; }
      });
      // The result file goes as base64 in the JSON, read only when one is chosen.
      var ready = file && body.method === "online" ? new Promise(function (ok, fail) {
        var reader = new FileReader();
        reader.onload = function () { body.result_file = { name: file.name, data: String(reader.result).split(",")[1] || "" }; ok(); };
        reader.onerror = function () { fail(new Error("Không đọc được tệp kết quả; hãy chọn lại.")); };
        reader.readAsDataURL(file);
      }) : Promise.resolve();
      ready.then(function () { return call("POST", "/dossiers/" + encodeURIComponent(f.dataset.code) + "/actions", body); })
        .then(function (r) { say("Đã ghi: " + r.status_label); open(f.dataset.code); list(); outbox(); })
        .catch(function (e) { say(e.message, true); });
    }
  });
  document.addEventListener("click", function (ev) {
    var c = ev.target.closest("button[data-copy]");
    if (c && navigator.clipboard) {
      navigator.clipboard.writeText(c.dataset.copy).then(function () { say("Đã chép: " + c.dataset.copy); }, function () { say("Không chép được; hãy bôi đen rồi chép.", true); });
      return;
    }
    var a = ev.target.closest("a[data-code]");
    if (a) { ev.preventDefault(); open(a.dataset.code); }
    var rec = ev.target.closest("button[data-record]");
    if (rec) {
      var m = JSON.parse(rec.dataset.record);
      call("POST", "/dossiers/" + encodeURIComponent(m.code) + "/actions", { action: "record-payment", expected_seq: m.seq, amount: String(m.amount), payment_method: "transfer", reference: m.reference || "sao kê" })
        .then(function () { rec.replaceWith(document.createTextNode(" – đã ghi nhận")); say("Đã ghi nhận khoản nộp phí cho hồ sơ " + m.code); list(); })
        .catch(function (e) { say(e.message, true); });
    }
  });
  $("cb-logout").addEventListener("click", function () { call("POST", "/logout").then(function () { csrf = ""; show(false); }); });
  $("cb-deliver").addEventListener("click", function () {
    call("POST", "/outbox/deliver").then(function (r) { say("Đã gửi " + r.sent + ", lỗi " + r.failed + ", chờ " + r.waiting); outbox(); }).catch(function (e) { say(e.message, true); });
  });
  fetch(API + "/session", { credentials: "same-origin" }).then(function (r) { return r.ok ? r.json() : null; })
    .then(function (s) { if (s) { started(s); } else { show(false); } }).catch(function () { show(false); });
}());
