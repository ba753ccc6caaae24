//! `widgets-fn`: the home page's visitor statistics and poll as a function of their own
//! (infra/template.yaml, `WidgetsFunction`, with its own concurrency and throttle), so
//! a spike of home-page views never throttles submissions. Its EventBridge schedule
//! (`FoldSchedule`, once a minute) invokes it too, to fold the figures. Locally the
//! `submit-fn` server answers the same routes and folds on a timer.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    submit_fn::init_tracing();
    if !submit_fn::on_lambda() {
        eprintln!(
            "widgets-fn chạy trên AWS Lambda (AWS_LAMBDA_RUNTIME_API chưa đặt).\n    → Trên máy này, máy chủ `cargo run -p submit-fn` trả lời /api/stats và /api/polls."
        );
        return std::process::ExitCode::FAILURE;
    }
    let result = match submit_fn::widgets_state().await {
        Ok(state) => web::lambda::run_widgets(state)
            .await
            .map_err(|e| anyhow::anyhow!("{e}")),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("widgets-fn: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
