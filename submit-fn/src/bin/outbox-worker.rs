//! `outbox-worker`: the function the EventBridge schedule invokes once a minute
//! (infra/template.yaml, `OutboxWorkerFunction`): one outbox delivery pass and the
//! console index's upkeep. Locally the `submit-fn` server runs the same pass on a timer.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    submit_fn::init_tracing();
    if !submit_fn::on_lambda() {
        eprintln!(
            "outbox-worker chạy trên AWS Lambda theo lịch (AWS_LAMBDA_RUNTIME_API chưa đặt).\n    → Trên máy này, máy chủ `cargo run -p submit-fn` tự gửi thông báo mỗi MOTCUA_OUTBOX_INTERVAL giây."
        );
        return std::process::ExitCode::FAILURE;
    }
    let result = match submit_fn::lambda_state().await {
        Ok(state) => web::lambda::run_schedule(state)
            .await
            .map_err(|e| anyhow::anyhow!("{e}")),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("outbox-worker: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
