//! The widgets function on Lambda: its EventBridge schedule folds the figures, and an
//! HTTP API event is a request to its routes (crates/web/src/lambda.rs, `handle_widgets`).

mod common;

use common::*;
use serde_json::json;

fn event(payload: serde_json::Value) -> lambda_http::LambdaEvent<serde_json::Value> {
    lambda_http::LambdaEvent::new(payload, lambda_http::Context::default())
}

fn http(method: &str, path: &str, body: Option<&str>) -> serde_json::Value {
    json!({
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": {"host": "abc.execute-api.ap-southeast-1.amazonaws.com", "content-type": "application/json"},
        "requestContext": {"accountId": "anonymous", "apiId": "abc", "domainName": "abc.execute-api.ap-southeast-1.amazonaws.com",
            "domainPrefix": "abc", "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.7", "userAgent": "test"}, "requestId": "id", "routeKey": "$default",
            "stage": "$default", "time": "01/Jan/2025:00:00:00 +0000", "timeEpoch": 1735689600000u64},
        "body": body,
        "isBase64Encoded": false
    })
}

#[tokio::test]
async fn the_widgets_schedule_folds_and_http_events_reach_the_routes() {
    let h = harness().await;
    let state = h.state.widgets();
    let router = widgets::router(state.clone());
    let call = |payload| {
        let (router, state) = (router.clone(), state.clone());
        async move {
            web::lambda::handle_widgets(router, &state, event(payload))
                .await
                .expect("handled")
        }
    };
    for n in 0..3 {
        let hit = call(http(
            "POST",
            "/api/stats",
            Some(&format!("{{\"sid\":\"visitor-{n:06}\"}}")),
        ))
        .await;
        assert_eq!(hit["statusCode"], 200, "{hit}");
    }
    let before = call(http("GET", "/api/stats", None)).await;
    let before: serde_json::Value = serde_json::from_str(before["body"].as_str().unwrap()).unwrap();
    assert_eq!(before["total"], 0, "not folded yet: {before}");

    let schedule = json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eab",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": "2025-06-02T03:04:00Z", "region": "ap-southeast-1",
        "resources": ["arn:aws:events:ap-southeast-1:123456789012:rule/motcua-FoldSchedule"],
        "detail": {}
    });
    assert!(web::lambda::is_schedule(&schedule));
    assert!(!web::lambda::is_schedule(&http("GET", "/api/stats", None)));
    let report = call(schedule).await;
    assert_eq!(report["stats"]["Ok"]["today"], 3, "{report}");

    let after = call(http("GET", "/api/stats", None)).await;
    let after: serde_json::Value = serde_json::from_str(after["body"].as_str().unwrap()).unwrap();
    assert_eq!(after["total"], 3, "{after}");
    assert!(after["as_of"].is_string(), "{after}");
}
