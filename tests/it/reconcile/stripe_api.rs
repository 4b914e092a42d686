//! `GET /v1/events` as Stripe documents it: `Authorization: Bearer <key>`, newest first,
//! `created[gte]`, `delivery_success=false`, `starting_after` and `has_more`. Pages hold at most
//! two events (Stripe's `limit` is honoured too, but 100 would need 100 events to reach page 2).

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::fake::{param, Answer, Seen};

/// The key the API takes.
pub const KEY: &str = "sk_test_reconcile_0123456789";

/// One event the account has: its object, and whether Stripe delivered it.
pub type Events = Arc<Mutex<Vec<(Value, bool)>>>;

/// An event object as the API returns it.
pub fn event(id: &str, created: u64) -> Value {
    json!({"id": id, "object": "event", "type": "invoice.paid", "created": created,
           "api_version": "2024-06-20", "livemode": false,
           "data": {"object": {"id": format!("in_{id}"), "object": "invoice"}}})
}

/// The handler over `events` (newest first).
pub fn api(events: Events) -> Arc<dyn Fn(&Seen) -> Answer + Send + Sync> {
    Arc::new(move |req: &Seen| {
        if req.auth.as_deref() != Some(&format!("Bearer {KEY}")) {
            // Stripe quotes the key it was given (masked; this one does not mask, so a leak shows).
            let given = req.auth.clone().unwrap_or_default();
            let body = json!({"error": {"type": "invalid_request_error",
                "message": format!("Invalid API Key provided: {}", given.trim_start_matches("Bearer "))}});
            return (401, Vec::new(), body.to_string());
        }
        if req.method != "GET" || !req.uri.starts_with("/v1/events") {
            return (
                404,
                Vec::new(),
                r#"{"error":{"message":"Unrecognized request URL"}}"#.into(),
            );
        }
        let gte: u64 = param(&req.uri, "created[gte]")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let failed_only = param(&req.uri, "delivery_success").as_deref() == Some("false");
        let limit: usize = param(&req.uri, "limit")
            .and_then(|v| v.parse().ok())
            .unwrap_or(10);
        let after = param(&req.uri, "starting_after");
        let events = events.lock().unwrap();
        let mut listed = (events.iter())
            .filter(|(e, delivered)| {
                e["created"].as_u64() >= Some(gte) && !(failed_only && *delivered)
            })
            .map(|(e, _)| e.clone())
            .collect::<Vec<_>>();
        if let Some(after) = after {
            let at = listed.iter().position(|e| e["id"] == after.as_str());
            listed.drain(..at.map_or(listed.len(), |i| i + 1));
        }
        let page: Vec<Value> = listed.iter().take(limit.min(2)).cloned().collect();
        let body = json!({"object": "list", "url": "/v1/events", "data": page,
                          "has_more": listed.len() > page.len()});
        (200, Vec::new(), body.to_string())
    })
}
