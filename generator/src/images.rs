//! Photos for photo news, resized to several widths in JPEG and WebP so that a cheap
//! phone downloads the smallest one that fills its screen. Outputs are named by the
//! source's hash and width; a build reuses them from the previous site when the source
//! has not changed, because encoding is the slowest part of a build.

use std::io::Cursor;
use std::path::Path;

use image::imageops::FilterType;
use image::{DynamicImage, GenericImageView};

use crate::assets::fingerprint;

pub const WIDTHS: &[u32] = &[480, 960, 1440];

/// Thumbnails for lists: shown about 160 CSS pixels wide, so 1× and 2×.
pub const THUMB_WIDTHS: &[u32] = &[160, 320];

#[derive(Debug, Clone, serde::Serialize)]
pub struct Variant {
    pub path: String,
    pub width: u32,
    pub height: u32,
    pub webp: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Resized {
    pub variants: Vec<Variant>,
    pub width: u32,
    pub height: u32,
}

impl Resized {
    fn srcset(&self, webp: bool) -> String {
        self.variants
            .iter()
            .filter(|v| v.webp == webp)
            .map(|v| format!("/{} {}w", v.path, v.width))
            .collect::<Vec<_>>()
            .join(", ")
    }
    pub fn jpeg_srcset(&self) -> String {
        self.srcset(false)
    }
    pub fn webp_srcset(&self) -> String {
        self.srcset(true)
    }
    /// The middle JPEG: the fallback `src`.
    pub fn fallback(&self) -> &Variant {
        let jpegs: Vec<&Variant> = self.variants.iter().filter(|v| !v.webp).collect();
        jpegs[jpegs.len() / 2]
    }
    pub fn smallest(&self) -> &Variant {
        self.variants
            .iter()
            .find(|v| !v.webp)
            .expect("at least one jpeg")
    }
}

/// Resizes `source` into `out/media/…`, reusing files already in `previous/media/`.
pub fn resize(source: &Path, out: &Path, previous: Option<&Path>) -> anyhow::Result<Resized> {
    resize_to(source, out, previous, WIDTHS)
}

/// Like `resize`, to the given widths (never wider than the source).
pub fn resize_to(
    source: &Path,
    out: &Path,
    previous: Option<&Path>,
    wanted: &[u32],
) -> anyhow::Result<Resized> {
    let bytes = std::fs::read(source)?;
    let hash = fingerprint(&bytes);
    let stem = source
        .file_stem()
        .map(|s| catalog::text::slugify(&s.to_string_lossy()))
        .unwrap_or_default();
    let img = image::load_from_memory(&bytes)
        .map_err(|e| anyhow::anyhow!("không đọc được ảnh {}: {e}", source.display()))?;
    let (w0, h0) = img.dimensions();
    let mut widths: Vec<u32> = wanted.iter().copied().filter(|w| *w < w0).collect();
    if widths.len() < wanted.len() {
        widths.push(w0);
    }
    let mut variants = Vec::new();
    std::fs::create_dir_all(out.join("media"))?;
    for width in widths {
        let height = (u64::from(h0) * u64::from(width) / u64::from(w0)).max(1) as u32;
        let mut resized: Option<DynamicImage> = None;
        for webp in [false, true] {
            let ext = if webp { "webp" } else { "jpg" };
            let rel = format!("media/{stem}-{hash}-{width}.{ext}");
            let target = out.join(&rel);
            let reused = previous
                .map(|p| p.join(&rel))
                .filter(|p| p.is_file())
                .is_some_and(|p| std::fs::copy(p, &target).is_ok());
            if !reused {
                let img = resized
                    .get_or_insert_with(|| img.resize_exact(width, height, FilterType::Lanczos3));
                std::fs::write(&target, encode(img, webp)?)?;
            }
            variants.push(Variant {
                path: rel,
                width,
                height,
                webp,
            });
        }
    }
    Ok(Resized {
        variants,
        width: w0,
        height: h0,
    })
}

fn encode(img: &DynamicImage, webp: bool) -> anyhow::Result<Vec<u8>> {
    let rgb = img.to_rgb8();
    if webp {
        let encoder = webp::Encoder::from_rgb(rgb.as_raw(), rgb.width(), rgb.height());
        Ok(encoder.encode(75.0).to_vec())
    } else {
        let mut out = Cursor::new(Vec::new());
        let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 78);
        rgb.write_with_encoder(encoder)?;
        Ok(out.into_inner())
    }
}
