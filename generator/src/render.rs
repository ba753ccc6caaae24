//! Rendering pages with the Tera templates. Each function returns the files of one
//! unit of the site (a procedure and its pages, the listings, the feeds…) as
//! (path, bytes), so that a full build and a one-file rebuild share the same code.

use std::path::Path;

use catalog::form_html::{FormView, HumanCheck, render_form, render_printable};
use catalog::validate::RawValues;
use catalog::{Content, Procedure};
use serde::Serialize;
use serde_json::json;
use tera::{Context, Tera};

use rayon::prelude::*;

use crate::assets::Assets;
use crate::markdown::{self, InternalLink};
use crate::search;
use crate::views::{self, Downloads};

pub type File = (String, Vec<u8>);

/// A procedure's form schema file (`api/forms/{code}.json`), borrowed from the content.
#[derive(Serialize)]
struct FormSchema<'a> {
    code: &'a str,
    delivery: &'a [catalog::Delivery],
    fee: &'a catalog::Fee,
    form: Option<&'a serde_json::value::RawValue>,
    form_version: Option<String>,
    level: u8,
    title: &'a str,
}

/// The internal links of one source file, for checking once everything is written.
pub type SourceLinks = (String, Vec<InternalLink>);

type ListingJob<'a> = dyn Fn() -> Result<Vec<File>, RenderError> + Sync + 'a;

/// Above this many procedures the home page lists fields instead of every procedure.
pub const COMPACT_HOME_AFTER: usize = 300;

/// Templates and assets, loaded once.
pub struct Theme {
    pub tera: Tera,
    pub assets: Assets,
    /// Files published at the site's root under their own, stable name
    /// (`templates/root/`: the service worker `sw.js`).
    pub root_files: Vec<(String, Vec<u8>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ThemeError {
    #[error("không đọc được mẫu giao diện trong {dir}: {message}")]
    Templates { dir: String, message: String },
    #[error("không đọc được thư mục tài nguyên {dir}: {source}")]
    Assets { dir: String, source: std::io::Error },
}

impl Theme {
    pub fn load(templates_dir: &Path) -> Result<Theme, ThemeError> {
        let pattern = format!("{}/*.{{html,xml}}", templates_dir.display());
        let mut tera = Tera::new(&pattern).map_err(|e| ThemeError::Templates {
            dir: templates_dir.display().to_string(),
            message: error_chain(&e),
        })?;
        // Tera's default also escapes "/", which makes every URL unreadable in the source.
        tera.set_escape_fn(catalog::form_html::escape);
        let assets_dir = templates_dir.join("assets");
        let assets = crate::assets::load(&assets_dir).map_err(|source| ThemeError::Assets {
            dir: assets_dir.display().to_string(),
            source,
        })?;
        let root_dir = templates_dir.join("root");
        let root_files =
            crate::assets::load_plain(&root_dir).map_err(|source| ThemeError::Assets {
                dir: root_dir.display().to_string(),
                source,
            })?;
        Ok(Theme {
            tera,
            assets,
            root_files,
        })
    }
}

/// A Tera error with its causes, which is where the template name and line are.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        message.push_str(": ");
        message.push_str(&s.to_string());
        source = s.source();
    }
    message
}

pub struct Renderer<'a> {
    pub theme: &'a Theme,
    pub content: &'a Content,
    pub downloads: Downloads,
    base: Context,
    /// The resized news photos, for the home page's photo news.
    photos: Option<&'a PhotoViews>,
}

#[derive(Debug, thiserror::Error)]
#[error("lỗi khi dựng trang {page} bằng mẫu {template}: {message}")]
pub struct RenderError {
    pub page: String,
    pub template: String,
    pub message: String,
}

#[derive(Serialize)]
struct MenuItem<'a> {
    title: &'a str,
    slug: &'a str,
}

impl<'a> Renderer<'a> {
    pub fn new(theme: &'a Theme, content: &'a Content, dev_reload: bool) -> Renderer<'a> {
        let mut base = Context::new();
        base.insert("site", &content.site);
        base.insert("assets", &theme.assets.urls);
        let menu: Vec<MenuItem> = content
            .pages
            .iter()
            .filter(|p| p.menu.is_some())
            .map(|p| MenuItem {
                title: &p.title,
                slug: &p.slug,
            })
            .collect();
        base.insert("menu", &menu);
        base.insert("section", "");
        base.insert("dev_reload", &dev_reload);
        Renderer {
            theme,
            content,
            downloads: views::downloads(&content.root.join("")),
            base,
            photos: None,
        }
    }

    /// Gives the home page its photo news ("Tin ảnh").
    pub fn with_photos(mut self, photos: &'a PhotoViews) -> Renderer<'a> {
        self.photos = Some(photos);
        self
    }

    /// The latest news items that have photos, each with its first photo's thumbnail.
    fn photo_news(&self) -> Vec<PhotoNews> {
        let Some(photos) = self.photos else {
            return Vec::new();
        };
        self.content
            .news
            .iter()
            .filter_map(|n| {
                let first = photos.get(&n.slug)?.first()?;
                let thumb = first.thumb.clone()?;
                Some(PhotoNews {
                    slug: n.slug.clone(),
                    title: n.title.clone(),
                    caption: first.caption.clone().unwrap_or_else(|| n.title.clone()),
                    alt: first.alt.clone(),
                    thumb,
                })
            })
            .take(PHOTO_NEWS_ON_HOME)
            .collect()
    }

    fn page(
        &self,
        path: &str,
        template: &str,
        fill: impl FnOnce(&mut Context),
    ) -> Result<File, RenderError> {
        let mut ctx = self.base.clone();
        fill(&mut ctx);
        self.render(path, template, &ctx)
    }

    fn render(&self, path: &str, template: &str, ctx: &Context) -> Result<File, RenderError> {
        let html = self
            .theme
            .tera
            .render(template, ctx)
            .map_err(|e| RenderError {
                page: path.to_owned(),
                template: template.to_owned(),
                message: error_chain(&e),
            })?;
        Ok((path.to_owned(), html.into_bytes()))
    }

    /// A procedure's page, its online form, its printable form and its form schema.
    pub fn procedure(&self, p: &Procedure) -> Result<(Vec<File>, Vec<InternalLink>), RenderError> {
        let (view, links) = views::procedure(p, &self.downloads);
        let dir = format!("thu-tuc/{}", p.slug);
        // One context for the three pages: the view is converted for Tera once.
        let mut ctx = self.base.clone();
        ctx.insert("p", &view);
        ctx.insert("section", "procedures");
        let mut files = Vec::with_capacity(4);
        files.push(self.render(&format!("{dir}/index.html"), "procedure.html", &ctx)?);
        ctx.insert("print_html", &render_printable(p));
        files.push(self.render(&format!("{dir}/mau-in/index.html"), "print.html", &ctx)?);
        if p.is_online() && p.form.is_some() {
            let api = &self.content.site.api_base;
            let action = format!("{api}/dossiers/form");
            let form_html = render_form(&FormView {
                procedure: p,
                action: &action,
                api_base: api,
                values: &RawValues::new(),
                errors: &[],
                human_check: Some(HumanCheck::Framed),
                idempotency_key: "",
                desk: false,
            });
            ctx.insert("form_html", &form_html);
            files.push(self.render(
                &format!("{dir}/nop-truc-tuyen/index.html"),
                "form.html",
                &ctx,
            )?);
            // The form encoded once, for the schema and for its version: the version
            // the page's hidden `form_version` carries and the function compares, here
            // for API clients that build their own form.
            let form = p
                .form
                .as_ref()
                .map(serde_json::value::to_raw_value)
                .transpose()
                .expect("json");
            let schema = FormSchema {
                code: &p.code,
                delivery: &p.delivery,
                fee: &p.fee,
                form_version: form
                    .as_ref()
                    .map(|f| catalog::Form::version_of_json(f.get().as_bytes())),
                form: form.as_deref(),
                level: p.level,
                title: &p.title,
            };
            files.push((
                format!("api/forms/{}.json", p.code),
                serde_json::to_vec(&schema).expect("json"),
            ));
        }
        Ok((files, links))
    }

    /// The layout of the function's own pages (receipt, tracking, form with errors):
    /// the published stylesheet and the site's header and footer, rendered from the
    /// same partials as every page, for the function bundle.
    pub fn shell(&self) -> Result<catalog::Shell, RenderError> {
        let part = |template: &str| -> Result<String, RenderError> {
            let (_, html) = self.render(template, template, &self.base)?;
            Ok(String::from_utf8_lossy(&html).into_owned())
        };
        Ok(catalog::Shell {
            site_name: self.content.site.name.clone(),
            css_href: self
                .theme
                .assets
                .urls
                .get("site.css")
                .cloned()
                .unwrap_or_default(),
            header_html: part("site-header.html")?,
            footer_html: part("site-footer.html")?,
        })
    }

    /// Every page that lists procedures: home, fields, search index, catalogue, sitemap.
    /// They are independent, so they render in parallel.
    pub fn listings(&self) -> Result<Vec<File>, RenderError> {
        self.listings_for(None)
    }

    /// The listings, with only the field pages of `fields` (all when `None`): a
    /// one-file rebuild leaves the other fields' pages as they are.
    pub fn listings_for(
        &self,
        fields: Option<&std::collections::HashSet<String>>,
    ) -> Result<Vec<File>, RenderError> {
        let groups = views::groups(self.content);
        let latest: Vec<_> = self.content.news.iter().take(5).map(news_row).collect();
        let photo_news = self.photo_news();
        let trace = std::env::var_os("MOTCUA_TRACE").is_some();
        let timed = |name: &str, f: &dyn Fn() -> Result<Vec<File>, RenderError>| {
            let t = std::time::Instant::now();
            let r = f();
            if trace {
                eprintln!("  {name}: {:.1} ms", t.elapsed().as_secs_f64() * 1000.0);
            }
            r
        };
        let jobs: Vec<(&str, Box<ListingJob>)> = vec![
            (
                "home",
                Box::new(|| {
                    Ok(vec![self.page("index.html", "home.html", |c| {
                        // A province-sized catalogue would make a home page of megabytes:
                        // past this many procedures the home lists fields, each with its page.
                        let compact = self.content.procedures.len() > COMPACT_HOME_AFTER;
                        c.insert("compact", &compact);
                        if compact {
                            let names: Vec<_> = groups
                                .iter()
                                .map(
                                    |g| json!({ "name": g.name, "slug": g.slug, "count": g.count }),
                                )
                                .collect();
                            c.insert("groups", &names);
                        } else {
                            c.insert("groups", &groups);
                        }
                        c.insert("latest_news", &latest);
                        c.insert("photo_news", &photo_news);
                        c.insert("section", "home");
                    })?])
                }),
            ),
            (
                "fields",
                Box::new(|| {
                    groups
                        .par_iter()
                        .filter(|g| fields.is_none_or(|f| f.contains(g.name)))
                        .map(|g| {
                            self.page(
                                &format!("linh-vuc/{}/index.html", g.slug),
                                "field.html",
                                |c| {
                                    c.insert("group", g);
                                    c.insert("section", "procedures");
                                },
                            )
                        })
                        .collect()
                }),
            ),
            (
                "search",
                Box::new(|| {
                    Ok(vec![(
                        "tim-kiem/index.json".into(),
                        search::index(&self.content.procedures),
                    )])
                }),
            ),
            (
                "catalogue",
                Box::new(|| Ok(vec![("api/procedures.json".into(), self.catalogue_json())])),
            ),
            (
                "sitemap",
                Box::new(|| Ok(vec![("sitemap.xml".into(), self.sitemap().into_bytes())])),
            ),
        ];
        let parts: Vec<Result<Vec<File>, RenderError>> = jobs
            .par_iter()
            .map(|(name, job)| timed(name, job.as_ref()))
            .collect();
        let mut files = Vec::new();
        for part in parts {
            files.extend(part?);
        }
        Ok(files)
    }

    fn catalogue_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        struct Entry<'a> {
            code: &'a str,
            title: &'a str,
            field: &'a str,
            level: u8,
            level_name: &'static str,
            summary: &'a str,
            authority: &'a str,
            processing: &'a catalog::Processing,
            fee: &'a catalog::Fee,
            delivery: &'a [catalog::Delivery],
            url: String,
            form_url: Option<String>,
            schema_url: Option<String>,
            reviewed: catalog::Day,
        }
        #[derive(Serialize)]
        struct Catalogue<'a> {
            site: &'a str,
            procedures: Vec<Entry<'a>>,
        }
        let base = self.content.site.base_url.trim_end_matches('/');
        let procedures = self
            .content
            .procedures
            .iter()
            .map(|p| Entry {
                code: &p.code,
                title: &p.title,
                field: &p.field,
                level: p.level,
                level_name: p.level_name(),
                summary: &p.summary,
                authority: &p.authority,
                processing: &p.processing,
                fee: &p.fee,
                delivery: &p.delivery,
                url: format!("{base}/thu-tuc/{}/", p.slug),
                form_url: p
                    .is_online()
                    .then(|| format!("{base}/thu-tuc/{}/nop-truc-tuyen/", p.slug)),
                schema_url: p
                    .is_online()
                    .then(|| format!("{base}/api/forms/{}.json", p.code)),
                reviewed: p.reviewed,
            })
            .collect();
        serde_json::to_vec(&Catalogue {
            site: &self.content.site.name,
            procedures,
        })
        .expect("json")
    }

    fn sitemap(&self) -> String {
        let base = self.content.site.base_url.trim_end_matches('/');
        let mut urls: Vec<String> = vec![
            "/".into(),
            "/tin-tuc/".into(),
            "/lien-he/".into(),
            "/tra-cuu/".into(),
            "/tim-kiem/".into(),
        ];
        for g in views::groups(self.content) {
            urls.push(format!("/linh-vuc/{}/", g.slug));
        }
        for p in &self.content.procedures {
            urls.push(format!("/thu-tuc/{}/", p.slug));
            if p.is_online() {
                urls.push(format!("/thu-tuc/{}/nop-truc-tuyen/", p.slug));
            }
        }
        urls.extend(
            self.content
                .news
                .iter()
                .map(|n| format!("/tin-tuc/{}/", n.slug)),
        );
        urls.extend(
            self.content
                .pages
                .iter()
                .map(|p| format!("/trang/{}/", p.slug)),
        );
        let mut xml = String::from(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
        );
        for u in urls {
            xml.push_str("<url><loc>");
            xml.push_str(&catalog::form_html::escape(&format!("{base}{u}")));
            xml.push_str("</loc></url>\n");
        }
        xml.push_str("</urlset>\n");
        xml
    }

    /// News, pages, contact, tracking, search, 404, feed, robots, assets, downloads.
    /// Photos are resized separately (see `images`).
    pub fn rest(&self, photos: &PhotoViews) -> Result<(Vec<File>, Vec<SourceLinks>), RenderError> {
        let mut files = Vec::new();
        let mut links = Vec::new();
        let mut news_views = Vec::new();
        for n in &self.content.news {
            let body = markdown::render(&n.body, n.source.body_line);
            links.push((n.source.path.clone(), body.links));
            let ph: Vec<_> = photos.get(&n.slug).cloned().unwrap_or_default();
            let mut row = news_row(n);
            row.body_html = body.html;
            row.thumb = ph.first().map(|p| Thumb {
                src: p.small.clone(),
                srcset: p.srcset.clone(),
                width: p.small_width,
                height: p.small_height,
            });
            row.photos = ph;
            files.push(self.page(
                &format!("tin-tuc/{}/index.html", n.slug),
                "news.html",
                |c| {
                    c.insert("n", &row);
                    c.insert("section", "news");
                },
            )?);
            news_views.push(row);
        }
        files.push(self.page("tin-tuc/index.html", "news_list.html", |c| {
            c.insert("news", &news_views);
            c.insert("section", "news");
        })?);
        let updated = self
            .content
            .news
            .first()
            .map(|n| n.date.iso())
            .unwrap_or_else(|| "2025-01-01".into());
        files.push(self.page("tin-tuc/atom.xml", "atom.xml", |c| {
            c.insert("news", &news_views);
            c.insert("updated", &updated);
            c.insert("base", self.content.site.base_url.trim_end_matches('/'));
        })?);
        for p in &self.content.pages {
            let body = markdown::render(&p.body, p.source.body_line);
            links.push((p.source.path.clone(), body.links));
            files.push(
                self.page(&format!("trang/{}/index.html", p.slug), "page.html", |c| {
                    c.insert(
                        "page",
                        &json!({ "title": p.title, "summary": p.summary, "body_html": body.html }),
                    );
                    c.insert("section", &p.slug);
                })?,
            );
        }
        files.push(self.page("lien-he/index.html", "contact.html", |c| {
            c.insert("section", "contact")
        })?);
        files.push(self.page("tra-cuu/index.html", "track.html", |c| {
            c.insert("section", "track")
        })?);
        // The procedures whose settled dossiers go into a civil-status register.
        let registers: Vec<serde_json::Value> = self
            .content
            .procedures
            .iter()
            .filter_map(|p| {
                let register = p.register.as_ref()?;
                Some(serde_json::json!({"code": p.code, "title": p.title, "register": register.name}))
            })
            .collect();
        // Every procedure with a form: the desk types its paper dossiers in.
        let desk_procedures: Vec<serde_json::Value> = self
            .content
            .procedures
            .iter()
            .filter(|p| p.form.is_some())
            .map(|p| serde_json::json!({"code": p.code, "title": p.title}))
            .collect();
        files.push(self.page("can-bo/index.html", "can-bo.html", |c| {
            c.insert("section", "staff");
            c.insert("registers", &registers);
            c.insert("desk_procedures", &desk_procedures);
        })?);
        files.push(self.page("tim-kiem/index.html", "search.html", |c| {
            c.insert("section", "procedures")
        })?);
        files.push(self.page("404.html", "404.html", |_| {})?);
        let base = self.content.site.base_url.trim_end_matches('/');
        files.push((
            "robots.txt".into(),
            format!(
                "User-agent: *\nDisallow: /api/\nDisallow: /can-bo/\nSitemap: {base}/sitemap.xml\n"
            )
            .into_bytes(),
        ));
        for (path, bytes) in self.theme.assets.files.iter().chain(&self.theme.root_files) {
            files.push((path.clone(), bytes.clone()));
        }
        for name in self.downloads.keys() {
            let bytes =
                std::fs::read(self.content.root.join("forms").join(name)).unwrap_or_default();
            files.push((format!("bieu-mau/{name}"), bytes));
        }
        Ok((files, links))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Thumb {
    pub src: String,
    pub srcset: String,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct NewsRow {
    pub title: String,
    pub slug: String,
    pub date: String,
    pub date_vn: String,
    pub summary: String,
    pub body_html: String,
    pub thumb: Option<Thumb>,
    pub photos: Vec<PhotoView>,
}

fn news_row(n: &catalog::NewsItem) -> NewsRow {
    NewsRow {
        title: n.title.clone(),
        slug: n.slug.clone(),
        date: n.date.iso(),
        date_vn: n.date.vietnamese(),
        summary: n.summary.clone(),
        body_html: String::new(),
        thumb: None,
        photos: Vec::new(),
    }
}

/// How many photo news items the home page shows: enough to see what is new, few
/// enough that the home page stays light.
const PHOTO_NEWS_ON_HOME: usize = 3;

#[derive(Debug, Clone, Serialize)]
pub struct PhotoNews {
    pub slug: String,
    pub title: String,
    pub caption: String,
    pub alt: String,
    pub thumb: ThumbView,
}

/// A small copy of a photo for lists (the home page's photo news), at one and two
/// device pixels per CSS pixel.
#[derive(Debug, Clone, Serialize)]
pub struct ThumbView {
    pub src: String,
    pub srcset: String,
    pub webp_srcset: String,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhotoView {
    pub src: String,
    pub srcset: String,
    pub webp_srcset: String,
    pub width: u32,
    pub height: u32,
    pub small: String,
    pub small_width: u32,
    pub small_height: u32,
    pub alt: String,
    pub caption: Option<String>,
    /// Only for the first photo of each news item (the one the home page shows).
    pub thumb: Option<ThumbView>,
}

/// News slug → its photos, resized.
pub type PhotoViews = std::collections::BTreeMap<String, Vec<PhotoView>>;

/// Resizes every news photo into `out`, reusing what `previous` already has.
pub fn images(
    content: &Content,
    out: &Path,
    previous: Option<&Path>,
) -> anyhow::Result<PhotoViews> {
    use rayon::prelude::*;
    let jobs: Vec<(&str, &catalog::Photo, bool)> = content
        .news
        .iter()
        .flat_map(|n| {
            n.photos
                .iter()
                .enumerate()
                .map(move |(i, p)| (n.slug.as_str(), p, i == 0))
        })
        .collect();
    let done: Vec<anyhow::Result<(String, PhotoView)>> = jobs
        .par_iter()
        .map(|(slug, photo, first)| {
            let source = content.root.join("media").join(&photo.file);
            let r = crate::images::resize(&source, out, previous)?;
            let thumb = if *first {
                let t =
                    crate::images::resize_to(&source, out, previous, crate::images::THUMB_WIDTHS)?;
                let small = t.smallest();
                Some(ThumbView {
                    src: format!("/{}", small.path),
                    srcset: t.jpeg_srcset(),
                    webp_srcset: t.webp_srcset(),
                    width: small.width,
                    height: small.height,
                })
            } else {
                None
            };
            let fallback = r.fallback();
            let small = r.smallest();
            Ok((
                (*slug).to_owned(),
                PhotoView {
                    src: format!("/{}", fallback.path),
                    srcset: r.jpeg_srcset(),
                    webp_srcset: r.webp_srcset(),
                    width: fallback.width,
                    height: fallback.height,
                    small: format!("/{}", small.path),
                    small_width: small.width,
                    small_height: small.height,
                    alt: photo.alt.clone(),
                    caption: photo.caption.clone(),
                    thumb,
                },
            ))
        })
        .collect();
    let mut views = PhotoViews::new();
    for item in done {
        let (slug, view) = item?;
        views.entry(slug).or_default().push(view);
    }
    Ok(views)
}
