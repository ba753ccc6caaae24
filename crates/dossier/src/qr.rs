//! QR codes the citizen gets: the tracking link's on the receipt, the VietQR transfer's
//! on the receipt and the tracking page, as inline SVG and as a PNG to save.

use base64::Engine as _;
use qrcode::QrCode;
use qrcode::render::svg;

/// The QR code of `text` as an inline SVG element (no XML prolog), named `label` for
/// screen readers.
pub fn qr_svg(text: &str, label: &str) -> String {
    let Ok(code) = QrCode::new(text.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<svg::Color>()
        .min_dimensions(180, 180)
        .quiet_zone(true)
        .build();
    let svg = match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => &svg,
    };
    let label = label
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{label}\" "),
        1,
    )
}

/// The QR code of `text` as a PNG `data:` URL (8 pixels a module, with its quiet zone).
pub fn qr_png(text: &str) -> String {
    let Ok(code) = QrCode::new(text.as_bytes()) else {
        return String::new();
    };
    let picture = code
        .render::<image::Luma<u8>>()
        .module_dimensions(8, 8)
        .build();
    let mut png = std::io::Cursor::new(Vec::new());
    if picture.write_to(&mut png, image::ImageFormat::Png).is_err() {
        return String::new();
    }
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png.into_inner())
    )
}
