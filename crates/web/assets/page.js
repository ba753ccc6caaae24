// The function's own pages under the production CSP (script-src 'self'): no inline
// handler anywhere, so the print button is wired here. It is hidden until this runs,
// so that a phone without JavaScript never shows a button that does nothing.
// The copy buttons of a bank transfer's details show only where the browser can copy
// (a secure page); elsewhere the text itself is there to select.
(function () {
  var buttons = document.querySelectorAll('[data-print]');
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener('click', function () { window.print(); });
  }
  if (!(navigator.clipboard && window.isSecureContext)) return;
  var copies = document.querySelectorAll('[data-copy]');
  for (var j = 0; j < copies.length; j++) {
    copies[j].hidden = false;
    copies[j].addEventListener('click', function (event) {
      var button = event.currentTarget;
      var label = button.getAttribute('data-label') || button.textContent;
      button.setAttribute('data-label', label);
      navigator.clipboard.writeText(button.getAttribute('data-copy')).then(function () {
        button.textContent = 'Đã chép';
        setTimeout(function () { button.textContent = label; }, 2000);
      }, function () {
        button.textContent = 'Không chép được, hãy chép tay';
      });
    });
  }
})();
