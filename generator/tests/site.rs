//! The real content builds into a complete site: every internal link resolves, pages
//! stay small, the search index finds procedures without diacritics, and rendered
//! pages match their snapshots.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use generator::{Paths, Site};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn build(content: &Path, out: &Path) -> Site {
    let paths = Paths {
        content: content.to_path_buf(),
        templates: root().join("templates"),
        out: out.to_path_buf(),
    };
    let mut site = Site::load(paths, false).unwrap_or_else(|e| panic!("{}", e.report()));
    site.build(false)
        .unwrap_or_else(|e| panic!("{}", e.report()));
    site
}

/// The real content, built once for all the tests that only read it.
fn real_site() -> &'static (tempfile::TempDir, Site) {
    static SITE: std::sync::OnceLock<(tempfile::TempDir, Site)> = std::sync::OnceLock::new();
    SITE.get_or_init(|| {
        let out = tempfile::tempdir().unwrap();
        let site = build(&root().join("content"), &out.path().join("site"));
        (out, site)
    })
}

fn files(dir: &Path) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// Every `href="/…"` and `src="/…"` (and srcset entries) in a page.
fn internal_targets(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\"", "srcset=\""] {
        for part in html.split(attr).skip(1) {
            let value = part.split('"').next().unwrap_or("");
            for candidate in value.split(", ") {
                let url = candidate.split(' ').next().unwrap_or("");
                if url.starts_with('/') && !url.starts_with("//") {
                    out.push(url.to_owned());
                }
            }
        }
    }
    out
}

fn resolves(all: &HashSet<String>, url: &str) -> bool {
    let path = url
        .split(['#', '?'])
        .next()
        .unwrap()
        .trim_start_matches('/');
    // Routes of the function, served by it rather than by files, and the statistics
    // page its schedule writes into the site.
    if path.starts_with("api/") && !path.ends_with(".json")
        || path.starts_with("__dev/")
        || path.starts_with(catalog::bundle::STATS_PREFIX)
    {
        return true;
    }
    path.is_empty()
        || all.contains(path)
        || all.contains(&format!("{}index.html", path))
        || all.contains(&format!("{path}/index.html"))
}

fn gzip_len(bytes: &[u8]) -> usize {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap().len()
}

#[test]
fn real_content_builds_and_every_internal_link_resolves() {
    let (out, site) = real_site();
    let site_dir = out.path().join("site");
    let all: HashSet<String> = files(&site_dir).into_iter().collect();

    for p in &site.content.procedures {
        assert!(all.contains(&format!("thu-tuc/{}/index.html", p.slug)));
        assert!(all.contains(&format!("thu-tuc/{}/mau-in/index.html", p.slug)));
        if p.level >= 3 {
            assert!(all.contains(&format!("thu-tuc/{}/nop-truc-tuyen/index.html", p.slug)));
            assert!(all.contains(&format!("api/forms/{}.json", p.code)));
        }
    }
    for required in [
        "index.html",
        "404.html",
        "sitemap.xml",
        "robots.txt",
        "tin-tuc/atom.xml",
        "tim-kiem/index.json",
        "api/procedures.json",
        "tra-cuu/index.html",
        "lien-he/index.html",
    ] {
        assert!(all.contains(required), "missing {required}");
    }
    let mut broken = Vec::new();
    for page in all.iter().filter(|f| f.ends_with(".html")) {
        let html = std::fs::read_to_string(site_dir.join(page)).unwrap();
        for target in internal_targets(&html) {
            if !resolves(&all, &target) {
                broken.push(format!("{page} → {target}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "broken internal links:\n{}",
        broken.join("\n")
    );
}

/// Since 1 July 2025 there is no district: no page's footer (or contact page) names one.
#[test]
fn the_footer_carries_no_district() {
    let (out, site) = real_site();
    let site_dir = out.path().join("site");
    assert!(site.content.site.district.is_none());
    for page in files(&site_dir).iter().filter(|f| f.ends_with(".html")) {
        let html = std::fs::read_to_string(site_dir.join(page)).unwrap();
        let footer = html.split("<footer").nth(1).unwrap_or("");
        assert!(!footer.is_empty(), "{page} has a footer");
        for word in ["Huyện", "huyện", "Đak Đoa"] {
            assert!(
                !footer.contains(word),
                "{page}: footer names a district ({word})"
            );
        }
        assert!(
            footer.contains(&format!(
                "{}, {}",
                site.content.site.name, site.content.site.province
            )),
            "{page}: footer names the commune and its province"
        );
    }
}

/// The home page's photo news: small lazy thumbnails with their size set, each with its
/// caption and a link to the story, and the page still light.
#[test]
fn home_shows_photo_news_as_small_lazy_thumbnails() {
    let (out, _) = real_site();
    let site_dir = out.path().join("site");
    let html = std::fs::read_to_string(site_dir.join("index.html")).unwrap();
    let block = html
        .split("<h2 id=\"photo-news-title\">Tin ảnh</h2>")
        .nth(1)
        .expect("a Tin ảnh block")
        .split("</section>")
        .next()
        .unwrap();
    assert!(block.contains("href=\"/tin-tuc/huong-dan-nop-ho-so-tren-dien-thoai/\""));
    assert!(block.contains("loading=\"lazy\""));
    assert!(block.contains("width=\"160\""));
    assert!(block.contains("height=\""));
    assert!(block.contains("<span>Quầy tiếp nhận hồ sơ"), "the caption");
    for src in block.split("/media/").skip(1) {
        let name = src.split([' ', '"']).next().unwrap();
        let size = std::fs::metadata(site_dir.join("media").join(name))
            .unwrap()
            .len();
        assert!(size < 16 * 1024, "{name}: {size} bytes is no thumbnail");
    }
    let gz = gzip_len(html.as_bytes());
    assert!(gz < 4 * 1024, "home page {gz} bytes compressed");
}

/// `generator check` lists what is unverified without failing on it.
#[test]
fn check_lists_open_review_notes_and_estimated_holidays() {
    let (_, site) = real_site();
    let today = catalog::Day::parse("2026-12-01").unwrap();
    let warnings = catalog::warnings(&site.content, today);
    let text: Vec<String> = warnings.iter().map(|w| w.to_string()).collect();
    for p in site
        .content
        .procedures
        .iter()
        .filter(|p| p.review_note.is_some())
    {
        assert!(
            text.iter().any(|t| t.starts_with(&format!("{}:", p.source.path)) && t.contains("review_note")),
            "{} not listed",
            p.source.path
        );
    }
    assert!(
        text.iter().any(|t| t.contains("years.2027.estimated")),
        "{text:#?}"
    );
    // In November the next year must be there: a content without 2028 is reminded of it.
    let mut content = site.content.clone();
    content.holidays.years.retain(|y, _| *y < 2028);
    let november = catalog::Day::parse("2027-11-02").unwrap();
    let text: Vec<String> = catalog::warnings(&content, november)
        .iter()
        .map(|w| w.to_string())
        .collect();
    assert!(
        text.iter()
            .any(|t| t.contains("years.2028") && t.contains("chưa có ngày nghỉ năm 2028")),
        "{text:#?}"
    );
    let october = catalog::Day::parse("2027-10-31").unwrap();
    assert!(
        !catalog::warnings(&content, october)
            .iter()
            .any(|w| w.key == "years.2028")
    );
}

#[test]
fn procedure_pages_with_their_css_stay_under_14_kb_compressed() {
    let (out, site) = real_site();
    let site_dir = out.path().join("site");
    let css = files(&site_dir)
        .into_iter()
        .find(|f| f.starts_with("assets/site.") && f.ends_with(".css"))
        .unwrap();
    let css_len = gzip_len(&std::fs::read(site_dir.join(&css)).unwrap());
    for p in &site.content.procedures {
        let html = std::fs::read(site_dir.join(format!("thu-tuc/{}/index.html", p.slug))).unwrap();
        let total = gzip_len(&html) + css_len;
        assert!(
            total < 14 * 1024,
            "{}: {total} bytes compressed with CSS",
            p.slug
        );
        let text = String::from_utf8(html).unwrap();
        // The one script is the service worker's registration (offline.js, deferred):
        // it keeps the guide for reading offline, and reading needs none.
        let offline = without_offline_script(&text);
        assert!(
            !offline.contains("<script"),
            "{} needs no JavaScript to read",
            p.slug
        );
    }
}

#[test]
fn search_index_finds_procedures_without_diacritics() {
    let site_dir = real_site().0.path().join("site");
    let index: Vec<(String, String, String, u8, String)> =
        serde_json::from_slice(&std::fs::read(site_dir.join("tim-kiem/index.json")).unwrap())
            .unwrap();
    let found: Vec<&str> = index
        .iter()
        .filter(|row| generator::search::matches(&row.4, "dang ky khai sinh"))
        .map(|row| row.0.as_str())
        .collect();
    assert!(found.contains(&"Đăng ký khai sinh"), "{found:?}");
    assert!(!found.contains(&"Đăng ký kết hôn"), "{found:?}");
    let found: Vec<&str> = index
        .iter()
        .filter(|row| generator::search::matches(&row.4, "ket hon"))
        .map(|r| r.1.as_str())
        .collect();
    assert!(found.contains(&"dang-ky-ket-hon"), "{found:?}");
}

#[test]
fn catalogue_and_form_schemas_are_machine_readable() {
    let (out, site) = real_site();
    let site_dir = out.path().join("site");
    let catalogue: serde_json::Value =
        serde_json::from_slice(&std::fs::read(site_dir.join("api/procedures.json")).unwrap())
            .unwrap();
    assert_eq!(
        catalogue["procedures"].as_array().unwrap().len(),
        site.content.procedures.len()
    );
    let p = site
        .content
        .procedures
        .iter()
        .find(|p| p.level >= 3)
        .unwrap();
    let schema: catalog::Form = serde_json::from_value(
        serde_json::from_slice::<serde_json::Value>(
            &std::fs::read(site_dir.join(format!("api/forms/{}.json", p.code))).unwrap(),
        )
        .unwrap()["form"]
            .clone(),
    )
    .unwrap();
    assert_eq!(
        schema.fields().count(),
        p.form.as_ref().unwrap().fields().count()
    );
}

fn snapshot_filters() -> Vec<(&'static str, &'static str)> {
    vec![(r"\.[0-9a-f]{10}\.(css|js|svg)", ".[hash].$1")]
}

#[test]
fn rendered_pages_match_snapshots() {
    let out = tempfile::tempdir().unwrap();
    let site_dir = out.path().join("site");
    build(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good"),
        &site_dir,
    );
    let read = |p: &str| std::fs::read_to_string(site_dir.join(p)).unwrap();
    insta::with_settings!({ filters => snapshot_filters() }, {
        insta::assert_snapshot!("home", read("index.html"));
        insta::assert_snapshot!("procedure", read("thu-tuc/dang-ky-khai-tu/index.html"));
        insta::assert_snapshot!("online_form", read("thu-tuc/dang-ky-khai-tu/nop-truc-tuyen/index.html"));
        insta::assert_snapshot!("printable_form", read("thu-tuc/dang-ky-khai-tu/mau-in/index.html"));
        insta::assert_snapshot!("level_2_procedure", read("thu-tuc/dang-ky-giam-ho/index.html"));
    });
}

#[test]
fn one_changed_procedure_rebuilds_its_pages_and_every_listing() {
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("content");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/good"),
        &content,
    );
    let out = dir.path().join("site");
    let mut site = build(&content, &out);
    let file = content.join("procedures/dang-ky-khai-tu.md");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        text.replace("title: Đăng ký khai tử", "title: Đăng ký khai tử (đã sửa)"),
    )
    .unwrap();

    let changed = site
        .rebuild(std::slice::from_ref(&file))
        .unwrap_or_else(|e| panic!("{}", e.report()));
    let home = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        home.contains("Đăng ký khai tử (đã sửa)"),
        "home lists the new title"
    );
    let field = std::fs::read_to_string(out.join("linh-vuc/ho-tich/index.html")).unwrap();
    assert!(field.contains("Đăng ký khai tử (đã sửa)"));
    let index = std::fs::read_to_string(out.join("tim-kiem/index.json")).unwrap();
    assert!(index.contains("(đã sửa)"));
    assert!(changed.contains(&"index.html".to_string()));
    assert!(
        !changed.iter().any(|c| c.contains("dang-ky-giam-ho")),
        "untouched pages are not rewritten: {changed:?}"
    );

    // A broken edit keeps the last good site.
    std::fs::write(&file, text.replace("level: 3", "level: nhiều")).unwrap();
    let err = site.rebuild(std::slice::from_ref(&file)).unwrap_err();
    assert!(
        err.report().contains("procedures/dang-ky-khai-tu.md:5"),
        "{}",
        err.report()
    );
    assert!(
        std::fs::read_to_string(out.join("index.html"))
            .unwrap()
            .contains("(đã sửa)")
    );

    // A removed procedure disappears from the listings and its pages are gone.
    std::fs::remove_file(&file).unwrap();
    site.rebuild(std::slice::from_ref(&file))
        .unwrap_or_else(|e| panic!("{}", e.report()));
    assert!(
        !std::fs::read_to_string(out.join("index.html"))
            .unwrap()
            .contains("khai tử")
    );
    assert!(!out.join("thu-tuc/dang-ky-khai-tu/index.html").exists());
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from)
        .into_iter()
        .filter_map(Result::ok)
    {
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The page without its service-worker registration (`<script src="/assets/offline.….js" defer></script>`).
fn without_offline_script(html: &str) -> String {
    let mut out = html.to_owned();
    while let Some(start) = out.find(r#"<script src="/assets/offline."#) {
        let end = out[start..]
            .find("</script>")
            .map_or(out.len(), |e| start + e + "</script>".len());
        assert!(
            out[start..end].contains(" defer>"),
            "the service worker's registration is deferred"
        );
        out.replace_range(start..end, "");
    }
    out
}
