/* Registers the service worker (/sw.js) that keeps the pages a citizen opened readable
   without coverage, and asks it to keep this page and what it uses. */
(function () {
  'use strict';
  var sw = navigator.serviceWorker;
  if (!sw || location.protocol === 'file:') return;
  window.addEventListener('load', function () {
    sw.register('/sw.js').then(function () { return sw.ready; }).then(function (r) {
      var keep = [location.pathname];
      Array.prototype.forEach.call(document.querySelectorAll('link[rel=stylesheet],script[src],link[rel=icon]'), function (n) {
        keep.push(n.getAttribute('href') || n.getAttribute('src'));
      });
      if (r.active) r.active.postMessage({ keep: keep });
    }).catch(function () {});
  });
})();
