//! `submit-fn`: on AWS Lambda when AWS_LAMBDA_RUNTIME_API is set, else a local server on
//! MOTCUA_ADDR (default 127.0.0.1:8787) with the embedded S3 store unless
//! MOTCUA_S3_ENDPOINT is set; `submit-fn officer add …` adds an officer's account.

mod local;
mod officer;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "submit-fn",
    about = "Hàm nhận hồ sơ Một Cửa: chạy trên AWS Lambda, hoặc làm máy chủ thử trên máy này",
    version
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Tài khoản cán bộ Bộ phận Một cửa.
    Officer {
        #[command(subcommand)]
        command: officer::OfficerCommand,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let (what, result) = match cli.command {
        Some(Command::Officer { command }) => ("submit-fn officer", officer::run(command).await),
        None => ("submit-fn", local::run().await),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{what}: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
