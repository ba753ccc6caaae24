/* Trang đọc được khi mất mạng: the guides, forms and catalogue pages a citizen has opened
   are kept on the phone and shown again without coverage. Published as /sw.js (a stable
   name, served with Cache-Control: no-cache, so a new version reaches every phone).
   Never kept: anything under /api/ (the function's answers, tracking, the officers'
   routes), the officers' console, addresses with a query (a tracking token), and
   anything but a plain 200 answer of this site. */
'use strict';
var CACHE = 'motcua-pages-v1';
var MAX_ENTRIES = 80;

function keepable(url) {
  return url.origin === self.location.origin && !url.search &&
    !/^\/(api|can-bo|__dev)(\/|$)/.test(url.pathname) && url.pathname !== '/sw.js';
}

self.addEventListener('install', function () { self.skipWaiting(); });
self.addEventListener('activate', function (e) {
  e.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) { return n.indexOf('motcua-') === 0 && n !== CACHE; })
      .map(function (n) { return caches.delete(n); }));
  }));
});

function put(request, response) {
  if (!response || response.status !== 200 || response.type !== 'basic') return;
  var copy = response.clone();
  caches.open(CACHE).then(function (c) {
    return c.put(request, copy).then(function () { return c.keys(); }).then(function (keys) {
      // The oldest go first when the phone keeps too many.
      return Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_ENTRIES)).map(function (k) { return c.delete(k); }));
    });
  }).catch(function () {});
}

self.addEventListener('fetch', function (e) {
  var req = e.request;
  if (req.method !== 'GET') return;
  var url = new URL(req.url);
  if (url.origin !== self.location.origin || /^\/(api|__dev)\//.test(url.pathname)) return;
  var key = url.origin + url.pathname;
  if (/^\/assets\/[^/]+\.[0-9a-f]{10}\.[a-z0-9]+$/.test(url.pathname)) {
    // Fingerprinted: a name never changes its content.
    e.respondWith(caches.match(key).then(function (hit) {
      return hit || fetch(req).then(function (r) { put(key, r); return r; });
    }));
    return;
  }
  if (!keepable(new URL(key))) return;
  // Pages and the rest: the network first (always the latest), the phone's copy offline.
  e.respondWith(fetch(req).then(function (r) {
    if (!url.search) put(key, r);
    return r;
  }, function (err) {
    return caches.match(key).then(function (hit) { if (hit) return hit; throw err; });
  }));
});

// The page that registered the worker asks for itself and what it uses to be kept.
self.addEventListener('message', function (e) {
  var urls = (e.data && e.data.keep) || [];
  e.waitUntil(Promise.all(urls.map(function (u) {
    var url = new URL(u, self.location.origin);
    if (!keepable(url)) return null;
    return caches.match(url.href).then(function (hit) {
      return hit || fetch(url.href).then(function (r) { put(url.href, r); }).catch(function () {});
    });
  })));
});
