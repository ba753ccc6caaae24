/* Tìm thủ tục không cần dấu: gấp chữ giống crates/catalog/src/text.rs (NFD, bỏ dấu, đ → d,
   chữ thường); mỗi từ gõ vào phải là đầu của một từ trong thủ tục. */
(function () {
  'use strict';
  var script = document.currentScript;
  var input = document.getElementById('q');
  if (!input || !window.fetch) return;
  var indexUrl = (script && script.getAttribute('data-index')) || '/tim-kiem/index.json';
  var status = document.getElementById('search-status');
  var list = document.getElementById('search-results');
  var onSearchPage = !!list;
  if (!list) {
    // Trang chủ: kết quả hiện ngay dưới ô tìm kiếm.
    var form = input.form;
    status = document.createElement('p');
    status.id = 'search-status';
    status.className = 'search-status';
    status.setAttribute('aria-live', 'polite');
    list = document.createElement('ul');
    list.id = 'search-results';
    list.className = 'proc-list';
    form.parentNode.insertBefore(status, form.nextSibling);
    form.parentNode.insertBefore(list, status.nextSibling);
  }
  var rows = null;
  var loading = null;
  var timer = 0;

  function fold(text) {
    return String(text).replace(/[đĐÐð]/g, 'd').normalize('NFD')
      .replace(/\p{M}/gu, '').toLowerCase();
  }
  function words(text) {
    return fold(text).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  }
  function load() {
    if (!loading) {
      loading = fetch(indexUrl).then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      }).then(function (data) {
        rows = data.map(function (r) {
          return { title: r[0], slug: r[1], code: r[2], level: r[3], words: words(r[4]) };
        });
        return rows;
      });
      loading.catch(function () { loading = null; });
    }
    return loading;
  }
  function matches(row, terms) {
    return terms.every(function (t) {
      return row.words.some(function (w) { return w.lastIndexOf(t, 0) === 0; });
    });
  }
  function say(text) {
    if (status) status.textContent = text;
  }
  function render(query) {
    var terms = words(query);
    list.textContent = '';
    if (!terms.length) {
      say(onSearchPage ? 'Gõ tên thủ tục, ví dụ "khai sinh", rồi bấm Tìm.' : '');
      return;
    }
    var found = rows.filter(function (r) { return matches(r, terms); });
    found.forEach(function (r) {
      var li = document.createElement('li');
      var a = document.createElement('a');
      a.href = '/thu-tuc/' + r.slug + '/';
      a.textContent = r.title;
      var mark = document.createElement('span');
      mark.className = 'level level-' + r.level;
      mark.textContent = 'Mức ' + r.level;
      var code = document.createElement('small');
      code.textContent = 'Mã ' + r.code;
      li.append(a, ' ', mark, document.createElement('br'), code);
      list.appendChild(li);
    });
    say(found.length
      ? 'Tìm thấy ' + found.length + ' thủ tục cho "' + query.trim() + '".'
      : 'Không tìm thấy thủ tục nào cho "' + query.trim() + '". Hãy thử từ khác ngắn hơn, ví dụ "khai sinh", hoặc xem danh mục trên trang chủ.');
  }
  function run() {
    var query = input.value;
    load().then(function () { render(query); }, function () {
      say('Chưa tải được danh sách thủ tục. Vui lòng kiểm tra kết nối mạng rồi thử lại, hoặc xem danh mục trên trang chủ.');
    });
  }

  var initial = new URLSearchParams(location.search).get('q');
  if (initial !== null) input.value = initial;
  if (onSearchPage) {
    run();
    input.form.addEventListener('submit', function (e) {
      e.preventDefault();
      history.replaceState(null, '', '?q=' + encodeURIComponent(input.value));
      run();
    });
  }
  input.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(run, 150);
  });
  input.addEventListener('focus', function () { load().catch(function () {}); }, { once: true });
})();
