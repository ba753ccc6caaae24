//! The Lambda glue. Two kinds of events reach the function: HTTP requests (API Gateway /
//! Function URL), which go to the router, and the EventBridge schedule (`"source":
//! "aws.events"`, `"detail-type": "Scheduled Event"`), which runs one outbox delivery
//! pass and the console index's upkeep, and answers their report.
//!
//! lambda_http turns HTTP events into `http::Request`s, but it panics on a body marked
//! base64 that does not decode; the event is therefore checked first, and such a request
//! reaches the router marked, to be answered with 400.

use axum::Router;
use base64::Engine;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, LambdaEvent, Service, service_fn};
use serde_json::Value;
use time::OffsetDateTime;
use tower::ServiceExt;

use crate::routes::BAD_BODY_HEADER;
use crate::state::AppState;

/// Runs the function under the Lambda runtime.
pub async fn run(state: AppState) -> Result<(), lambda_http::Error> {
    let router = crate::router(state.clone());
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (state, router) = (state.clone(), router.clone());
        async move { handle(&state, router, event).await }
    }))
    .await
}

/// One event: the event JSON in, the answer JSON out (the HTTP response, or the
/// delivery report for the schedule).
pub async fn handle(
    state: &AppState,
    router: Router,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_http::Error> {
    let (payload, context) = (event.payload, event.context);
    if is_schedule(&payload) {
        let now = OffsetDateTime::now_utc();
        let report = state.deliver_due(now).await?;
        tracing::info!(?report, "outbox delivery pass");
        let mut answer = serde_json::to_value(report)?;
        // The console's index is derived data: a failure here is logged, not retried.
        answer["index"] = match store::index::upkeep(state.index(), state.storage(), now).await {
            Ok(stats) => serde_json::to_value(stats)?,
            Err(e) => {
                tracing::warn!("console index upkeep: {e}");
                Value::String(e.to_string())
            }
        };
        return Ok(answer);
    }
    let request: LambdaRequest = serde_json::from_value(sanitize(payload))?;
    let mut adapter = Adapter::from(router);
    let adapter = adapter.ready().await?;
    let response = adapter.call(LambdaEvent::new(request, context)).await?;
    Ok(serde_json::to_value(response)?)
}

/// Is this the EventBridge schedule (infra/template.yaml, `OutboxSchedule`)?
pub fn is_schedule(event: &Value) -> bool {
    event.get("source").and_then(Value::as_str) == Some("aws.events")
        && event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
}

/// Marks an event whose base64 body does not decode, instead of letting the
/// conversion panic.
pub fn sanitize(mut event: Value) -> Value {
    let encoded = event.get("isBase64Encoded").and_then(Value::as_bool) == Some(true);
    let bad = encoded
        && event
            .get("body")
            .and_then(Value::as_str)
            .is_some_and(|b| base64::engine::general_purpose::STANDARD.decode(b).is_err());
    if !bad {
        return event;
    }
    if let Some(obj) = event.as_object_mut() {
        obj.insert("body".into(), Value::String(String::new()));
        obj.insert("isBase64Encoded".into(), Value::Bool(false));
        let headers = obj
            .entry("headers")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(h) = headers.as_object_mut() {
            h.insert(BAD_BODY_HEADER.into(), Value::String("1".into()));
        } else {
            *headers = serde_json::json!({ BAD_BODY_HEADER: "1" });
        }
        if let Some(h) = obj
            .get_mut("multiValueHeaders")
            .and_then(Value::as_object_mut)
        {
            h.insert(BAD_BODY_HEADER.into(), serde_json::json!(["1"]));
        }
    }
    event
}
