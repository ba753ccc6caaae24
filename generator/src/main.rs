//! `generator check | build | serve | deploy` — the commune's site from content/.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use generator::{Paths, Site};

#[derive(Parser)]
#[command(
    name = "generator",
    version,
    about = "Dựng trang dịch vụ công của xã từ thư mục content/"
)]
struct Cli {
    /// Content folder (what the commune writes).
    #[arg(long, global = true, default_value = "content")]
    content: PathBuf,
    /// Templates and assets.
    #[arg(long, global = true, default_value = "templates")]
    templates: PathBuf,
    /// Output folder.
    #[arg(long, global = true, default_value = "site")]
    out: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check all content and report every problem, without publishing.
    Check,
    /// Build the site into the output folder (swapped in only when the build succeeds).
    Build,
    /// Build, serve on localhost with the function at /api, rebuild on change.
    #[cfg(feature = "serve")]
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Where the embedded S3 store and the outbox live.
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
    /// Publish the built output folder to an S3 bucket, uploading only what changed.
    Deploy {
        /// The site bucket.
        #[arg(long, env = "MOTCUA_SITE_BUCKET")]
        bucket: String,
        /// S3-compatible endpoint (addressed path-style); unset for AWS S3.
        #[arg(long, env = "MOTCUA_SITE_ENDPOINT")]
        endpoint: Option<String>,
        /// Region (else AWS_REGION or the AWS profile's).
        #[arg(long, env = "MOTCUA_SITE_REGION")]
        region: Option<String>,
        /// Key prefix inside the bucket.
        #[arg(long, env = "MOTCUA_SITE_PREFIX", default_value = "")]
        prefix: String,
        /// Show what would change, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Also delete objects in a bucket this tool has not deployed to before.
        #[arg(long)]
        delete_unknown: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let paths = Paths {
        content: cli.content,
        templates: cli.templates,
        out: cli.out,
    };
    match cli.command {
        Command::Check => match generator::build::check(&paths) {
            Ok(r) => {
                println!(
                    "Nội dung hợp lệ: {} thủ tục, {} trang.",
                    r.procedures, r.pages
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Command::Build => {
            let started = std::time::Instant::now();
            let result = Site::load(paths.clone(), false).and_then(|mut s| {
                let loaded = started.elapsed().as_millis();
                s.build(true).map(|r| (loaded, r))
            });
            match result {
                Ok((loaded_ms, r)) => {
                    let total = started.elapsed().as_secs_f64();
                    println!(
                        "Đọc và kiểm tra nội dung: {loaded_ms} ms; dựng và ghi: {} ms; tổng {total:.2} giây.",
                        r.millis
                    );
                    let secs = r.millis as f64 / 1000.0;
                    println!(
                        "Đã dựng {} trang ({} tệp, {} thủ tục) vào {} trong {:.2} giây ({:.0} trang/giây).",
                        r.pages,
                        r.files,
                        r.procedures,
                        paths.out.display(),
                        secs,
                        r.pages as f64 / secs.max(0.001)
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::Deploy {
            bucket,
            endpoint,
            region,
            prefix,
            dry_run,
            delete_unknown,
        } => {
            let options = generator::deploy::Options {
                bucket,
                prefix,
                dry_run,
                delete_unknown,
                ..generator::deploy::Options::new("")
            };
            let run = async {
                let client =
                    generator::deploy::client(endpoint.as_deref(), region.as_deref()).await?;
                generator::deploy::deploy(&client, &paths.out, &options).await
            };
            let result = tokio::runtime::Runtime::new()
                .map_err(anyhow::Error::from)
                .and_then(|rt| rt.block_on(run));
            match result {
                Ok(report) => {
                    print!(
                        "{}",
                        generator::deploy::describe(&report, &options.bucket, &options.prefix)
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("lỗi: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        #[cfg(feature = "serve")]
        Command::Serve { addr, data } => match generator::serve::run(paths, &addr, &data) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("lỗi: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn fail(e: &generator::BuildError) -> ExitCode {
    eprint!("{}", e.report());
    ExitCode::FAILURE
}
