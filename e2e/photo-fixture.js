// A photographed paper form for the photo tests: drawn by the browser at a phone
// camera's size (4,000 × 3,000 px, with a camera's grain, about 4 MB as JPEG), with EXIF
// GPS data added as a phone adds it; and the words tesseract (Debian's tesseract-ocr with
// tesseract-ocr-vie) reads back from it.
import { execFileSync } from 'node:child_process';

export const FORM_TEXT = [
  'CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM',
  'Độc lập - Tự do - Hạnh phúc',
  'TỜ KHAI ĐĂNG KÝ KHAI SINH',
  'Kính gửi: Ủy ban nhân dân xã Ia Pết, tỉnh Gia Lai',
  'Họ, chữ đệm, tên người yêu cầu: Nguyễn Thị Hoa',
  'Nơi cư trú: thôn Plei Ia Pết, xã Ia Pết',
  'Giấy tờ tùy thân: Căn cước số 064090012345',
  'Quan hệ với người được khai sinh: mẹ',
  'Đề nghị cơ quan đăng ký khai sinh cho người dưới đây',
  'Họ, chữ đệm, tên: Nguyễn Văn Minh',
  'Ngày, tháng, năm sinh: mười hai tháng năm năm hai nghìn',
  'Nơi sinh: Trạm y tế xã Ia Pết, tỉnh Gia Lai',
  'Tôi cam đoan nội dung đề nghị đăng ký khai sinh trên đây là đúng sự thật',
  'và chịu trách nhiệm trước pháp luật về cam đoan của mình.',
];

/** `{ jpeg, text }`: the photo's bytes (with GPS) and the text written on it. */
export async function makePhoto(page) {
  const b64 = await page.evaluate((lines) => {
    const c = document.createElement('canvas');
    c.width = 4000; c.height = 3000;
    const g = c.getContext('2d');
    // A sheet of paper on a table, lit unevenly.
    g.fillStyle = '#6b5a48'; g.fillRect(0, 0, 4000, 3000);
    const light = g.createLinearGradient(0, 0, 4000, 3000);
    light.addColorStop(0, '#f4f1ea'); light.addColorStop(1, '#d9d4c8');
    g.fillStyle = light; g.fillRect(250, 150, 3500, 2700);
    g.fillStyle = '#1d1d24';
    g.textBaseline = 'top';
    lines.forEach((t, i) => {
      g.font = (i < 3 ? 'bold ' : '') + '92px "DejaVu Serif", "Noto Serif", serif';
      g.fillText(t, 420, 300 + i * 175, 3200);
    });
    // A camera's grain.
    const img = g.getImageData(0, 0, 4000, 3000), d = img.data;
    let seed = 12345;
    for (let i = 0; i < d.length; i += 4) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const n = (seed >> 16) % 29 - 14;
      d[i] += n; d[i + 1] += n; d[i + 2] += n;
    }
    g.putImageData(img, 0, 0);
    return c.toDataURL('image/jpeg', 0.9).split(',')[1];
  }, FORM_TEXT);
  return { jpeg: withGps(Buffer.from(b64, 'base64')), text: FORM_TEXT.join('\n') };
}

/** The JPEG with an EXIF segment right after its start: camera make and a GPS position. */
export function withGps(jpeg) {
  const entries = [];
  const data = [];
  // TIFF, little-endian. IFD0: Make, GPSInfo pointer. GPS IFD: lat/long with refs.
  const make = Buffer.from('PhoneCam\0');
  const ifd0Count = 2, gpsCount = 4;
  const ifd0 = 8, gps = ifd0 + 2 + ifd0Count * 12 + 4;
  let free = gps + 2 + gpsCount * 12 + 4;
  const out = Buffer.alloc(400);
  out.write('II', 0); out.writeUInt16LE(42, 2); out.writeUInt32LE(ifd0, 4);
  const entry = (at, tag, type, count, value) => {
    out.writeUInt16LE(tag, at); out.writeUInt16LE(type, at + 2); out.writeUInt32LE(count, at + 4);
    if (Buffer.isBuffer(value)) {
      if (value.length <= 4) value.copy(out, at + 8);
      else { out.writeUInt32LE(free, at + 8); value.copy(out, free); free += value.length; }
    } else out.writeUInt32LE(value, at + 8);
  };
  const rationals = (vals) => {
    const b = Buffer.alloc(vals.length * 8);
    vals.forEach(([n, d], i) => { b.writeUInt32LE(n, i * 8); b.writeUInt32LE(d, i * 8 + 4); });
    return b;
  };
  out.writeUInt16LE(ifd0Count, ifd0);
  entry(ifd0 + 2, 0x010f, 2, make.length, make);
  entry(ifd0 + 14, 0x8825, 4, 1, gps);
  out.writeUInt32LE(0, ifd0 + 2 + ifd0Count * 12);
  out.writeUInt16LE(gpsCount, gps);
  entry(gps + 2, 0x0001, 2, 2, Buffer.from('N\0'));
  entry(gps + 14, 0x0002, 5, 3, rationals([[13, 1], [58, 1], [1234, 100]]));
  entry(gps + 26, 0x0003, 2, 2, Buffer.from('E\0'));
  entry(gps + 38, 0x0004, 5, 3, rationals([[108, 1], [1, 1], [5678, 100]]));
  out.writeUInt32LE(0, gps + 2 + gpsCount * 12);
  void entries; void data;
  const tiff = out.subarray(0, free);
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const seg = Buffer.alloc(4);
  seg.writeUInt16BE(0xffe1, 0); seg.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), seg, body, jpeg.subarray(2)]);
}

/** True when the JPEG carries an EXIF segment with a GPS pointer (tag 0x8825). */
export function hasGps(jpeg) {
  const at = jpeg.indexOf(Buffer.from('Exif\0\0', 'latin1'));
  if (at < 0) return false;
  const tiff = jpeg.subarray(at + 6, at + 6 + 65536);
  const le = tiff[0] === 0x49;
  const tag = le ? Buffer.from([0x25, 0x88]) : Buffer.from([0x88, 0x25]);
  return tiff.indexOf(tag) >= 0;
}

const words = (s) => new Set(s.normalize('NFC').toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length >= 2));

/** How many of `text`'s words tesseract reads in the image at `file`. */
export function ocrWords(file, text) {
  const read = execFileSync('tesseract', [file, 'stdout', '-l', 'vie'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 16 << 20 });
  const want = words(text), got = words(read);
  let found = 0;
  for (const w of want) if (got.has(w)) found++;
  return { found, total: want.size, read };
}
