//! Writing the function bundle (`catalog::bundle`) in the same build as the site, so
//! the function deployed with a site knows exactly the forms that site shows.
//!
//! It goes beside the output folder, never inside it: `site/` → `site.function/catalog.json`.
//! The bundle is the function's, not a page; outside the folder it is out of reach of `generator deploy`, of the local
//! servers that serve the folder as it is, and of any static host the folder is copied
//! to, whatever they do with hidden files.

use std::path::{Path, PathBuf};

use catalog::{Content, Shell};

/// A file of the bundle that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("không ghi được {path}: {source}")]
pub struct WriteError {
    pub path: String,
    pub source: std::io::Error,
}

/// Where the bundle of the site built into `out` is written.
pub fn path(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "site".into());
    out.with_file_name(format!("{name}.function"))
        .join(catalog::bundle::FILE_NAME)
}

/// A bundle encoded and written under a temporary name, put in place by [`Staged::commit`]
/// once the site itself is in place.
pub struct Staged {
    tmp: PathBuf,
    target: PathBuf,
    pub content_sha256: String,
}

fn io_error(path: &Path, source: std::io::Error) -> WriteError {
    WriteError {
        path: path.display().to_string(),
        source,
    }
}

/// Encodes the bundle of `content` and writes it beside its final place.
pub fn stage(out: &Path, content: &Content, shell: Shell) -> Result<Staged, WriteError> {
    let target = path(out);
    let dir = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let tmp = target.with_extension("json.tmp");
    // Encoded straight into the file, hashed on the way: never held whole in memory.
    let content_sha256 = std::fs::File::create(&tmp)
        .map(|file| std::io::BufWriter::with_capacity(1 << 18, file))
        .and_then(|file| catalog::bundle::write(content, &shell, file))
        .map_err(|e| io_error(&tmp, e))?;
    Ok(Staged {
        tmp,
        target,
        content_sha256,
    })
}

impl Staged {
    /// Renames the bundle into place: a reader sees the old file or the new one.
    pub fn commit(self) -> Result<String, WriteError> {
        std::fs::rename(&self.tmp, &self.target).map_err(|e| io_error(&self.target, e))?;
        Ok(self.content_sha256)
    }

    pub fn discard(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_is_beside_the_output_not_inside() {
        assert_eq!(
            path(Path::new("site")),
            PathBuf::from("site.function/catalog.json")
        );
        assert_eq!(
            path(Path::new("/tmp/x/out/")),
            PathBuf::from("/tmp/x/out.function/catalog.json")
        );
        assert!(!path(Path::new("/srv/site")).starts_with("/srv/site"));
    }
}
