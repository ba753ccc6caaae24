//! Building the site. A full build renders into a staging folder beside the output and
//! swaps it in only when everything succeeded, so a failed build never leaves a broken
//! or half site. `Site` keeps the loaded content in memory for `serve`, where one
//! changed procedure re-renders only its own pages and the listings.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use catalog::{Content, ContentError};
use rayon::prelude::*;

use crate::markdown::InternalLink;
use crate::render::{File, PhotoViews, RenderError, Renderer, Theme, ThemeError};

#[derive(Debug, Clone)]
pub struct Paths {
    pub content: PathBuf,
    pub templates: PathBuf,
    pub out: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("nội dung có {} lỗi", .0.len())]
    Content(Vec<ContentError>),
    #[error(transparent)]
    Theme(#[from] ThemeError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error("không ghi được {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("ảnh: {0}")]
    Image(String),
}

impl From<crate::bundle::WriteError> for BuildError {
    fn from(e: crate::bundle::WriteError) -> BuildError {
        BuildError::Write {
            path: e.path,
            source: e.source,
        }
    }
}

impl BuildError {
    /// Every problem, one per paragraph, as the editor should read them.
    pub fn report(&self) -> String {
        match self {
            BuildError::Content(errors) => {
                let mut out = format!(
                    "Tìm thấy {} lỗi trong nội dung; trang web chưa được cập nhật.\n\n",
                    errors.len()
                );
                for e in errors {
                    out.push_str(&format!("lỗi: {e}\n\n"));
                }
                out
            }
            other => format!("lỗi: {other}\n"),
        }
    }
}

#[derive(Debug, Default, Clone)]
pub struct Report {
    pub pages: usize,
    pub files: usize,
    pub procedures: usize,
    pub millis: u128,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> BuildError + '_ {
    move |source| BuildError::Write {
        path: path.display().to_string(),
        source,
    }
}

/// The generated files, by path.
#[derive(Debug, Default)]
pub struct Written {
    pub files: HashSet<String>,
}

fn write_file(root: &Path, (rel, bytes): &File) -> Result<(), BuildError> {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    std::fs::write(&path, bytes).map_err(io_error(&path))
}

/// Checks internal links from the Markdown of `source` against the generated files.
fn check_links(
    written: &HashSet<String>,
    source: &str,
    links: &[InternalLink],
    errors: &mut Vec<ContentError>,
) {
    for link in links {
        if !link_resolves(written, &link.target) {
            errors.push(ContentError::new(
                source,
                Some(link.line),
                "liên kết",
                format!("liên kết \"{}\" không dẫn tới trang nào của trang web", link.target),
                "sửa đường dẫn cho đúng: trang thủ tục có dạng /thu-tuc/<tên-không-dấu>/, tin tức /tin-tuc/<tên>/, trang /trang/<tên>/",
            ));
        }
    }
}

pub fn link_resolves(written: &HashSet<String>, target: &str) -> bool {
    let path = target.split(['#', '?']).next().unwrap_or(target);
    let rel = path.trim_start_matches('/');
    if rel.is_empty() {
        return true;
    }
    // The function's tracking page, and the statistics page the schedule writes.
    if rel == "api/track" || format!("{rel}/").starts_with(catalog::bundle::STATS_PREFIX) {
        return true;
    }
    if rel.ends_with('/') {
        written.contains(&format!("{rel}index.html"))
    } else {
        written.contains(rel) || written.contains(&format!("{rel}/index.html"))
    }
}

/// The loaded site, kept between rebuilds while serving.
pub struct Site {
    pub paths: Paths,
    pub content: Content,
    pub theme: Theme,
    pub dev_reload: bool,
    pub written: Written,
    photos: PhotoViews,
    /// A one-file rebuild changed procedures the function bundle still has as before.
    bundle_stale: bool,
}

impl Site {
    pub fn load(paths: Paths, dev_reload: bool) -> Result<Site, BuildError> {
        let content = catalog::load(&paths.content).map_err(BuildError::Content)?;
        let theme = Theme::load(&paths.templates)?;
        Ok(Site {
            paths,
            content,
            theme,
            dev_reload,
            written: Written::default(),
            photos: PhotoViews::new(),
            bundle_stale: false,
        })
    }

    /// Renders everything into a staging folder and swaps it in.
    pub fn build(&mut self, progress: bool) -> Result<Report, BuildError> {
        let started = Instant::now();
        let out = self.paths.out.clone();
        let staging = sibling(&out, "staging");
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).map_err(io_error(&staging))?;
        // The function bundle is part of the build: a site is never published without
        // the bundle of the same content, nor a bundle without its site.
        let result = self
            .render_all(&staging, progress)
            .and_then(|report| Ok((report, self.stage_bundle()?)));
        match result {
            Ok((report, bundle)) => {
                if let Err(e) = swap(&staging, &out) {
                    bundle.discard();
                    return Err(e);
                }
                bundle.commit()?;
                Ok(Report {
                    millis: started.elapsed().as_millis(),
                    ..report
                })
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                Err(e)
            }
        }
    }

    fn render_all(&mut self, root: &Path, progress: bool) -> Result<Report, BuildError> {
        let previous = self.paths.out.is_dir().then_some(self.paths.out.as_path());
        self.photos = crate::render::images(&self.content, root, previous)
            .map_err(|e| BuildError::Image(e.to_string()))?;
        let renderer =
            Renderer::new(&self.theme, &self.content, self.dev_reload).with_photos(&self.photos);
        let written = Mutex::new(HashSet::with_capacity(self.content.procedures.len() * 4));
        let link_errors = Mutex::new(Vec::new());
        let all_links = Mutex::new(Vec::new());
        let total = self.content.procedures.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let show_progress = progress && total >= 2000;
        self.content
            .procedures
            .par_chunks(64)
            .try_for_each(|chunk| -> Result<(), BuildError> {
                let mut local = Vec::with_capacity(chunk.len() * 4);
                let mut links = Vec::new();
                for p in chunk {
                    let (files, l) = renderer.procedure(p)?;
                    for f in &files {
                        write_file(root, f)?;
                    }
                    local.extend(files.into_iter().map(|f| f.0));
                    links.push((p.source.path.clone(), l));
                }
                written.lock().expect("lock").extend(local);
                all_links.lock().expect("lock").extend(links);
                let n =
                    done.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed) + chunk.len();
                if show_progress && (n / 64).is_multiple_of(32) {
                    eprintln!("  … {n}/{total} thủ tục");
                }
                Ok(())
            })?;
        let mut written = written.into_inner().expect("lock");
        let mut others = renderer.listings()?;
        let (rest, rest_links) = renderer.rest(&self.photos)?;
        others.extend(rest);
        for f in &others {
            write_file(root, f)?;
        }
        written.extend(others.into_iter().map(|f| f.0));
        // Resized photos are written by `images`.
        written.extend(
            walk_files(&root.join("media"))
                .into_iter()
                .map(|p| format!("media/{p}")),
        );
        let mut errors = link_errors.into_inner().expect("lock");
        for (source, links) in all_links
            .into_inner()
            .expect("lock")
            .iter()
            .chain(rest_links.iter())
        {
            check_links(&written, source, links, &mut errors);
        }
        if !errors.is_empty() {
            return Err(BuildError::Content(errors));
        }
        let pages = written.iter().filter(|k| k.ends_with(".html")).count();
        let report = Report {
            pages,
            files: written.len(),
            procedures: total,
            millis: 0,
        };
        self.written.files = written;
        Ok(report)
    }

    /// Encodes the function bundle of the loaded content, with the layout rendered from
    /// the site's own templates.
    fn stage_bundle(&self) -> Result<crate::bundle::Staged, BuildError> {
        let shell = Renderer::new(&self.theme, &self.content, false).shell()?;
        Ok(crate::bundle::stage(&self.paths.out, &self.content, shell)?)
    }

    /// Writes the function bundle if a one-file rebuild left it behind the pages; the
    /// dev server's function takes it on its next request, so a changed form is
    /// enforced as the reloaded page shows it. Returns whether it wrote one.
    pub fn write_stale_bundle(&mut self) -> Result<bool, BuildError> {
        if !self.bundle_stale {
            return Ok(false);
        }
        self.stage_bundle()?.commit()?;
        self.bundle_stale = false;
        Ok(true)
    }

    /// Applies a change to content files while serving. Returns the paths that changed
    /// on disk. A change the fast path does not cover (templates, site.yaml, news…)
    /// reloads and rebuilds everything.
    pub fn rebuild(&mut self, changed: &[PathBuf]) -> Result<Vec<String>, BuildError> {
        let procedures_dir = self.paths.content.join("procedures");
        let fast = !changed.is_empty()
            && changed.iter().all(|p| {
                p.parent() == Some(procedures_dir.as_path())
                    && p.extension().is_some_and(|e| e == "md")
            });
        if !fast {
            let mut fresh = Site::load(self.paths.clone(), self.dev_reload)?;
            fresh.build(false)?;
            *self = fresh;
            return Ok(vec!["*".into()]);
        }
        // Parse and check first, so that a broken edit changes nothing.
        let mut errors = Vec::new();
        let mut parsed = Vec::new();
        for path in changed {
            let rel = format!(
                "procedures/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            if path.is_file() {
                let text = std::fs::read_to_string(path).map_err(io_error(path))?;
                match catalog::load::parse_procedure(&self.paths.content, &rel, &text) {
                    Ok(p) => parsed.push((rel, Some(p))),
                    Err(e) => errors.extend(e),
                }
            } else {
                parsed.push((rel, None));
            }
        }
        let replaced: HashSet<&str> = parsed.iter().map(|(rel, _)| rel.as_str()).collect();
        let after = self
            .content
            .procedures
            .iter()
            .filter(|p| !replaced.contains(p.source.path.as_str()))
            .chain(parsed.iter().filter_map(|(_, p)| p.as_ref()));
        errors.extend(catalog::load::check_unique(after));
        if !errors.is_empty() {
            return Err(BuildError::Content(errors));
        }
        let mut removed = Vec::new();
        let mut touched = Vec::new();
        let content = &mut self.content;
        for (rel, procedure) in parsed {
            if let Some(i) = content.procedures.iter().position(|p| p.source.path == rel) {
                removed.push(content.procedures.remove(i));
            }
            if let Some(p) = procedure {
                touched.push(p.code.clone());
                content.procedures.push(p);
            }
        }
        content.sort();
        let content = &self.content;
        let renderer =
            Renderer::new(&self.theme, content, self.dev_reload).with_photos(&self.photos);
        let fields: HashSet<String> = removed
            .iter()
            .map(|p| p.field.clone())
            .chain(
                touched
                    .iter()
                    .filter_map(|c| content.procedure(c))
                    .map(|p| p.field.clone()),
            )
            .collect();
        let mut files = renderer.listings_for(Some(&fields))?;
        let mut links = Vec::new();
        for code in &touched {
            let p = content.procedure(code).expect("just added");
            let (f, l) = renderer.procedure(p)?;
            files.extend(f);
            links.push((p.source.path.clone(), l));
        }
        let kept_slugs: HashSet<&str> =
            content.procedures.iter().map(|p| p.slug.as_str()).collect();
        let gone: Vec<String> = removed
            .iter()
            .filter(|p| !kept_slugs.contains(p.slug.as_str()))
            .flat_map(|p| {
                let prefix = format!("thu-tuc/{}/", p.slug);
                self.written
                    .files
                    .iter()
                    .filter(move |k| k.starts_with(&prefix))
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut link_errors = Vec::new();
        {
            let new_files: HashSet<&str> = files.iter().map(|f| f.0.as_str()).collect();
            let gone: HashSet<&str> = gone.iter().map(String::as_str).collect();
            for (source, l) in &links {
                for link in l {
                    let resolves = |candidate: &str| {
                        (self.written.files.contains(candidate) && !gone.contains(candidate))
                            || new_files.contains(candidate)
                    };
                    let path = link
                        .target
                        .split(['#', '?'])
                        .next()
                        .unwrap_or("")
                        .trim_start_matches('/');
                    let ok = path.is_empty()
                        || path == "api/track"
                        || resolves(path)
                        || resolves(&format!("{path}index.html"))
                        || resolves(&format!("{path}/index.html"));
                    if !ok {
                        check_links(
                            &HashSet::new(),
                            source,
                            std::slice::from_ref(link),
                            &mut link_errors,
                        );
                    }
                }
            }
        }
        drop(renderer);
        if !link_errors.is_empty() {
            // Put the content back as it was: the last good site stays.
            let content = &mut self.content;
            content.procedures.retain(|p| !touched.contains(&p.code));
            content.procedures.extend(removed);
            content.sort();
            return Err(BuildError::Content(link_errors));
        }
        let out = self.paths.out.clone();
        let mut changed_paths = Vec::new();
        for f in &files {
            // Comparing with what is on disk keeps unchanged files untouched (and the
            // browser's cache valid) without keeping a hash of every page in memory.
            let same = std::fs::read(out.join(&f.0)).is_ok_and(|old| old == f.1);
            if !same {
                write_atomically(&out, f)?;
                changed_paths.push(f.0.clone());
            }
            self.written.files.insert(f.0.clone());
        }
        for g in gone {
            let _ = std::fs::remove_file(out.join(&g));
            self.written.files.remove(&g);
            changed_paths.push(g);
        }
        // The bundle holds every procedure (tens of MB with 10,000): written after the
        // pages, by `write_stale_bundle`, so the browser's reload does not wait for it.
        self.bundle_stale = true;
        Ok(changed_paths)
    }
}

fn write_atomically(root: &Path, (rel, bytes): &File) -> Result<(), BuildError> {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, bytes).map_err(io_error(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io_error(&path))
}

fn sibling(out: &Path, what: &str) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "site".into());
    out.with_file_name(format!(".{name}.{what}"))
}

/// Puts the staging folder in place of the output: two renames, so the published
/// folder is either the old site or the new one. The statistics page the local server
/// wrote (`catalog::bundle::STATS_PREFIX`) is not the build's: it moves over.
fn swap(staging: &Path, out: &Path) -> Result<(), BuildError> {
    let old = sibling(out, "old");
    let _ = std::fs::remove_dir_all(&old);
    let stats = catalog::bundle::STATS_PREFIX.trim_end_matches('/');
    if out.join(stats).is_dir() && !staging.join(stats).exists() {
        let _ = std::fs::rename(out.join(stats), staging.join(stats));
    }
    if out.exists() {
        std::fs::rename(out, &old).map_err(io_error(out))?;
    }
    std::fs::rename(staging, out).map_err(io_error(out))?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

fn walk_files(root: &Path) -> Vec<String> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            e.path()
                .strip_prefix(root)
                .ok()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
        })
        .collect()
}

/// Loads and checks everything a build would, without writing the site.
pub fn check(paths: &Paths) -> Result<Report, BuildError> {
    let tmp = std::env::temp_dir().join(format!("motcua-check-{}", std::process::id()));
    let mut site = Site::load(
        Paths {
            out: tmp.join("site"),
            ..paths.clone()
        },
        false,
    )?;
    // Unverified facts and estimated holidays do not stop a check; they are listed so
    // that none is forgotten.
    let warnings = content_warnings(&site.content);
    for w in &warnings {
        eprintln!("cảnh báo: {w}");
    }
    if !warnings.is_empty() {
        eprintln!("{} cảnh báo (không chặn việc dựng trang).", warnings.len());
    }
    let result = site.build(false);
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

/// Today in Vietnam (UTC+7): the date the commune's warnings are judged by.
pub fn today_in_vietnam() -> catalog::Day {
    catalog::vn_time::today(time::OffsetDateTime::now_utc())
}

/// What `check` lists without failing (see `catalog::warnings`).
pub fn content_warnings(content: &catalog::Content) -> Vec<catalog::ContentError> {
    catalog::warnings(content, today_in_vietnam())
}
