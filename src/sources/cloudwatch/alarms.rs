//! The alarms that paged you: DescribeAlarms for `[aws] alarm_prefixes`, states `ALARM` and
//! `INSUFFICIENT_DATA`, paged with NextToken up to a bound (requests are billed, and thousands of
//! alarms must not stall a refresh); the count read is kept and shown. Names and reasons are
//! cleaned here, at the boundary, so recordings hold clean text too.
use crate::model::agentcore::{Alarm, AlarmsReport};
use crate::model::sanitize::clean_owned;
use aws_sdk_cloudwatch::error::SdkError;
use aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsError;
use aws_sdk_cloudwatch::types::{MetricAlarm, StateValue};
use chrono::{DateTime, TimeZone, Utc};

type CwError<E> = SdkError<E, aws_sdk_cloudwatch::config::http::HttpResponse>;

/// DescribeAlarms pages per refresh, over every prefix and state (100 alarms a page).
pub const MAX_PAGES: u64 = 10;
/// Alarms kept per refresh (the rest are counted, not kept).
pub const MAX_KEPT: usize = 200;
const PAGE_SIZE: i32 = 100;

fn time(t: Option<&aws_sdk_cloudwatch::primitives::DateTime>) -> Option<DateTime<Utc>> {
    let t = t?;
    Utc.timestamp_opt(t.secs(), t.subsec_nanos()).single()
}

/// One alarm from the SDK's shape, its strings cleaned.
pub fn alarm_from(a: &MetricAlarm) -> Alarm {
    Alarm {
        name: clean_owned(a.alarm_name().unwrap_or("")),
        state: a
            .state_value()
            .map(|s| clean_owned(s.as_str()))
            .unwrap_or_default(),
        reason: clean_owned(a.state_reason().unwrap_or("")),
        since: time(a.state_updated_timestamp()),
        namespace: a.namespace().map(clean_owned),
        metric: a.metric_name().map(clean_owned),
        dimensions: a
            .dimensions()
            .iter()
            .filter_map(|d| Some((clean_owned(d.name()?), clean_owned(d.value()?))))
            .collect(),
    }
}

/// Every prefix × {ALARM, INSUFFICIENT_DATA}, paged, at most [`MAX_PAGES`] requests. Returns the
/// report and the requests made (billed); an error carries the requests made before it.
pub async fn describe(
    client: &aws_sdk_cloudwatch::Client,
    prefixes: &[String],
) -> Result<(AlarmsReport, u64), (CwError<DescribeAlarmsError>, u64)> {
    let mut r = AlarmsReport::default();
    let mut calls = 0u64;
    'outer: for prefix in prefixes.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        for state in [StateValue::Alarm, StateValue::InsufficientData] {
            let mut token: Option<String> = None;
            loop {
                if calls >= MAX_PAGES {
                    r.truncated = true;
                    break 'outer;
                }
                let resp = client
                    .describe_alarms()
                    .alarm_name_prefix(prefix)
                    .state_value(state.clone())
                    .max_records(PAGE_SIZE)
                    .set_next_token(token.take())
                    .send()
                    .await
                    .map_err(|e| (e, calls + 1))?;
                calls += 1;
                for a in resp.metric_alarms() {
                    r.total += 1;
                    if r.alarms.len() < MAX_KEPT {
                        r.alarms.push(alarm_from(a));
                    } else {
                        r.truncated = true;
                    }
                }
                match resp.next_token() {
                    Some(t) if !t.is_empty() => token = Some(t.to_string()),
                    _ => break,
                }
            }
        }
    }
    Ok((r, calls))
}
