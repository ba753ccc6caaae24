//! Measures what an editor waits for while `serve` runs: the time from one changed
//! procedure file to a site whose pages and every listing are up to date, and then to
//! the function bundle that `serve` writes once the browser is told to reload.
//!
//! Usage: bench-rebuild CONTENT_DIR OUT_DIR [ROUNDS]

use std::path::PathBuf;
use std::time::Instant;

use generator::{Paths, Site};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let content = PathBuf::from(args.next().expect("CONTENT_DIR"));
    let out = PathBuf::from(args.next().expect("OUT_DIR"));
    let rounds: usize = args.next().map_or(20, |r| r.parse().expect("ROUNDS"));
    let templates =
        PathBuf::from(std::env::var("TEMPLATES").unwrap_or_else(|_| "templates".into()));

    let started = Instant::now();
    let mut site = Site::load(
        Paths {
            content: content.clone(),
            templates,
            out: out.clone(),
        },
        true,
    )
    .map_err(|e| anyhow::anyhow!(e.report()))?;
    site.build(false).map_err(|e| anyhow::anyhow!(e.report()))?;
    println!(
        "first build: {} procedures in {} ms",
        site.content.procedures.len(),
        started.elapsed().as_millis()
    );

    let mut files: Vec<PathBuf> = std::fs::read_dir(content.join("procedures"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut times = Vec::with_capacity(rounds);
    let mut bundle_times = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let file = &files[(round * 7919) % files.len()];
        let text = std::fs::read_to_string(file)?;
        let (start, rest) = text.split_once("\ntitle: ").expect("title line");
        let (title, end) = rest.split_once('\n').expect("line");
        let marker = format!("Sửa lần {round}");
        let new_title = format!("\"{} {marker}\"", title.trim_matches('"'));
        std::fs::write(file, format!("{start}\ntitle: {new_title}\n{end}"))?;

        let t = Instant::now();
        let changed = site
            .rebuild(std::slice::from_ref(file))
            .map_err(|e| anyhow::anyhow!(e.report()))?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);

        // Every listing must show the change: the procedure's field page (the home lists
        // procedures only for small catalogues), the search index and the catalogue.
        let field = text
            .lines()
            .find_map(|l| l.strip_prefix("field: "))
            .map(|f| catalog::text::slugify(f.trim_matches('"')))
            .expect("field line");
        let field_page = format!("linh-vuc/{field}/index.html");
        let home = if site.content.procedures.len() > generator::render::COMPACT_HOME_AFTER {
            None
        } else {
            Some("index.html")
        };
        for listing in [
            Some(field_page.as_str()),
            home,
            Some("tim-kiem/index.json"),
            Some("api/procedures.json"),
        ]
        .into_iter()
        .flatten()
        {
            let body = std::fs::read_to_string(out.join(listing))?;
            anyhow::ensure!(
                body.contains(&marker),
                "{listing} does not show the change of round {round}"
            );
        }
        anyhow::ensure!(!changed.is_empty());

        // Then, as `serve` does once the browser is told to reload, the function's
        // bundle; its form and title are the edited ones.
        let t = Instant::now();
        anyhow::ensure!(
            site.write_stale_bundle()
                .map_err(|e| anyhow::anyhow!(e.report()))?
        );
        bundle_times.push(t.elapsed().as_secs_f64() * 1000.0);
        let bundle = catalog::Bundle::decode(&std::fs::read(generator::bundle::path(&out))?)?;
        anyhow::ensure!(
            bundle
                .content
                .procedures
                .iter()
                .any(|p| p.title.contains(&marker)),
            "the function bundle does not show the change of round {round}"
        );
        std::fs::write(file, &text)?;
        site.rebuild(std::slice::from_ref(file))
            .map_err(|e| anyhow::anyhow!(e.report()))?;
    }
    let figures = |times: &mut Vec<f64>| {
        times.sort_by(f64::total_cmp);
        format!(
            "median {:.1} ms, p90 {:.1} ms, max {:.1} ms",
            times[times.len() / 2],
            times[(times.len() * 9) / 10],
            times[times.len() - 1]
        )
    };
    println!(
        "one-file rebuild, {} procedures: {} over {rounds} rounds (listings checked each round)",
        site.content.procedures.len(),
        figures(&mut times)
    );
    println!(
        "then the function bundle (written after the reload is sent): {}",
        figures(&mut bundle_times)
    );
    Ok(())
}
