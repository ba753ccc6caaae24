//! Writes that survive a power cut once they are answered.
//!
//! s3s-fs 0.14.1 writes each file to a temporary name and renames it into place, but it
//! never calls fsync: the rename can reach the disk before the data does. On ext4 (and
//! most file systems) a power cut a few seconds after a new key was written can then
//! leave that key as an empty file, and for the keys the protocol depends on that is
//! not a lost write but a broken one: an empty idempotency record answers 503 to every
//! retry of its submission, an empty sequence claim blocks its code, an empty manifest
//! hides a dossier whose receipt the citizen holds.
//!
//! So a PUT is written through a staging key: s3s-fs writes the object (data and its two
//! side files: attributes and ETag) under a name in a folder of the root that is no
//! bucket, the store fsyncs the three files, then renames them to the key's names and
//! fsyncs the folders whose entries changed, and only then answers. The order makes
//! every state a power cut can leave readable and true:
//!
//! 1. the key's old ETag file is removed first (on an overwrite) and the root synced:
//!    with no ETag file s3s-fs answers the MD5 of the data, which for a single PUT *is*
//!    its ETag, so whatever data is on disk, the ETag answered describes it and an
//!    `If-Match` compare-and-swap stays sound;
//! 2. the data is renamed into place and its folder (and any folder just created for it,
//!    up to the bucket) synced: from here the key exists, whole;
//! 3. the attributes and ETag files are renamed into place and the root synced.
//!
//! Copies and multipart completions keep s3s-fs's own write and are synced after it,
//! before the answer (a copy writes its destination in place, so there a power cut can
//! still leave a partial destination: the function copies only into a dossier's files,
//! which the manifest, written last by a PUT, names with their size and hash).
//!
//! Nothing here is tested by cutting power; the tests check that a write leaves the
//! object whole and no staging file behind, and that the folders to sync are the right
//! ones.

use std::io;
use std::path::{Path, PathBuf};

/// The folder (under the store's root, beside the buckets) that PUTs are staged in. Not
/// a valid bucket name, so s3s-fs never lists it as a bucket and no request can name it.
pub(crate) const STAGING: &str = ".motcua-staging";

/// s3s-fs's side file of an object's attributes (`kind` = `metadata`) or internal
/// information, ETag included (`kind` = `internal`), as 0.14.1 names it in its root.
pub(crate) fn side_file(root: &Path, bucket: &str, key: &str, kind: &str) -> PathBuf {
    use base64::Engine as _;
    let encode = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    root.join(format!(
        ".bucket-{}.object-{}.{kind}.json",
        encode(bucket),
        encode(key)
    ))
}

/// Flushes a file's data and size to the disk.
pub(crate) fn sync_file(path: &Path) -> io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

/// Flushes a folder's entries (a rename into it, a file or folder created in it).
pub(crate) fn sync_dir(path: &Path) -> io::Result<()> {
    // Opening a folder read-only and fsyncing it is how POSIX systems make its entries
    // durable; Windows cannot open a folder this way and orders its metadata itself.
    #[cfg(unix)]
    {
        std::fs::File::open(path)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// The folders to sync after `file` was put in place, where `existing` is the nearest
/// folder above it that existed before the write: the file's own folder, and every
/// folder created for it together with the one that gained it as an entry.
pub(crate) fn dirs_to_sync(file: &Path, existing: &Path) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let mut dir = file.parent();
    while let Some(d) = dir {
        dirs.push(d.to_path_buf());
        if d == existing || !d.starts_with(existing) {
            break;
        }
        dir = d.parent();
    }
    dirs
}

/// The nearest folder at or above `path`'s folder that exists now (at worst `root`).
pub(crate) fn existing_ancestor(path: &Path, root: &Path) -> PathBuf {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if d.is_dir() || d == root || !d.starts_with(root) {
            return d.to_path_buf();
        }
        dir = d.parent();
    }
    root.to_path_buf()
}

/// Syncs `file` and the folders its write changed (see [`dirs_to_sync`]).
pub(crate) fn sync_written(file: &Path, existing: &Path) -> io::Result<()> {
    sync_file(file)?;
    for dir in dirs_to_sync(file, existing) {
        sync_dir(&dir)?;
    }
    Ok(())
}

/// Moves a staged object (its data and side files, already synced) to `data` and its
/// side files, in the order the module explains, syncing as it goes.
pub(crate) struct Commit {
    pub root: PathBuf,
    pub staged_data: PathBuf,
    pub staged_metadata: PathBuf,
    pub staged_internal: PathBuf,
    pub data: PathBuf,
    pub metadata: PathBuf,
    pub internal: PathBuf,
}

impl Commit {
    pub(crate) fn run(self) -> io::Result<()> {
        for staged in [
            &self.staged_data,
            &self.staged_metadata,
            &self.staged_internal,
        ] {
            if staged.exists() {
                sync_file(staged)?;
            }
        }
        if self.internal.exists() {
            std::fs::remove_file(&self.internal)?;
            sync_dir(&self.root)?;
        }
        let existing = existing_ancestor(&self.data, &self.root);
        if let Some(parent) = self.data.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::rename(&self.staged_data, &self.data)?;
        for dir in dirs_to_sync(&self.data, &existing) {
            sync_dir(&dir)?;
        }
        for (staged, to) in [
            (&self.staged_metadata, &self.metadata),
            (&self.staged_internal, &self.internal),
        ] {
            if staged.exists() {
                std::fs::rename(staged, to)?;
            }
        }
        sync_dir(&self.root)
    }
}

/// Removes what an earlier process left staged (a PUT cut short before its commit): the
/// staging folder and the side files s3s-fs wrote for staged keys.
pub(crate) fn clear_staging(root: &Path) -> io::Result<()> {
    match std::fs::remove_dir_all(root.join(STAGING)) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let prefix = side_file(root, STAGING, "", "x");
    let prefix = prefix
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_suffix(".x.json"))
        .unwrap_or_default()
        .to_owned();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(&prefix))
        {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_folders_created_for_a_file_are_synced_up_to_the_one_that_existed() {
        let root = Path::new("/r");
        let file = Path::new("/r/bkt/dossiers/2026/12/H1/dossier.json");
        assert_eq!(
            dirs_to_sync(file, Path::new("/r/bkt/dossiers/2026")),
            [
                "/r/bkt/dossiers/2026/12/H1",
                "/r/bkt/dossiers/2026/12",
                "/r/bkt/dossiers/2026"
            ]
            .map(PathBuf::from)
        );
        // A file in a folder that existed: that folder alone.
        assert_eq!(
            dirs_to_sync(file, Path::new("/r/bkt/dossiers/2026/12/H1")),
            [PathBuf::from("/r/bkt/dossiers/2026/12/H1")]
        );
        // Never above the root.
        assert_eq!(dirs_to_sync(Path::new("/r/x"), root), [PathBuf::from("/r")]);
    }

    #[test]
    fn the_nearest_existing_folder_is_found_and_staging_is_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("bkt/a")).unwrap();
        assert_eq!(
            existing_ancestor(&root.join("bkt/a/b/c/file"), root),
            root.join("bkt/a")
        );
        assert_eq!(
            existing_ancestor(&root.join("bkt/a/file"), root),
            root.join("bkt/a")
        );
        assert_eq!(existing_ancestor(&root.join("nope/x/file"), root), root);

        std::fs::create_dir_all(root.join(STAGING)).unwrap();
        std::fs::write(root.join(STAGING).join("7"), b"half").unwrap();
        let staged_side = side_file(root, STAGING, "7", "internal");
        std::fs::write(&staged_side, b"{}").unwrap();
        let kept_side = side_file(root, "bkt", "a/file", "internal");
        std::fs::write(&kept_side, b"{}").unwrap();
        clear_staging(root).unwrap();
        assert!(!root.join(STAGING).exists());
        assert!(!staged_side.exists());
        assert!(kept_side.exists(), "a real key's side file stays");
        // Nothing to clear is not an error.
        clear_staging(root).unwrap();
    }

    #[test]
    fn a_commit_moves_the_object_into_new_folders_and_leaves_nothing_staged() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("bkt")).unwrap();
        std::fs::create_dir_all(root.join(STAGING)).unwrap();
        let staged_data = root.join(STAGING).join("1");
        std::fs::write(&staged_data, b"{\"n\":1}").unwrap();
        let (staged_metadata, staged_internal) = (
            side_file(root, STAGING, "1", "metadata"),
            side_file(root, STAGING, "1", "internal"),
        );
        std::fs::write(&staged_metadata, b"{\"content_type\":\"x\"}").unwrap();
        std::fs::write(&staged_internal, b"{\"e_tag\":\"new\"}").unwrap();
        let (metadata, internal) = (
            side_file(root, "bkt", "a/b/k", "metadata"),
            side_file(root, "bkt", "a/b/k", "internal"),
        );
        // An overwrite: the old ETag file is there.
        std::fs::write(&internal, b"{\"e_tag\":\"old\"}").unwrap();
        Commit {
            root: root.to_path_buf(),
            staged_data: staged_data.clone(),
            staged_metadata: staged_metadata.clone(),
            staged_internal: staged_internal.clone(),
            data: root.join("bkt/a/b/k"),
            metadata: metadata.clone(),
            internal: internal.clone(),
        }
        .run()
        .unwrap();
        assert_eq!(std::fs::read(root.join("bkt/a/b/k")).unwrap(), b"{\"n\":1}");
        assert_eq!(std::fs::read(&internal).unwrap(), b"{\"e_tag\":\"new\"}");
        assert!(metadata.exists());
        for staged in [staged_data, staged_metadata, staged_internal] {
            assert!(!staged.exists(), "{} left behind", staged.display());
        }
    }
}
