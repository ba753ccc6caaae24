//! Static assets (CSS, scripts, icons) published under content-hashed names, so that
//! they can be cached forever and a new version is a new URL.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Default)]
pub struct Assets {
    /// Logical name ("site.css") → published path ("/assets/site.3f9a1c2e.css").
    pub urls: BTreeMap<String, String>,
    /// Published path (without leading slash) → bytes.
    pub files: Vec<(String, Vec<u8>)>,
}

pub fn fingerprint(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..5])
}

pub fn load(dir: &Path) -> std::io::Result<Assets> {
    let mut assets = Assets::default();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.file_type()?.is_file() {
            continue;
        }
        let bytes = std::fs::read(entry.path())?;
        let (stem, ext) = name.rsplit_once('.').unwrap_or((&name, ""));
        let published = format!("assets/{stem}.{}.{ext}", fingerprint(&bytes));
        assets.urls.insert(name.clone(), format!("/{published}"));
        assets.files.push((published, bytes));
    }
    Ok(assets)
}

/// The files of `dir` under their own names (no fingerprint): for the few that must keep
/// a stable address, such as the service worker. A missing folder holds none.
pub fn load_plain(dir: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    let mut files = Vec::new();
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.file_type()?.is_file() {
            continue;
        }
        files.push((name, std::fs::read(entry.path())?));
    }
    Ok(files)
}
