//! The Lambda glue. Each function of the template has its own kind of event:
//!
//! - the dossier function and the widgets function get HTTP requests (API Gateway's
//!   HTTP API, payload 2.0), which go to their router ([`run_http`]);
//! - the outbox worker gets the EventBridge schedule, typed ([`EventBridgeEvent`]), and
//!   runs one outbox delivery pass and the console index's upkeep ([`scheduled`]);
//! - the widgets function gets both: HTTP requests, and its own schedule, on which it
//!   folds the visitor statistics and the poll ([`run_widgets`]). An event is the
//!   schedule's when it says so (`source` `aws.events`, `detail-type` `Scheduled
//!   Event`); an HTTP API event has neither.
//!
//! lambda_http turns HTTP events into `http::Request`s, but it panics on a body marked
//! base64 that does not decode; the event is therefore checked first, and such a request
//! reaches the router marked, to be answered with 400.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use axum::Router;
use base64::Engine;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, LambdaEvent, Service, service_fn};
use outbox::deliver::DeliveryReport;
use serde::Serialize;
use serde_json::Value;
use store::index::RefreshStats;
use store::sweep::SweepReport;
use time::OffsetDateTime;
use tower::ServiceExt;

use crate::routes::BAD_BODY_HEADER;
use crate::state::AppState;

/// Runs an HTTP function (`router`) under the Lambda runtime.
pub async fn run_http(router: Router) -> Result<(), lambda_http::Error> {
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let router = router.clone();
        async move { handle_http(router, event).await }
    }))
    .await
}

/// Runs the widgets function: its HTTP routes, and one fold per scheduled event.
pub async fn run_widgets(state: widgets::WidgetsState) -> Result<(), lambda_http::Error> {
    let router = widgets::router(state.clone());
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (router, state) = (router.clone(), state.clone());
        async move { handle_widgets(router, &state, event).await }
    }))
    .await
}

/// One event of the widgets function: the schedule's, a fold; any other, an HTTP
/// request to `router`.
pub async fn handle_widgets(
    router: Router,
    state: &widgets::WidgetsState,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_http::Error> {
    if !is_schedule(&event.payload) {
        return handle_http(router, event).await;
    }
    let event: EventBridgeEvent = serde_json::from_value(event.payload)?;
    let report = widgets_scheduled(state, event).await?;
    Ok(serde_json::to_value(report)?)
}

/// Is this event EventBridge's schedule (rather than an HTTP request)?
pub fn is_schedule(event: &Value) -> bool {
    event.get("source").and_then(Value::as_str) == Some("aws.events")
        && event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
}

/// The widgets' schedule (infra/template.yaml, `FoldSchedule`): one fold. A part that
/// failed is logged and left to the next minute's fold (all it writes is derived data
/// or merged), so the invocation itself succeeds.
pub async fn widgets_scheduled(
    state: &widgets::WidgetsState,
    event: EventBridgeEvent,
) -> Result<widgets::fold::FoldReport, lambda_http::Error> {
    if event.source != "aws.events" || event.detail_type != "Scheduled Event" {
        return Err(NotTheSchedule {
            event_source: event.source,
            detail_type: event.detail_type,
        }
        .into());
    }
    let report = widgets::fold::fold(state, catalog::vn_time::now()).await;
    if let Err(e) = &report.stats {
        tracing::warn!("widgets fold (statistics): {e}");
    }
    if let Some(Err(e)) = &report.poll {
        tracing::warn!("widgets fold (poll): {e}");
    }
    tracing::info!(?report, "widgets fold");
    Ok(report)
}

/// One HTTP event: the event JSON in, the HTTP response as Lambda's JSON out.
pub async fn handle_http(
    router: Router,
    event: LambdaEvent<Value>,
) -> Result<Value, lambda_http::Error> {
    let (payload, context) = (event.payload, event.context);
    let request: LambdaRequest = serde_json::from_value(sanitize(payload))?;
    let mut adapter = Adapter::from(router);
    let adapter = adapter.ready().await?;
    let response = adapter.call(LambdaEvent::new(request, context)).await?;
    Ok(serde_json::to_value(response)?)
}

/// What the schedule's pass answers (in the worker's log and to a test).
#[derive(Debug, Serialize)]
pub struct ScheduleReport {
    #[serde(flatten)]
    pub delivery: DeliveryReport,
    /// The console index's upkeep: what it re-read (nothing when it was fresh), or why
    /// it failed (logged, not retried: the index is derived data).
    pub index: Upkeep,
    /// The sweep of failed submissions' leftovers (`store::sweep`), or why it failed
    /// (the next pass tries the day again).
    pub sweep: Swept,
    /// The public statistics page (`crate::figures`): written, unchanged, or off.
    pub figures: crate::figures::PublishReport,
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Swept {
    Done(SweepReport),
    Failed(String),
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Upkeep {
    Done(Option<RefreshStats>),
    Failed(String),
}

/// Why an event is not the worker's.
#[derive(Debug, thiserror::Error)]
#[error("this function's schedule is EventBridge's, not {event_source} / {detail_type}")]
pub struct NotTheSchedule {
    pub event_source: String,
    pub detail_type: String,
}

/// Runs the outbox worker under the Lambda runtime: one pass per scheduled event.
pub async fn run_schedule(state: AppState) -> Result<(), lambda_http::Error> {
    lambda_http::lambda_runtime::run(service_fn(move |event: LambdaEvent<EventBridgeEvent>| {
        let state = state.clone();
        async move { scheduled(&state, event.payload).await }
    }))
    .await
}

/// The schedule's pass (infra/template.yaml, `OutboxSchedule`): one outbox delivery
/// pass, the console index's upkeep, the sweep of failed submissions' leftovers, and
/// the public statistics page when its figures changed.
pub async fn scheduled(
    state: &AppState,
    event: EventBridgeEvent,
) -> Result<ScheduleReport, lambda_http::Error> {
    if event.source != "aws.events" || event.detail_type != "Scheduled Event" {
        return Err(NotTheSchedule {
            event_source: event.source,
            detail_type: event.detail_type,
        }
        .into());
    }
    let now = OffsetDateTime::now_utc();
    // Three independent jobs, side by side: the call lasts as long as the longest.
    let (delivery, index, sweep) = tokio::join!(
        state.deliver_due(now),
        async {
            match store::index::upkeep(state.index(), state.storage(), now).await {
                Ok(stats) => Upkeep::Done(stats),
                Err(e) => {
                    tracing::warn!("console index upkeep: {e}");
                    Upkeep::Failed(e.to_string())
                }
            }
        },
        async {
            match store::sweep::sweep_unfinished(
                state.storage(),
                state.unit_code(),
                now.to_offset(catalog::vn_time::VN),
            )
            .await
            {
                Ok(report) => Swept::Done(report),
                Err(e) => {
                    tracing::warn!("sweep of unfinished submissions: {e}");
                    Swept::Failed(e.to_string())
                }
            }
        },
    );
    // After the index's upkeep: the figures come from the summaries it keeps.
    let figures = crate::figures::publish(state, now, crate::figures::Pace::Schedule).await;
    if let crate::figures::PublishReport::Failed { error } = &figures {
        tracing::warn!("service figures: {error}");
    }
    let delivery = delivery?;
    tracing::info!(?delivery, ?figures, "outbox delivery pass");
    Ok(ScheduleReport {
        delivery,
        index,
        sweep,
        figures,
    })
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
