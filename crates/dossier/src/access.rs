//! Who looked at a dossier: each time an officer opens it in the console, or opens one
//! of its files, the console writes one small object under the dossier's `access/`
//! folder, and the tracking page lists them (time, role and what, never the officer's
//! name or login), so the citizen can see how their data is used (Luật Bảo vệ dữ liệu
//! cá nhân 91/2025/QH15).
//!
//! Everything the list shows is in the object's key, so one listing of the folder
//! is enough to show it (no object is read): `access/{inv}-{viewer}-{what}-{rand}.json`,
//! `inv` being [`LATEST`] minus the time in milliseconds, so the listing, in key order,
//! comes newest first.

use catalog::vn_time::{format_time, received_text};
use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::Attachment;

/// The most lines the tracking page shows.
pub const SHOWN: usize = 50;

/// The largest time in milliseconds the key can hold (year 2286).
const LATEST: i128 = 9_999_999_999_999;

/// Who opened it, by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viewer {
    /// An officer of the one-stop desk.
    Officer,
    /// The commune's administrator of the console.
    Admin,
}

impl Viewer {
    fn code(self) -> &'static str {
        match self {
            Viewer::Officer => "officer",
            Viewer::Admin => "admin",
        }
    }

    fn parse(code: &str) -> Option<Viewer> {
        match code {
            "officer" => Some(Viewer::Officer),
            "admin" => Some(Viewer::Admin),
            _ => None,
        }
    }

    /// As the citizen reads it.
    pub fn label(self) -> &'static str {
        match self {
            Viewer::Officer => "Cán bộ Trung tâm Phục vụ hành chính công xã",
            Viewer::Admin => "Cán bộ quản trị hệ thống của xã",
        }
    }
}

/// What was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened<'a> {
    /// The dossier: its form's values and its list of files.
    Dossier,
    /// One of its files, by its storage key.
    File(&'a str),
    /// Its receipt (Mẫu 01), printed at the desk: it shows the citizen's details.
    Receipt,
}

/// A file named in a key by a short hash of its storage key (the key holds the
/// citizen's file name, which has no place in an object's name).
fn file_tag(key: &str) -> String {
    format!("f{}", &hex::encode(Sha256::digest(key.as_bytes()))[..12])
}

/// The key of one opening of the dossier in folder `prefix` (`dossiers/…/{code}/`) at
/// `at`; `rand` tells apart two openings in the same millisecond.
pub fn key(prefix: &str, at: OffsetDateTime, viewer: Viewer, opened: Opened, rand: u32) -> String {
    let ms = at.unix_timestamp_nanos() / 1_000_000;
    let inv = (LATEST - ms).clamp(0, LATEST);
    let what = match opened {
        Opened::Dossier => "hs".to_owned(),
        Opened::Receipt => "gtn".to_owned(),
        Opened::File(key) => file_tag(key),
    };
    format!(
        "{prefix}access/{inv:013}-{}-{what}-{rand:08x}.json",
        viewer.code()
    )
}

/// The listing's prefix for the dossier in folder `prefix`.
pub fn folder(prefix: &str) -> String {
    format!("{prefix}access/")
}

/// What the object says (the key says it all; the body keeps it readable on its own).
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    pub at: String,
    pub role: &'static str,
    pub opened: &'a str,
}

/// The object's body for an opening.
pub fn record(at: OffsetDateTime, viewer: Viewer, opened: Opened<'_>) -> Vec<u8> {
    let r = Record {
        at: format_time(at),
        role: viewer.label(),
        opened: match opened {
            Opened::Dossier => "hồ sơ",
            Opened::Receipt => "giấy tiếp nhận",
            Opened::File(key) => key,
        },
    };
    serde_json::to_vec(&r).expect("json")
}

/// One line of the tracking page's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessLine {
    /// RFC 3339, Vietnam time.
    pub at: String,
    /// "14 giờ 05 phút, ngày 30/04/2025"
    pub at_text: String,
    pub role: &'static str,
    /// "hồ sơ" or "tệp đính kèm "giay-khai-sinh.pdf"".
    pub what: String,
}

/// The list from the folder's keys (in any order), newest first, at most [`SHOWN`];
/// `files` are the dossier's files, to name the ones opened. A key of another shape,
/// or naming no file of the dossier, is left out.
pub fn lines<'a>(
    keys: &[String],
    files: impl IntoIterator<Item = &'a Attachment>,
) -> Vec<AccessLine> {
    let names: Vec<(String, &str)> = files
        .into_iter()
        .map(|a| (file_tag(&a.key), a.name.as_str()))
        .collect();
    let mut parsed: Vec<(i128, Viewer, String)> = keys
        .iter()
        .filter_map(|k| {
            let name = k.rsplit('/').next()?.strip_suffix(".json")?;
            let mut parts = name.split('-');
            let inv: i128 = parts.next()?.parse().ok()?;
            let viewer = Viewer::parse(parts.next()?)?;
            let what = parts.next()?;
            // A file not of this dossier (a key typed by hand) was not opened: left out.
            let what = if what == "hs" {
                "hồ sơ".to_owned()
            } else if what == "gtn" {
                "giấy tiếp nhận hồ sơ (bản in)".to_owned()
            } else {
                let (_, name) = names.iter().find(|(tag, _)| tag == what)?;
                format!("tệp đính kèm \"{name}\"")
            };
            Some((inv, viewer, what))
        })
        .collect();
    parsed.sort_by_key(|(inv, _, _)| *inv);
    parsed
        .into_iter()
        .take(SHOWN)
        .filter_map(|(inv, viewer, what)| {
            let at = OffsetDateTime::from_unix_timestamp_nanos((LATEST - inv) * 1_000_000).ok()?;
            let at = format_time(at);
            Some(AccessLine {
                at_text: received_text(&at),
                at,
                role: viewer.label(),
                what,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn file(name: &str, key: &str) -> Attachment {
        Attachment {
            field: "f".into(),
            name: name.into(),
            key: key.into(),
            size: 1,
            sha256: String::new(),
            kind: "application/pdf".into(),
        }
    }

    #[test]
    fn the_key_alone_gives_the_line_newest_first() {
        let p = "dossiers/2026/12/X-261202-0001/";
        let f = file(
            "giấy khai sinh.pdf",
            "dossiers/2026/12/X-261202-0001/files/a.pdf",
        );
        let older = key(
            p,
            datetime!(2026-12-02 01:00 UTC),
            Viewer::Officer,
            Opened::Dossier,
            1,
        );
        let newer = key(
            p,
            datetime!(2026-12-02 02:05 UTC),
            Viewer::Admin,
            Opened::File(&f.key),
            2,
        );
        assert!(newer < older, "newest first in the listing's order");
        assert!(older.starts_with(&folder(p)));
        assert!(!newer.contains("khai"), "no file name in the key: {newer}");
        let stray = format!("{p}access/nonsense.json");
        let elsewhere = key(
            p,
            datetime!(2026-12-02 03:00 UTC),
            Viewer::Officer,
            Opened::File("x"),
            3,
        );
        let shown = lines(&[older, stray, elsewhere, newer], [&f]);
        assert_eq!(
            shown,
            [
                AccessLine {
                    at: "2026-12-02T09:05:00+07:00".into(),
                    at_text: "09 giờ 05 phút, ngày 02/12/2026".into(),
                    role: "Cán bộ quản trị hệ thống của xã",
                    what: "tệp đính kèm \"giấy khai sinh.pdf\"".into(),
                },
                AccessLine {
                    at: "2026-12-02T08:00:00+07:00".into(),
                    at_text: "08 giờ 00 phút, ngày 02/12/2026".into(),
                    role: "Cán bộ Trung tâm Phục vụ hành chính công xã",
                    what: "hồ sơ".into(),
                },
            ]
        );
    }

    #[test]
    fn the_list_is_bounded() {
        let p = "dossiers/2026/12/X-261202-0001/";
        let t0 = datetime!(2026-12-02 01:00 UTC);
        let keys: Vec<String> = (0..120)
            .map(|i| {
                key(
                    p,
                    t0 + time::Duration::minutes(i),
                    Viewer::Officer,
                    Opened::Dossier,
                    0,
                )
            })
            .collect();
        let shown = lines(&keys, []);
        assert_eq!(shown.len(), SHOWN);
        assert_eq!(shown[0].at, "2026-12-02T09:59:00+07:00");
    }
}
