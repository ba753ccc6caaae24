//! The function bundle: everything the submission function needs from the content, built
//! by the generator in the same run as the site and loaded by the function at start, so
//! that the form a citizen sees and the form the function enforces come from one build
//! (one artifact per deploy) and the function never parses Markdown.
//!
//! On disk it is one JSON file (`catalog.json`):
//!
//! ```json
//! {"format":2,"content":{"site":…,"procedures":[…],"form_versions":{…},"holidays":…,"shell":…},"content_sha256":"…"}
//! ```
//!
//! `content_sha256` is the SHA-256 of the `content` bytes exactly as written, checked
//! when the file is read, so a hand-edited or truncated copy is refused rather than
//! half-trusted. The bundle is the function's, not a page: it is never published with
//! the site.
//!
//! A procedure in the bundle carries only what the function reads (see [`Entry`]): with
//! 10,000 procedures the site's own texts (guides, summaries, legal bases, sources) would
//! be most of the file, and the build writes it every time.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::calendar::HolidayFile;
use crate::day::Day;
use crate::form_html::escape;
use crate::load::Content;
use crate::model::{
    Delivery, DeliveryChoice, Document, Fee, Form, Procedure, Processing, RegisterMapping, Site,
    Source,
};

/// The layout of the bundle. Raised whenever a reader of an older layout would misread
/// a newer one; a function refuses a bundle of another format. 2: procedures as
/// [`Entry`], forms without their default keys.
pub const FORMAT: u32 = 2;

/// The bundle's file name, beside the function's bootstrap in production.
pub const FILE_NAME: &str = "catalog.json";

/// The folder of the site that the schedule's pass writes (the public statistics page,
/// `web::figures`), not the build: `generator deploy` neither uploads nor deletes what
/// is under it, and `generator build` keeps it when it swaps in a new site.
pub const STATS_PREFIX: &str = "thong-ke/";

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
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleContent {
    pub site: Site,
    /// Every procedure as the function reads it: the facts of [`Entry`]; the rest of a
    /// [`Procedure`] (its guide, summary, field, legal bases, sources, the documents no
    /// form field uploads…) is left empty.
    #[serde(deserialize_with = "read_entries")]
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
        // Encoded into the hash, not into a buffer first.
        let mut hash = Hashing {
            out: io::sink(),
            hasher: Some(Sha256::new()),
        };
        let _ = serde_json::to_writer(&mut hash, self);
        let digest = hash.hasher.take().unwrap_or_default().finalize();
        hex::encode(&digest[..6])
    }

    /// The version of a form from its JSON as `serde_json` writes it, for a caller
    /// that encodes the form anyway (the schema file, the bundle): the same as
    /// [`Form::version`] without encoding it twice.
    pub fn version_of_json(form_json: &[u8]) -> String {
        hex::encode(&Sha256::digest(form_json)[..6])
    }
}

/// A procedure as the bundle holds it: what the function reads of it — the code, title
/// and level (the dossier, the receipt, the form page with errors), the processing time
/// and its cut-off (appointments), the fee, the documents a form field uploads (the
/// receipt's list of papers), the delivery options and which form field chooses among them (the receipt, the fee), the review date (so
/// that the model's required date is a real one) and the form (checks and pages).
/// Borrowed from the loaded content when written; `F` is the form as written (JSON
/// already encoded, so its version is hashed from the same bytes) or as read.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry<'a, F> {
    code: Cow<'a, str>,
    title: Cow<'a, str>,
    level: u8,
    processing: Cow<'a, Processing>,
    fee: Cow<'a, Fee>,
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    documents: Cow<'a, [Document]>,
    delivery: Cow<'a, [Delivery]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delivery_field: Option<Cow<'a, DeliveryChoice>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    register: Option<Cow<'a, RegisterMapping>>,
    reviewed: Day,
    #[serde(skip_serializing_if = "Option::is_none")]
    form: Option<F>,
}

impl<'a, F> Entry<'a, F> {
    fn of(p: &'a Procedure, form: Option<F>) -> Entry<'a, F> {
        let uploaded = |d: &Document| d.upload.is_some();
        Entry {
            code: Cow::Borrowed(&p.code),
            title: Cow::Borrowed(&p.title),
            level: p.level,
            processing: Cow::Borrowed(&p.processing),
            fee: Cow::Borrowed(&p.fee),
            // Most procedures upload none of their papers: nothing to copy then.
            documents: if p.documents.iter().all(uploaded) {
                Cow::Borrowed(&p.documents)
            } else {
                Cow::Owned(
                    p.documents
                        .iter()
                        .filter(|d| uploaded(d))
                        .cloned()
                        .collect(),
                )
            },
            delivery: Cow::Borrowed(&p.delivery),
            delivery_field: p.delivery_field.as_ref().map(Cow::Borrowed),
            register: p.register.as_ref().map(Cow::Borrowed),
            reviewed: p.reviewed,
            form,
        }
    }
}

impl From<Entry<'_, Form>> for Procedure {
    fn from(e: Entry<'_, Form>) -> Procedure {
        Procedure {
            code: e.code.into_owned(),
            title: e.title.into_owned(),
            slug: String::new(),
            field: String::new(),
            level: e.level,
            summary: String::new(),
            authority: String::new(),
            applicants: Vec::new(),
            processing: e.processing.into_owned(),
            fee: e.fee.into_owned(),
            legal_basis: Vec::new(),
            sources: Vec::new(),
            documents: e.documents.into_owned(),
            steps: Vec::new(),
            result: String::new(),
            delivery: e.delivery.into_owned(),
            delivery_field: e.delivery_field.map(Cow::into_owned),
            register: e.register.map(Cow::into_owned),
            reviewed: e.reviewed,
            review_note: None,
            form: e.form,
            body: String::new(),
            source: Source::default(),
            search_text: String::new(),
        }
    }
}

fn read_entries<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Procedure>, D::Error> {
    let entries: Vec<Entry<'static, Form>> = Vec::deserialize(d)?;
    Ok(entries.into_iter().map(Procedure::from).collect())
}

impl BundleContent {
    /// The content's bundle as the function holds it once read (tests and states built
    /// straight from content); the generator writes the file with [`write`].
    pub fn from_content(content: &Content, shell: Shell) -> BundleContent {
        let procedures: Vec<Procedure> = content
            .procedures
            .iter()
            .map(|p| Procedure::from(Entry::of(p, p.form.clone())))
            .collect();
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
        let mut out = Vec::new();
        let hash = write_parts(
            &self.site,
            &self.procedures,
            &self.holidays,
            &self.shell,
            &mut out,
        )
        .expect("writing to memory");
        (out, hash)
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

/// Writes the bundle file of `content` to `out` (buffer it) and returns its content
/// hash. Straight from the loaded content, hashed as it is written: with 10,000
/// procedures nothing of the file is held whole, the procedures are encoded in parallel
/// a batch at a time, and each form is encoded once, for the file and for its version.
pub fn write(content: &Content, shell: &Shell, out: impl Write) -> io::Result<String> {
    write_parts(
        &content.site,
        &content.procedures,
        &content.holidays,
        shell,
        out,
    )
}

/// The bundle file of `content` in memory, with its content hash.
pub fn encode(content: &Content, shell: &Shell) -> (Vec<u8>, String) {
    let mut out = Vec::new();
    let hash = write(content, shell, &mut out).expect("writing to memory");
    (out, hash)
}

/// A writer that hashes what passes through it while `hasher` is set.
struct Hashing<W> {
    out: W,
    hasher: Option<Sha256>,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Procedures encoded per batch: the batch's bytes are all that is held at once.
const BATCH: usize = 1024;

/// A run of procedures encoded as ",{…},{…}", with the versions of their forms.
type Run<'a> = (Vec<u8>, Vec<(&'a str, String)>);

/// Writes the file field by field, the `content` object in [`BundleContent`]'s layout.
fn write_parts(
    site: &Site,
    procedures: &[Procedure],
    holidays: &HolidayFile,
    shell: &Shell,
    out: impl Write,
) -> io::Result<String> {
    use rayon::prelude::*;
    let mut w = Hashing { out, hasher: None };
    write!(w, r#"{{"format":{FORMAT},"content":"#)?;
    // The hash goes after the content, so the file is written and hashed in one pass
    // (a reader finds the fields by name, in any order).
    w.hasher = Some(Sha256::new());
    w.write_all(b"{\"site\":")?;
    serde_json::to_writer(&mut w, site)?;
    w.write_all(b",\"procedures\":[")?;
    let mut versions: Vec<(&str, String)> = Vec::new();
    let mut first = true;
    for batch in procedures.chunks(BATCH) {
        // Each run of procedures becomes one buffer of ",{…},{…}" and their versions.
        let runs: Vec<io::Result<Run>> = batch
            .par_chunks(32)
            .map(|run| {
                let mut bytes = Vec::with_capacity(run.len() * 2048);
                let mut run_versions = Vec::new();
                for p in run {
                    let form = p.form.as_ref().map(serde_json::value::to_raw_value);
                    let form = form.transpose()?;
                    if let Some(f) = &form {
                        run_versions
                            .push((p.code.as_str(), Form::version_of_json(f.get().as_bytes())));
                    }
                    bytes.push(b',');
                    serde_json::to_writer(&mut bytes, &Entry::of(p, form))?;
                }
                Ok((bytes, run_versions))
            })
            .collect();
        for run in runs {
            let (bytes, run_versions) = run?;
            let skip = usize::from(std::mem::take(&mut first));
            w.write_all(&bytes[skip..])?;
            versions.extend(run_versions);
        }
    }
    w.write_all(b"],\"form_versions\":")?;
    let versions: BTreeMap<&str, &str> = versions.iter().map(|(c, v)| (*c, v.as_str())).collect();
    serde_json::to_writer(&mut w, &versions)?;
    w.write_all(b",\"holidays\":")?;
    serde_json::to_writer(&mut w, holidays)?;
    w.write_all(b",\"shell\":")?;
    serde_json::to_writer(&mut w, shell)?;
    w.write_all(b"}")?;
    let hash = hex::encode(w.hasher.take().expect("hashing").finalize());
    write!(w, r#","content_sha256":"{hash}"}}"#)?;
    w.write_all(b"\n")?;
    w.flush()?;
    Ok(hash)
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
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../content");
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
        // streamed encoding writes exactly what the owned bundle does, and a bundle read
        // back writes itself again unchanged.
        assert_eq!(built.encode().0, bytes);
        assert_eq!(encode(&content, &built.shell).0, bytes);
        assert_eq!(read.content.encode().0, bytes);
    }

    #[test]
    fn a_bundle_keeps_what_the_function_reads_and_nothing_else() {
        let content = content();
        let (bytes, _) = encode(&content, &Shell::plain(&content.site.name));
        let read = Bundle::decode(&bytes).expect("own bundle decodes");
        assert_eq!(read.content.procedures.len(), content.procedures.len());
        for (p, q) in content.procedures.iter().zip(&read.content.procedures) {
            // The receipt, the notices, the appointment and the form's checks.
            assert_eq!((&q.code, &q.title, q.level), (&p.code, &p.title, p.level));
            assert_eq!(q.processing.working_days, p.processing.working_days);
            assert_eq!(q.processing.cutoff, p.processing.cutoff);
            assert_eq!(q.processing.text, p.processing.text);
            assert_eq!(q.fee.text, p.fee.text);
            assert_eq!(q.delivery, p.delivery);
            assert_eq!(q.reviewed, p.reviewed);
            let uploaded: Vec<_> = p.documents.iter().filter(|d| d.upload.is_some()).collect();
            assert_eq!(q.documents.len(), uploaded.len(), "{}", p.code);
            for (d, e) in uploaded.iter().zip(&q.documents) {
                assert_eq!((&d.name, d.kind, d.copies), (&e.name, e.kind, e.copies));
                assert_eq!(d.upload, e.upload);
            }
            assert_eq!(
                q.form.as_ref().map(|f| serde_json::to_string(f).unwrap()),
                p.form.as_ref().map(|f| serde_json::to_string(f).unwrap())
            );
            // The site's own texts stay with the site.
            assert!(q.summary.is_empty() && q.legal_basis.is_empty() && q.sources.is_empty());
            assert!(q.body.is_empty() && q.steps.is_empty() && q.result.is_empty());
        }
        assert!(
            content
                .procedures
                .iter()
                .any(|p| p.documents.iter().any(|d| d.upload.is_some())),
            "the example commune uploads some papers"
        );
        let text = String::from_utf8(bytes).unwrap();
        let guide = &content.procedures[0].legal_basis[0];
        assert!(!text.contains(&format!("\"{guide}\"")), "{guide}");
        // A form leaves out its keys at their defaults.
        for form in content.procedures.iter().filter_map(|p| p.form.as_ref()) {
            let json = serde_json::to_string(form).unwrap();
            assert!(!json.contains("null") && !json.contains("\"required\":false"));
            assert!(!json.contains("[]"), "{json}");
            assert!(text.contains(&json));
        }
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

        let future = text.replacen(
            &format!("\"format\":{FORMAT}"),
            &format!("\"format\":{}", FORMAT + 1),
            1,
        );
        let e = Bundle::decode(future.as_bytes()).unwrap_err();
        assert!(
            e.to_string().contains(&format!("định dạng {}", FORMAT + 1)),
            "{e}"
        );
    }
}
