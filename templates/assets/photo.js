/* Ảnh nhỏ hơn: a phone photo (3–6 MB) is decoded already scaled down (createImageBitmap's
   resize options, so the full-size picture never sits in a cheap phone's memory), its
   long side at most 2,000 px, and encoded again as JPEG: small enough to send over a
   weak network, sharp enough for an officer to read, and without the camera's
   metadata (the location). Loaded by form.js only when a photo is chosen. */
(function () {
  'use strict';
  var LONG = 2000, QUALITY = 0.82;

  // Width, height and EXIF orientation of a JPEG from its markers; of a PNG or WebP
  // from its header. Null when unknown.
  function dims(b) {
    var v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    if (b[0] === 0x89 && b[1] === 0x50) return { w: v.getUint32(16), h: v.getUint32(20), o: 1 };
    if (b[0] === 0x52 && b[8] === 0x57) {
      var t = String.fromCharCode(b[12], b[13], b[14], b[15]);
      if (t === 'VP8X') return { w: 1 + (b[24] | b[25] << 8 | b[26] << 16), h: 1 + (b[27] | b[28] << 8 | b[29] << 16), o: 1 };
      if (t === 'VP8 ') return { w: v.getUint16(26, true) & 0x3fff, h: v.getUint16(28, true) & 0x3fff, o: 1 };
      if (t === 'VP8L') {
        var n = v.getUint32(21, true);
        return { w: (n & 0x3fff) + 1, h: (n >> 14 & 0x3fff) + 1, o: 1 };
      }
      return null;
    }
    var o = 1, i = 2;
    while (i + 9 < b.length && b[i] === 0xff) {
      var m = b[i + 1], len = v.getUint16(i + 2);
      if (m === 0xe1 && String.fromCharCode(b[i + 4], b[i + 5], b[i + 6], b[i + 7]) === 'Exif') o = orientation(v, i + 10) || 1;
      if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return { h: v.getUint16(i + 5), w: v.getUint16(i + 7), o: o };
      i += 2 + len;
    }
    return null;
  }
  function orientation(v, tiff) {
    var le = v.getUint16(tiff) === 0x4949;
    var ifd = tiff + v.getUint32(tiff + 4, le), count = v.getUint16(ifd, le);
    for (var k = 0; k < count; k++) {
      var e = ifd + 2 + k * 12;
      if (v.getUint16(e, le) === 0x0112) return v.getUint16(e + 8, le);
    }
    return 0;
  }

  function head(file) {
    // The markers before the image data: a phone's EXIF (with its thumbnail) fits in 256 KB.
    return file.slice(0, 262144).arrayBuffer().then(function (a) { return new Uint8Array(a); });
  }

  // Resolves with a smaller JPEG File, or null when the original should go as it is.
  window.motcuaPhoto = function (file, exif) {
    return head(file).then(function (b) {
      var d = dims(b);
      if (!d || !d.w || !d.h) return null;
      var turned = d.o >= 5 && d.o <= 8;
      var w = turned ? d.h : d.w, h = turned ? d.w : d.h;
      var s = Math.min(1, LONG / Math.max(w, h));
      var opts = { imageOrientation: 'from-image', resizeQuality: 'high' };
      if (s < 1) { opts.resizeWidth = Math.round(w * s); opts.resizeHeight = Math.round(h * s); }
      return createImageBitmap(file, opts).then(function (bmp) {
        var c = document.createElement('canvas');
        c.width = bmp.width;
        c.height = bmp.height;
        var g = c.getContext('2d');
        g.fillStyle = '#fff';
        g.fillRect(0, 0, c.width, c.height);
        g.drawImage(bmp, 0, 0);
        bmp.close();
        return new Promise(function (ok) { c.toBlob(ok, 'image/jpeg', QUALITY); }).then(function (blob) {
          c.width = c.height = 0;
          // Larger than before and nothing to strip: the original is better.
          if (!blob || (blob.size >= file.size && !exif)) return null;
          var name = file.name.replace(/\.[^.]*$/, '') + '.jpg';
          return new File([blob], name, { type: 'image/jpeg', lastModified: Date.now() });
        });
      });
    });
  };
})();
