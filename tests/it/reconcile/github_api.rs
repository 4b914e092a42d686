//! A hook's deliveries as GitHub documents them: `GET /repos/<o>/<r>/hooks/<id>/deliveries`
//! (newest first, `per_page`, the next page in a `Link` header) and
//! `POST …/deliveries/<id>/attempts` (202). Pages hold at most two deliveries.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::fake::{param, Answer, Seen};

/// The token the API takes.
pub const TOKEN: &str = "ghp_reconcile_0123456789";
/// The hook.
pub const HOOK: &str = "repos/acme/app/hooks/42";

/// One delivery: id, GUID, status code (newest first).
pub type Deliveries = Arc<Mutex<Vec<(u64, String, u16)>>>;

/// The handler over `deliveries`, linking pages on `base`.
pub fn api(
    deliveries: Deliveries,
    base: Arc<Mutex<String>>,
) -> Arc<dyn Fn(&Seen) -> Answer + Send + Sync> {
    Arc::new(move |req: &Seen| {
        if req.auth.as_deref() != Some(&format!("Bearer {TOKEN}")) {
            return (
                401,
                Vec::new(),
                json!({"message": "Bad credentials"}).to_string(),
            );
        }
        let list = format!("/{HOOK}/deliveries");
        let path = req.uri.split('?').next().unwrap_or("");
        if req.method == "POST"
            && path.starts_with(&format!("{list}/"))
            && path.ends_with("/attempts")
        {
            return (202, Vec::new(), "{}".into());
        }
        if req.method != "GET" || path != list {
            return (404, Vec::new(), json!({"message": "Not Found"}).to_string());
        }
        let from: usize = param(&req.uri, "cursor")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let all = deliveries.lock().unwrap();
        let now = std::time::SystemTime::now();
        let page: Vec<Value> = (all.iter().skip(from).take(2))
            .map(|(id, guid, code)| {
                json!({"id": id, "guid": guid, "delivered_at": humantime::format_rfc3339_seconds(now).to_string(),
                       "redelivery": false, "duration": 0.1, "event": "push", "action": null,
                       "status": if (200..300).contains(code) { "OK".to_owned() } else { format!("Invalid HTTP Response: {code}") },
                       "status_code": code, "installation_id": null, "repository_id": 1})
            })
            .collect();
        let mut headers = Vec::new();
        if from + 2 < all.len() {
            let next = format!(
                "{}{list}?per_page=100&cursor={}",
                base.lock().unwrap(),
                from + 2
            );
            headers.push(("link".to_owned(), format!("<{next}>; rel=\"next\"")));
        }
        (200, headers, Value::Array(page).to_string())
    })
}
