//! Markdown bodies to HTML, collecting the internal links so that a broken one can be
//! reported with its file and line.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd, html};

/// A link or image inside a body that points into the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalLink {
    pub target: String,
    /// Line in the source file.
    pub line: usize,
}

pub struct Rendered {
    pub html: String,
    pub links: Vec<InternalLink>,
}

/// Renders `body`, whose first line is line `first_line` of its file. Headings are
/// shifted so that a body's `#` never competes with the page's own `<h1>`.
pub fn render(body: &str, first_line: usize) -> Rendered {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut links = Vec::new();
    let mut line_starts = None::<Vec<usize>>;
    let events = Parser::new_ext(body, options)
        .into_offset_iter()
        .map(|(event, range)| {
            let target = match &event {
                Event::Start(Tag::Link { dest_url, .. })
                | Event::Start(Tag::Image { dest_url, .. }) => Some(dest_url.to_string()),
                _ => None,
            };
            if let Some(target) = target.filter(|t| t.starts_with('/') && !t.starts_with("//")) {
                let starts = line_starts.get_or_insert_with(|| {
                    std::iter::once(0)
                        .chain(body.match_indices('\n').map(|(i, _)| i + 1))
                        .collect()
                });
                let line = starts.partition_point(|&s| s <= range.start);
                links.push(InternalLink {
                    target,
                    line: first_line + line - 1,
                });
            }
            match event {
                Event::Start(Tag::Heading {
                    level,
                    id,
                    classes,
                    attrs,
                }) => Event::Start(Tag::Heading {
                    level: demote(level),
                    id,
                    classes,
                    attrs,
                }),
                Event::End(TagEnd::Heading(level)) => Event::End(TagEnd::Heading(demote(level))),
                // Raw HTML in content is not trusted to be valid or accessible: show it as text.
                Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
                other => other,
            }
        });
    let mut out = String::with_capacity(body.len() * 5 / 4);
    html::push_html(&mut out, events);
    Rendered { html: out, links }
}

fn demote(level: HeadingLevel) -> HeadingLevel {
    match level {
        HeadingLevel::H1 => HeadingLevel::H2,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_internal_links_with_lines() {
        let body = "Xem [khai sinh](/thu-tuc/dang-ky-khai-sinh/).\n\nVà [web](https://dichvucong.gov.vn).\n\n![ảnh](/media/a.jpg)\n";
        let r = render(body, 20);
        assert_eq!(
            r.links,
            vec![
                InternalLink {
                    target: "/thu-tuc/dang-ky-khai-sinh/".into(),
                    line: 20
                },
                InternalLink {
                    target: "/media/a.jpg".into(),
                    line: 24
                },
            ]
        );
        assert!(r.html.contains("<a href=\"https://dichvucong.gov.vn\">"));
    }

    #[test]
    fn h1_becomes_h2_and_raw_html_is_text() {
        let r = render("# Tiêu đề\n\n<script>alert(1)</script>\n", 1);
        assert!(r.html.contains("<h2>Tiêu đề</h2>"), "{}", r.html);
        assert!(!r.html.contains("<script>"));
    }
}
