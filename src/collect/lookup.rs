//! LookupEvents over the window, page by page, as `aws cloudtrail lookup-events` prints them
//! (`{"Events": [...], "NextToken": ...}`, which the event loader reads), at most two requests a
//! second per region (the API's limit). Throttling is retried by the SDK with backoff; when it
//! does not clear, the pages so far are kept and the gap is recorded beside them.

use std::time::Duration;

use aws_smithy_types::DateTime;
use serde_json::{json, Value};

use super::{shape, CollectError, Failure, Out};

/// LookupEvents allows 2 requests per second per account and region.
pub const INTERVAL: Duration = Duration::from_millis(500);

/// `<region>/cloudtrail/lookup-events`, under the account directory.
pub fn dir(region: &str) -> String {
    format!("{region}/cloudtrail/lookup-events")
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    pub pages: usize,
    pub events: usize,
    pub failure: Option<Failure>,
}

/// Pages into `<region>/cloudtrail/lookup-events/page-NNNN.json`; a failure into
/// `<region>/cloudtrail/lookup-events.error.json`, where `audit --config` sees the gap.
pub async fn collect(
    client: &aws_sdk_cloudtrail::Client,
    out: &Out,
    region: &str,
    start: DateTime,
    end: DateTime,
    interval: Duration,
) -> Result<Lookup, CollectError> {
    let mut result = Lookup::default();
    let mut token: Option<String> = None;
    let mut last: Option<tokio::time::Instant> = None;
    loop {
        if let Some(last) = last {
            tokio::time::sleep_until(last + interval).await;
        }
        last = Some(tokio::time::Instant::now());
        let page = client
            .lookup_events()
            .start_time(start)
            .end_time(end)
            .max_results(50)
            .set_next_token(token.clone())
            .send()
            .await;
        match page {
            Ok(p) => {
                result.pages += 1;
                result.events += p.events().len();
                let events: Vec<Value> = p.events().iter().map(shape::cloudtrail::event).collect();
                let mut v = json!({ "Events": events });
                if let Some(t) = p.next_token() {
                    v["NextToken"] = Value::from(t);
                }
                out.save(
                    &format!("{}/page-{:04}.json", dir(region), result.pages),
                    &v,
                )?;
                token = p.next_token().map(str::to_string);
                if token.is_none() {
                    // Complete: a gap recorded by an earlier run is gone.
                    let stale = super::out::error_path(&format!("{}.json", dir(region)));
                    let _ = std::fs::remove_file(out.root().join(stale));
                    break;
                }
            }
            Err(e) => {
                let f = Failure::of("LookupEvents", &e);
                let op = format!(
                    "aws cloudtrail lookup-events --start-time {} --end-time {} --region {region}{}",
                    shape::cli_time(&start),
                    shape::cli_time(&end),
                    if result.pages > 0 {
                        format!(" (page {}; earlier pages kept)", result.pages + 1)
                    } else {
                        String::new()
                    }
                );
                out.fail(&format!("{}.json", dir(region)), op, f.clone())?;
                result.failure = Some(f);
                break;
            }
        }
    }
    Ok(result)
}
