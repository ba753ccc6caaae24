//! The function bundle: everything the submission function needs from the content, built
//! by the generator in the same run as the site and loaded by the function at start, so
//! that the form a citizen sees and the form the function enforces come from one build
//! (one artifact per deploy) and the function never parses Markdown.
//!
//! On disk it is one JSON file (`catalog.json`):
//!
//! ```json
//! {"format":1,"content":{"site":…,"procedures":[…],"form_versions":{…},"holidays":…,"shell":…},"content_sha256":"…"}
//! ```
//!
//! `content_sha256` is the SHA-256 of the `content` bytes exactly as written, checked
//! when the file is read, so a hand-edited or truncated copy is refused rather than
//! half-trusted. The bundle holds `site.yaml`'s `human_check` answers: it is not a public
//! file and must never be published with the site.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::calendar::HolidayFile;
use crate::form_html::escape;
use crate::load::Content;
use crate::model::{Form, Procedure, Site};

/// The layout of the bundle. Raised whenever a reader of an older layout would misread
/// a newer one; a function refuses a bundle of another format.
pub const FORMAT: u32 = 1;

/// The bundle's file name, beside the function's bootstrap in production.
pub const FILE_NAME: &str = "catalog.json";

/// The layout around every page of the function: the site's stylesheet (by its
/// published, hashed name) and the site's own header and footer, rendered by the
/// generator from the same templates as the site's pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shell {
    pub site_name: String,
    pub css_href: String,
    /// Raw HTML placed at the top of `<body>` (the site's header and menu).
    pub header_html: String,
    /// Raw HTML placed at the bottom of `<body>`.
    pub footer_html: String,
}

impl Shell {
    /// A bare layout, for a state built straight from content (tests and benchmarks)
    /// where no site was built; a deployed function always has the bundle's shell.
    pub fn plain(site_name: &str) -> Shell {
        Shell {
            site_name: site_name.to_owned(),
            css_href: "/assets/site.css".into(),
            header_html: format!(
                r#"<header class="site-header"><a class="site-name" href="/">{}</a></header>"#,
                escape(site_name)
            ),
            footer_html: format!(
                r#"<footer class="site-footer"><p>{}</p></footer>"#,
                escape(site_name)
            ),
        }
    }
}

/// What the function knows of the content.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleContent {
    pub site: Site,
    /// Every procedure, without its Markdown guide (the function never shows it).
    pub procedures: Vec<Procedure>,
    /// Procedure code → the version of its online form, as written into the form page.
    pub form_versions: BTreeMap<String, String>,
    pub holidays: HolidayFile,
    pub shell: Shell,
}

/// A bundle as read back, with the hash it was checked against.
#[derive(Debug, Clone)]
pub struct Bundle {
    pub content_sha256: String,
    pub content: BundleContent,
}

impl Form {
    /// A short fingerprint of the form's schema (sections, fields, rules, contact
    /// fields). The generator writes it into the form page; the function compares it
    /// with what a submission carries, so a page older than the function's form is
    /// told to reload instead of being validated against rules it did not show.
    pub fn version(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(&Sha256::digest(&json)[..6])
    }
}

impl BundleContent {
    /// An owned copy of the content's bundle (tests and states built straight from
    /// content); the generator writes the file with [`encode`] without copying.
    pub fn from_content(content: &Content, shell: Shell) -> BundleContent {
        let procedures: Vec<Procedure> = content.procedures.to_vec();
        let form_versions = procedures
            .iter()
            .filter_map(|p| Some((p.code.clone(), p.form.as_ref()?.version())))
            .collect();
        BundleContent {
            site: content.site.clone(),
            procedures,
            form_versions,
            holidays: content.holidays.clone(),
            shell,
        }
    }

    /// The file's bytes and the content hash they carry.
    pub fn encode(&self) -> (Vec<u8>, String) {
        encode_parts(
            &self.site,
            &self.procedures,
            &self.holidays,
            &self.shell,
            |p| self.form_versions.get(&p.code).cloned(),
        )
    }

    /// The content as a bundle, hashed as it would be written (for states built
    /// straight from content).
    pub fn into_bundle(self) -> Bundle {
        let (_, content_sha256) = self.encode();
        Bundle {
            content_sha256,
            content: self,
        }
    }
}

/// The bundle file of `content`, straight from the loaded content: with 10,000
/// procedures it is tens of megabytes, so nothing is copied and the procedures are
/// serialised in parallel.
pub fn encode(content: &Content, shell: &Shell) -> (Vec<u8>, String) {
    encode_parts(
        &content.site,
        &content.procedures,
        &content.holidays,
        shell,
        |p| p.form.as_ref().map(Form::version),
    )
}

/// Writes the `content` object field by field, in [`BundleContent`]'s layout.
fn encode_parts(
    site: &Site,
    procedures: &[Procedure],
    holidays: &HolidayFile,
    shell: &Shell,
    version: impl Fn(&Procedure) -> Option<String> + Sync,
) -> (Vec<u8>, String) {
    use rayon::prelude::*;
    fn json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
        serde_json::to_vec(value).unwrap_or_default()
    }
    let parts: Vec<(Vec<u8>, Option<String>)> = procedures
        .par_iter()
        .map(|p| (json(p), version(p)))
        .collect();
    let versions: BTreeMap<&str, &str> = procedures
        .iter()
        .zip(&parts)
        .filter_map(|(p, (_, v))| Some((p.code.as_str(), v.as_deref()?)))
        .collect();
    let size: usize = parts.iter().map(|(j, _)| j.len() + 1).sum();
    // The hash goes after the content, so the file is written in one buffer and hashed
    // in place (a reader finds the fields by name, in any order).
    let mut out = Vec::with_capacity(size + 64 * 1024);
    out.extend_from_slice(format!(r#"{{"format":{FORMAT},"content":"#).as_bytes());
    let start = out.len();
    out.extend_from_slice(b"{\"site\":");
    out.extend_from_slice(&json(site));
    out.extend_from_slice(b",\"procedures\":[");
    for (i, (part, _)) in parts.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(part);
    }
    out.extend_from_slice(b"],\"form_versions\":");
    out.extend_from_slice(&json(&versions));
    out.extend_from_slice(b",\"holidays\":");
    out.extend_from_slice(&json(holidays));
    out.extend_from_slice(b",\"shell\":");
    out.extend_from_slice(&json(shell));
    out.push(b'}');
    let hash = hex::encode(Sha256::digest(&out[start..]));
    out.extend_from_slice(format!(r#","content_sha256":"{hash}"}}"#).as_bytes());
    out.push(b'\n');
    (out, hash)
}

/// Why a bundle file cannot be used. The caller names the file and says how to make a
/// good one (`generator build`).
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("không phải tệp danh mục JSON hợp lệ ({0})")]
    NotJson(serde_json::Error),
    #[error(
        "tệp ở định dạng {found}, còn chương trình này đọc định dạng {expected} (tệp do một phiên bản generator khác dựng)"
    )]
    Format { found: u32, expected: u32 },
    #[error(
        "nội dung không khớp mã băm ghi trong tệp (tệp đã bị sửa tay hoặc chép thiếu): ghi {recorded}, tính được {actual}"
    )]
    Hash { recorded: String, actual: String },
    #[error("nội dung sai cấu trúc: {0}")]
    Content(serde_json::Error),
}

#[derive(Deserialize)]
struct Head {
    format: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[allow(dead_code)]
    format: u32,
    content_sha256: String,
    #[serde(borrow)]
    content: &'a RawValue,
}

impl Bundle {
    /// Reads a bundle file's bytes: the format first, then the hash, then the content.
    pub fn decode(bytes: &[u8]) -> Result<Bundle, BundleError> {
        let head: Head = serde_json::from_slice(bytes).map_err(BundleError::NotJson)?;
        if head.format != FORMAT {
            return Err(BundleError::Format {
                found: head.format,
                expected: FORMAT,
            });
        }
        let envelope: Envelope = serde_json::from_slice(bytes).map_err(BundleError::NotJson)?;
        let raw = envelope.content.get();
        let actual = hex::encode(Sha256::digest(raw.as_bytes()));
        if actual != envelope.content_sha256 {
            return Err(BundleError::Hash {
                recorded: envelope.content_sha256,
                actual,
            });
        }
        let content: BundleContent = serde_json::from_str(raw).map_err(BundleError::Content)?;
        Ok(Bundle {
            content_sha256: actual,
            content,
        })
    }

    /// The version of a procedure's form that this bundle holds.
    pub fn form_version(&self, code: &str) -> Option<&str> {
        self.content.form_versions.get(code).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn content() -> Content {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../content");
        crate::load(&root).expect("the example commune loads")
    }

    #[test]
    fn a_bundle_reads_back_as_written() {
        let content = content();
        let built = BundleContent::from_content(&content, Shell::plain(&content.site.name));
        let (bytes, hash) = built.encode();
        let read = Bundle::decode(&bytes).expect("own bundle decodes");
        assert_eq!(read.content_sha256, hash);
        assert_eq!(read.content.procedures.len(), content.procedures.len());
        assert!(read.content.procedures.iter().all(|p| p.body.is_empty()));
        assert_eq!(
            read.content.site.human_check.answers,
            content.site.human_check.answers
        );
        // The form as the function holds it has the version the generator wrote into
        // the page: the version survives the trip through JSON.
        let online: Vec<&Procedure> = content
            .procedures
            .iter()
            .filter(|p| p.form.is_some())
            .collect();
        assert!(!online.is_empty());
        for p in online {
            let again = read
                .content
                .procedures
                .iter()
                .find(|q| q.code == p.code)
                .and_then(|q| q.form.as_ref())
                .map(Form::version);
            let written = p.form.as_ref().map(Form::version);
            assert_eq!(again, written, "{}", p.code);
            assert_eq!(read.form_version(&p.code), written.as_deref());
        }
        // Same content, same bytes: the hash identifies the content; the generator's
        // copy-free encoding writes exactly what the owned bundle does.
        assert_eq!(built.encode().0, bytes);
        assert_eq!(encode(&content, &built.shell).0, bytes);
    }

    #[test]
    fn a_changed_form_has_another_version() {
        let content = content();
        let p = content
            .procedures
            .iter()
            .find(|p| p.form.is_some())
            .unwrap();
        let mut form = p.form.clone().unwrap();
        let before = form.version();
        assert_eq!(before.len(), 12);
        form.sections[0].fields[0].required = !form.sections[0].fields[0].required;
        assert_ne!(form.version(), before);
    }

    #[test]
    fn an_edited_truncated_or_foreign_bundle_is_refused() {
        let content = content();
        let (bytes, _) =
            BundleContent::from_content(&content, Shell::plain(&content.site.name)).encode();
        let text = String::from_utf8(bytes).unwrap();

        let edited = text.replacen("\"level\":4", "\"level\":3", 1);
        assert_ne!(edited, text);
        assert!(matches!(
            Bundle::decode(edited.as_bytes()),
            Err(BundleError::Hash { .. })
        ));

        let truncated = &text.as_bytes()[..text.len() / 2];
        let e = Bundle::decode(truncated).unwrap_err();
        assert!(matches!(e, BundleError::NotJson(_)), "{e}");

        let future = text.replacen("\"format\":1", "\"format\":2", 1);
        let e = Bundle::decode(future.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("định dạng 2"), "{e}");
    }
}
