//! The Lambda glue. lambda_http turns API Gateway / Function URL events into
//! `http::Request`s, but it panics on a body marked base64 that does not decode; the
//! event is therefore checked first, and such a request reaches the router marked, to
//! be answered with 400.

use axum::Router;
use base64::Engine;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, LambdaEvent, Service, service_fn};
use serde::Serialize;
use serde_json::Value;
use tower::ServiceExt;

use crate::routes::BAD_BODY_HEADER;

/// Runs the router under the Lambda runtime.
pub async fn run(router: Router) -> Result<(), lambda_http::Error> {
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let router = router.clone();
        async move { handle(router, event).await }
    }))
    .await
}

/// One event through the router: the event JSON in, the response JSON out.
pub async fn handle(
    router: Router,
    event: LambdaEvent<Value>,
) -> Result<impl Serialize, lambda_http::Error> {
    let (payload, context) = (event.payload, event.context);
    let request: LambdaRequest = serde_json::from_value(sanitize(payload))?;
    let mut adapter = Adapter::from(router);
    let adapter = adapter.ready().await?;
    let response = adapter.call(LambdaEvent::new(request, context)).await?;
    Ok(response)
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
