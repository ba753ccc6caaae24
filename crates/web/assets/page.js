// The function's own pages under the production CSP (script-src 'self'): no inline
// handler anywhere, so the print button is wired here. It is hidden until this runs,
// so that a phone without JavaScript never shows a button that does nothing.
(function () {
  var buttons = document.querySelectorAll('[data-print]');
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].hidden = false;
    buttons[i].addEventListener('click', function () { window.print(); });
  }
})();
