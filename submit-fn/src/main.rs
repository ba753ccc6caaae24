//! `submit-fn`: on AWS Lambda when AWS_LAMBDA_RUNTIME_API is set, else a local server on
//! MOTCUA_ADDR (default 127.0.0.1:8787) with the embedded S3 store unless
//! MOTCUA_S3_ENDPOINT is set.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("officer") {
        return match submit_fn::admin::cli::run(&args[1..]).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("submit-fn officer: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    match submit_fn::serve::main_from_env().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("submit-fn: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
