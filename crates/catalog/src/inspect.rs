//! Whole-file checks of an attachment, after its first bytes said what it is
//! ([`crate::FileKind::sniff`]): an image must decode as the type it claims, within a
//! size an officer's screen and the function's memory can take, and carry no web page
//! (an image that is also HTML, a "polyglot"); a PDF must be whole and carry no active
//! content (JavaScript, a launch action, embedded files, rich media). Ordinary scans
//! and PDFs made by phones, scanners and office programs pass.

use std::io::Read;

use crate::FileKind;

/// Largest image side, in pixels (a 50-megapixel phone camera is about 8,700 × 5,800).
pub const MAX_SIDE: u32 = 12_000;
/// Most bytes the decoders may allocate for one image.
const MAX_ALLOC: u64 = 256 * 1024 * 1024;
/// Most bytes inflated from one PDF's compressed streams (a bomb stops here).
const MAX_INFLATED: u64 = 64 * 1024 * 1024;

/// Why a file is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// It does not read as the type it claims, or it was cut short.
    Broken,
    /// An image larger than [`MAX_SIDE`].
    TooLarge { width: u32, height: u32 },
    /// A PDF with active content, or an image that is also a web page.
    Active(&'static str),
}

impl Refused {
    /// What the citizen reads beside the file's field.
    pub fn message(&self, name: &str, kind: FileKind) -> String {
        match self {
            Refused::Broken => format!(
                "Tệp \"{name}\" không mở được như một tệp {} (tệp bị hỏng hoặc chưa tải lên hết). Vui lòng chụp hoặc quét lại rồi chọn lại tệp.",
                kind.label()
            ),
            Refused::TooLarge { width, height } => format!(
                "Ảnh \"{name}\" quá lớn ({width} × {height} điểm ảnh). Vui lòng chụp lại với độ phân giải thấp hơn (cạnh dài tối đa {MAX_SIDE} điểm ảnh)."
            ),
            Refused::Active(what) => format!(
                "Tệp \"{name}\" có chứa {what}, nên không được nhận vì lý do an toàn. Vui lòng in ra rồi quét lại, hoặc xuất lại thành PDF thường."
            ),
        }
    }
}

/// Checks the whole of `bytes`, which the first bytes showed to be `kind`.
pub fn inspect(kind: FileKind, bytes: &[u8]) -> Result<(), Refused> {
    match kind {
        FileKind::Pdf => inspect_pdf(bytes),
        FileKind::Jpeg => inspect_image(bytes, image::ImageFormat::Jpeg),
        FileKind::Png => inspect_image(bytes, image::ImageFormat::Png),
        FileKind::Webp => inspect_image(bytes, image::ImageFormat::WebP),
    }
}

fn inspect_image(bytes: &[u8], format: image::ImageFormat) -> Result<(), Refused> {
    if let Some(what) = web_page_inside(bytes) {
        return Err(Refused::Active(what));
    }
    let reader = || image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let (width, height) = reader().into_dimensions().map_err(|_| Refused::Broken)?;
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(Refused::TooLarge { width, height });
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    let mut r = reader();
    r.limits(limits);
    r.decode().map(|_| ()).map_err(|_| Refused::Broken)
}

/// Markup a browser would run if the file were ever taken for a page.
fn web_page_inside(bytes: &[u8]) -> Option<&'static str> {
    const MARKERS: [&[u8]; 5] = [b"<script", b"<html", b"<svg", b"<iframe", b"<?php"];
    let lower = bytes.to_ascii_lowercase();
    MARKERS
        .iter()
        .any(|m| lower.windows(m.len()).any(|w| w == *m))
        .then_some("mã trang web")
}

/// PDF names that make a document act: run script, start a program, carry other files.
const ACTIVE_NAMES: [(&str, &str); 6] = [
    ("JavaScript", "mã JavaScript"),
    ("JS", "mã JavaScript"),
    ("Launch", "lệnh mở chương trình"),
    ("EmbeddedFile", "tệp đính kèm ẩn"),
    ("EmbeddedFiles", "tệp đính kèm ẩn"),
    ("RichMedia", "nội dung đa phương tiện"),
];

fn inspect_pdf(bytes: &[u8]) -> Result<(), Refused> {
    let tail = &bytes[bytes.len().saturating_sub(2048)..];
    if !bytes.starts_with(b"%PDF-") || !tail.windows(5).any(|w| w == b"%%EOF") {
        return Err(Refused::Broken);
    }
    if let Some(what) = active_name(bytes) {
        return Err(Refused::Active(what));
    }
    // Dictionaries can hide in compressed object streams: look inside those too.
    let mut inflated_total = 0u64;
    for stream in flate_streams(bytes) {
        let mut out = Vec::new();
        let budget = MAX_INFLATED.saturating_sub(inflated_total);
        if budget == 0 {
            return Err(Refused::Active("dữ liệu nén bất thường"));
        }
        let mut decoder = flate2::read::ZlibDecoder::new(stream).take(budget + 1);
        // A stream that does not inflate is left to the reader that opens the file.
        if decoder.read_to_end(&mut out).is_err() {
            continue;
        }
        inflated_total += out.len() as u64;
        if inflated_total > MAX_INFLATED {
            return Err(Refused::Active("dữ liệu nén bất thường"));
        }
        if let Some(what) = active_name(&out) {
            return Err(Refused::Active(what));
        }
    }
    Ok(())
}

/// The first active PDF name in `bytes`, `#xx` escapes decoded (`/J#61vaScript`).
fn active_name(bytes: &[u8]) -> Option<&'static str> {
    let mut i = 0;
    while let Some(at) = bytes[i..].iter().position(|b| *b == b'/') {
        let start = i + at + 1;
        let mut end = start;
        while end < bytes.len() && is_name_char(bytes[end]) {
            end += 1;
        }
        if end > start && end - start <= 64 {
            let name = decode_name(&bytes[start..end]);
            if let Some((_, what)) = ACTIVE_NAMES.iter().find(|(n, _)| n.as_bytes() == name) {
                return Some(what);
            }
        }
        i = end.max(start);
    }
    None
}

fn is_name_char(b: u8) -> bool {
    b.is_ascii_graphic() && !b"/()<>[]{}%".contains(&b)
}

fn decode_name(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'#'
            && i + 2 < raw.len()
            && let Some(b) = std::str::from_utf8(&raw[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

/// The data of every `stream … endstream` whose dictionary says `/FlateDecode`.
fn flate_streams(bytes: &[u8]) -> Vec<&[u8]> {
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(at) = find(&bytes[i..], b"stream") {
        let kw = i + at;
        // `endstream` contains `stream`: skip it.
        if kw >= 3 && &bytes[kw - 3..kw] == b"end" {
            i = kw + 6;
            continue;
        }
        let mut start = kw + 6;
        if bytes.get(start) == Some(&b'\r') {
            start += 1;
        }
        if bytes.get(start) == Some(&b'\n') {
            start += 1;
        }
        let Some(len) = find(&bytes[start..], b"endstream") else {
            break;
        };
        let dict_from = kw.saturating_sub(512);
        if find(&bytes[dict_from..kw], b"FlateDecode").is_some() {
            found.push(&bytes[start..start + len]);
        }
        i = start + len + 9;
    }
    found
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn pdf(body: &str) -> Vec<u8> {
        format!("%PDF-1.7\n1 0 obj\n<< /Type /Catalog {body} >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n").into_bytes()
    }

    #[test]
    fn ordinary_pdfs_pass_and_active_ones_are_refused() {
        assert_eq!(inspect(FileKind::Pdf, &pdf("/Pages 2 0 R")), Ok(()));
        // An /OpenAction that only sets the view is ordinary.
        assert_eq!(
            inspect(FileKind::Pdf, &pdf("/OpenAction [3 0 R /Fit]")),
            Ok(())
        );
        for (body, what) in [
            (
                "/OpenAction << /S /JavaScript /JS (app.alert(1)) >>",
                "mã JavaScript",
            ),
            (
                "/OpenAction << /S /J#61vaScript /J#53 (x) >>",
                "mã JavaScript",
            ),
            (
                "/AA << /O << /S /Launch /F (cmd.exe) >> >>",
                "lệnh mở chương trình",
            ),
            ("/Names << /EmbeddedFiles 5 0 R >>", "tệp đính kèm ẩn"),
        ] {
            assert_eq!(
                inspect(FileKind::Pdf, &pdf(body)),
                Err(Refused::Active(what)),
                "{body}"
            );
        }
        // Cut short: no end-of-file marker.
        let whole = pdf("/Pages 2 0 R");
        assert_eq!(
            inspect(FileKind::Pdf, &whole[..whole.len() - 8]),
            Err(Refused::Broken)
        );
    }

    #[test]
    fn script_hidden_in_a_compressed_object_stream_is_found() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"<< /S /JavaScript /JS (app.launchURL('x')) >>")
            .unwrap();
        let data = z.finish().unwrap();
        let mut file =
            b"%PDF-1.7\n4 0 obj\n<< /Type /ObjStm /Filter /FlateDecode /Length 99 >>\nstream\n"
                .to_vec();
        file.extend_from_slice(&data);
        file.extend_from_slice(b"\nendstream\nendobj\n%%EOF\n");
        assert_eq!(
            inspect(FileKind::Pdf, &file),
            Err(Refused::Active("mã JavaScript"))
        );
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::new(width, height);
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn images_must_decode_and_carry_no_page() {
        let good = png(40, 30);
        assert_eq!(inspect(FileKind::Png, &good), Ok(()));
        // Cut short.
        assert_eq!(
            inspect(FileKind::Png, &good[..good.len() / 2]),
            Err(Refused::Broken)
        );
        // A PNG with a page appended: a polyglot.
        let mut poly = good.clone();
        poly.extend_from_slice(b"<html><script>alert(1)</script></html>");
        assert_eq!(
            inspect(FileKind::Png, &poly),
            Err(Refused::Active("mã trang web"))
        );
        // Claims to be a JPEG but is a PNG.
        assert_eq!(inspect(FileKind::Jpeg, &good), Err(Refused::Broken));
    }

    #[test]
    fn messages_name_the_file_and_the_way_out() {
        let m = Refused::Active("mã JavaScript").message("don.pdf", FileKind::Pdf);
        assert!(m.contains("don.pdf") && m.contains("quét lại"), "{m}");
        let m = Refused::TooLarge {
            width: 20000,
            height: 100,
        }
        .message("anh.jpg", FileKind::Jpeg);
        assert!(m.contains("20000 × 100"), "{m}");
    }
}
