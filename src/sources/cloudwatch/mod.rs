//! The CloudWatch source: AgentCore runtime and Bedrock model metrics for the AgentCore paths.
//!
//! At start, ListMetrics (`AWS/Bedrock-AgentCore`, `AWS/Bedrock`) learns the real dimension sets
//! of each configured runtime ARN and model id. Then every `aws.cloudwatch_interval` ONE
//! GetMetricData call (more only past 500 queries, or when CloudWatch paginates) fetches every
//! path's minutes that have settled since the last call — the first call backfills the
//! dashboard's history so sparklines are full on the first frame. Every 5 minutes the same call
//! also carries the runtime resource-usage queries over the last hour.
//!
//! CloudWatch publishes AgentCore metrics in 1-minute batches that land a minute or two late, so
//! a minute is fetched once it is `settle` old and is then final: each is sent as a `Coverage`
//! (so the model computes rates over what CloudWatch has covered, not up to `now`) followed by
//! a `Traffic` batch stamped with that minute.
pub mod agentcore;
pub mod alarms;
pub mod collect;
pub mod plan;

use crate::config::Config;
use crate::model::update::{ApiSpend, SourceName, SourceState, Update};
use crate::model::window::Timeline;
use crate::sources::aws::{self, AwsFailure, AwsTuning, Backoff, FailureKind};
use crate::sources::{Source, UpdateTx};
use aws_sdk_cloudwatch::error::SdkError;
use aws_sdk_cloudwatch::operation::get_metric_data::GetMetricDataError;
use aws_sdk_cloudwatch::operation::list_metrics::ListMetricsError;
use aws_sdk_cloudwatch::primitives::DateTime as AwsDateTime;
use aws_sdk_cloudwatch::types::{Dimension, DimensionFilter, Metric, MetricDataQuery, MetricStat};
use chrono::{DateTime, Utc};
use collect::{Results, UsageLedger};
use plan::{
    Discovery, Plan, Query, Resource, MAX_QUERIES_PER_CALL, PERIOD_SECS, USAGE_PERIOD_SECS,
};
use std::time::Duration;
use tokio::task::JoinHandle;

type CwError<E> = SdkError<E, aws_sdk_cloudwatch::config::http::HttpResponse>;

/// Cadences and timeouts. Defaults are production's; tests shrink them.
#[derive(Clone, Debug)]
pub struct CloudWatchTuning {
    pub aws: AwsTuning,
    /// GetMetricData every this often (`aws.cloudwatch_interval`, default 60 s).
    pub interval: Duration,
    /// Resource usage (vCPU-/GB-hours) this often.
    pub usage_interval: Duration,
    /// …over this much history (it lands late, in bursts when sessions end).
    pub usage_lookback: Duration,
    /// A minute is fetched once it is this old, and is final from then on.
    pub settle: Duration,
    /// History fetched at start (and at most after an outage): the model's sparkline span.
    pub backfill: Duration,
}

impl CloudWatchTuning {
    pub fn from_config(cfg: &Config) -> CloudWatchTuning {
        let aws = cfg.aws.clone().unwrap_or_default();
        let tl = Timeline::new(cfg.general.window);
        let d = AwsTuning::default();
        CloudWatchTuning {
            aws: AwsTuning::for_source(
                &aws,
                aws.cloudwatch_interval,
                d.backoff_base,
                d.backoff_cap,
            ),
            interval: aws.cloudwatch_interval,
            usage_interval: Duration::from_secs(300),
            usage_lookback: Duration::from_secs(3600),
            settle: Duration::from_secs(120),
            backfill: Duration::from_millis(tl.history_span_ms().max(0) as u64),
        }
    }
}

pub struct CloudWatchSource {
    cfg: Config,
    tuning: CloudWatchTuning,
}

impl CloudWatchSource {
    /// The source for this config; `None` when `[aws]` is absent (the source is disabled).
    pub fn from_config(cfg: &Config) -> Option<CloudWatchSource> {
        cfg.aws.as_ref()?;
        Some(CloudWatchSource {
            cfg: cfg.clone(),
            tuning: CloudWatchTuning::from_config(cfg),
        })
    }

    pub fn with_tuning(mut self, tuning: CloudWatchTuning) -> Self {
        self.tuning = tuning;
        self
    }

    pub fn tuning(&self) -> &CloudWatchTuning {
        &self.tuning
    }
}

impl Source for CloudWatchSource {
    fn name(&self) -> &'static str {
        "cloudwatch"
    }

    fn spawn(self: Box<Self>, tx: UpdateTx) -> JoinHandle<()> {
        tokio::spawn(async move { self.run(tx).await })
    }
}

/// ListMetrics for one resource (all pages): `(metric name, dimensions)` and the requests made.
pub async fn list_resource(
    client: &aws_sdk_cloudwatch::Client,
    r: &Resource,
) -> Result<(Vec<(String, plan::Dims)>, u64), CwError<ListMetricsError>> {
    let (k, v) = r.key_dim();
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    let mut calls = 0u64;
    // A page limit so a misbehaving endpoint cannot keep us paging forever.
    for _ in 0..50 {
        let resp = client
            .list_metrics()
            .namespace(r.namespace())
            .dimensions(DimensionFilter::builder().name(k).value(v).build())
            .set_next_token(token.take())
            .send()
            .await?;
        calls += 1;
        for m in resp.metrics() {
            let Some(name) = m.metric_name() else {
                continue;
            };
            let dims: plan::Dims = m
                .dimensions()
                .iter()
                .filter_map(|d| Some((d.name()?.to_string(), d.value()?.to_string())))
                .collect();
            out.push((name.to_string(), plan::sorted(dims)));
        }
        match resp.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok((out, calls))
}

/// One GetMetricData with one query (`hybridtop check`: is the action permitted?).
pub async fn probe_get_metric_data(
    client: &aws_sdk_cloudwatch::Client,
    r: &Resource,
) -> Result<(), CwError<GetMetricDataError>> {
    let (k, v) = r.key_dim();
    let now = Utc::now().timestamp();
    let end = now - now.rem_euclid(60);
    client
        .get_metric_data()
        .metric_data_queries(
            MetricDataQuery::builder()
                .id("probe")
                .metric_stat(
                    MetricStat::builder()
                        .metric(
                            Metric::builder()
                                .namespace(r.namespace())
                                .metric_name("Invocations")
                                .dimensions(Dimension::builder().name(k).value(v).build())
                                .build(),
                        )
                        .period(60)
                        .stat("Sum")
                        .build(),
                )
                .return_data(true)
                .build(),
        )
        .start_time(AwsDateTime::from_secs(end - 300))
        .end_time(AwsDateTime::from_secs(end))
        .send()
        .await
        .map(|_| ())
}

fn to_sdk(q: &Query) -> MetricDataQuery {
    let mut metric = Metric::builder()
        .namespace(q.namespace)
        .metric_name(q.metric);
    for (k, v) in &q.dims {
        metric = metric.dimensions(Dimension::builder().name(k).value(v).build());
    }
    MetricDataQuery::builder()
        .id(&q.id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric.build())
                .period(q.period as i32)
                .stat(q.stat)
                .build(),
        )
        .return_data(true)
        .build()
}

/// What one GetMetricData round returned.
struct Fetched {
    results: Results,
    /// Metric+stat pairs requested (billed) and HTTP calls made.
    metrics: u64,
    calls: u64,
    messages: Vec<String>,
}

/// Every query over `[start, end)`: one call per 500 queries, following NextToken.
async fn fetch(
    client: &aws_sdk_cloudwatch::Client,
    queries: &[&Query],
    start: i64,
    end: i64,
) -> Result<Fetched, (CwError<GetMetricDataError>, u64, u64)> {
    let sdk: Vec<MetricDataQuery> = queries.iter().map(|q| to_sdk(q)).collect();
    fetch_sdk(client, &sdk, start, end).await
}

fn ac_to_sdk(q: &agentcore::AcQuery) -> MetricDataQuery {
    let mut metric = Metric::builder()
        .namespace(q.namespace)
        .metric_name(&q.metric);
    for (k, v) in &q.dims {
        metric = metric.dimensions(Dimension::builder().name(k).value(v).build());
    }
    MetricDataQuery::builder()
        .id(&q.id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric.build())
                .period(PERIOD_SECS as i32)
                .stat(q.stat)
                .build(),
        )
        .return_data(true)
        .build()
}

/// Any queries over `[start, end)`: one call per 500, following NextToken.
async fn fetch_sdk(
    client: &aws_sdk_cloudwatch::Client,
    queries: &[MetricDataQuery],
    start: i64,
    end: i64,
) -> Result<Fetched, (CwError<GetMetricDataError>, u64, u64)> {
    let mut f = Fetched {
        results: Results::new(),
        metrics: 0,
        calls: 0,
        messages: Vec::new(),
    };
    for chunk in queries.chunks(MAX_QUERIES_PER_CALL) {
        let sdk: Vec<MetricDataQuery> = chunk.to_vec();
        let mut token: Option<String> = None;
        // Bounded paging: 100,800 datapoints per page is far beyond a refresh's needs.
        for _ in 0..20 {
            let resp = client
                .get_metric_data()
                .set_metric_data_queries(Some(sdk.clone()))
                .start_time(AwsDateTime::from_secs(start))
                .end_time(AwsDateTime::from_secs(end))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| (e, f.metrics, f.calls))?;
            f.calls += 1;
            f.metrics += chunk.len() as u64;
            for r in resp.metric_data_results() {
                let Some(id) = r.id() else { continue };
                let e = f.results.entry(id.to_string()).or_default();
                for (t, v) in r.timestamps().iter().zip(r.values()) {
                    e.push((t.secs(), *v));
                }
                for m in r.messages() {
                    f.messages.push(format!(
                        "{id}: {} {}",
                        m.code().unwrap_or(""),
                        m.value().unwrap_or("")
                    ));
                }
            }
            for m in resp.messages() {
                f.messages.push(format!(
                    "{} {}",
                    m.code().unwrap_or(""),
                    m.value().unwrap_or("")
                ));
            }
            match resp.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
    }
    Ok(f)
}

fn floor_to(t: i64, step: i64) -> i64 {
    t - t.rem_euclid(step)
}

/// The CloudWatch client and what it has learnt: discovery, the plan, the minutes fetched, the
/// spend. The source's task drives it; tests drive it with a chosen `now`.
pub struct CloudWatchPoller {
    cfg: Config,
    tuning: CloudWatchTuning,
    profile: Option<String>,
    client: aws_sdk_cloudwatch::Client,
    plan: Plan,
    /// End of the last minute fetched (epoch seconds).
    last_end: Option<i64>,
    last_usage: Option<i64>,
    ledger: UsageLedger,
    metrics_requested: u64,
    /// GetMetricData and ListMetrics calls; ListMetrics is billed per request, GetMetricData
    /// per metric.
    requests: u64,
    list_requests: u64,
    warnings: Vec<String>,
    /// `[agentcore]`: Gateway tools, Identity, Memory (their own, slower cadence).
    ac_plan: agentcore::AcPlan,
    ac_last_end: Option<i64>,
    /// DescribeAlarms requests of the last refresh (the steady-state spend).
    alarm_calls_last: u64,
    alarms_denied_logged: bool,
}

impl CloudWatchPoller {
    /// Load the SDK configuration (no request yet). The plan uses the documented dimensions
    /// until [`discover`](Self::discover) succeeds.
    pub async fn new(cfg: &Config, tuning: &CloudWatchTuning) -> CloudWatchPoller {
        let aws_cfg = cfg.aws.clone().unwrap_or_default();
        let sdk = aws::sdk_config(&aws_cfg, &tuning.aws).await;
        let mut plan = plan::build(cfg, None);
        plan.warnings.clear();
        CloudWatchPoller {
            cfg: cfg.clone(),
            tuning: tuning.clone(),
            profile: aws::profile_hint(&aws_cfg),
            client: aws::cloudwatch_client(&sdk),
            plan,
            last_end: None,
            last_usage: None,
            ledger: UsageLedger::new(),
            metrics_requested: 0,
            requests: 0,
            list_requests: 0,
            warnings: Vec::new(),
            ac_plan: agentcore::AcPlan::default(),
            ac_last_end: None,
            alarm_calls_last: 0,
            alarms_denied_logged: false,
        }
    }

    /// ListMetrics for every configured resource, then build the plan from what was found. If
    /// ListMetrics is denied, the documented dimensions are used with a warning; other failures
    /// are returned (retry later).
    pub async fn discover(&mut self) -> Result<(), AwsFailure> {
        let mut d = Discovery::default();
        let mut denied = None;
        for r in plan::resources(&self.cfg) {
            match list_resource(&self.client, &r).await {
                Ok((found, calls)) => {
                    self.list_requests += calls;
                    self.requests += calls;
                    d.found.insert(r, found);
                }
                Err(e) => {
                    self.list_requests += 1;
                    self.requests += 1;
                    let f = aws::describe(
                        &e,
                        "CloudWatch",
                        "cloudwatch:ListMetrics",
                        self.profile.as_deref(),
                    );
                    if f.kind != FailureKind::AccessDenied {
                        return Err(f);
                    }
                    denied = Some(f);
                    break;
                }
            }
        }
        self.plan = plan::build(&self.cfg, denied.is_none().then_some(&d));
        self.warnings = self.plan.warnings.clone();
        if denied.is_none() && !agentcore::resources(self.cfg.agentcore.as_ref()).is_empty() {
            match agentcore::discover(&self.client, self.cfg.agentcore.as_ref()).await {
                Ok((ad, calls)) => {
                    self.list_requests += calls;
                    self.requests += calls;
                    self.ac_plan = agentcore::build(self.cfg.agentcore.as_ref(), &ad);
                    self.warnings.extend(self.ac_plan.warnings.iter().cloned());
                }
                Err((e, calls)) => {
                    self.list_requests += calls;
                    self.requests += calls;
                    let f = aws::describe(
                        &e,
                        "CloudWatch",
                        "cloudwatch:ListMetrics",
                        self.profile.as_deref(),
                    );
                    if f.kind != FailureKind::AccessDenied {
                        return Err(f);
                    }
                    self.warnings
                        .push(format!("AgentCore tools: {}", f.message));
                }
            }
        }
        if let Some(f) = denied {
            tracing::warn!(target: "hybridtop::cloudwatch", "{}", f.message);
        }
        for w in &self.warnings {
            tracing::warn!(target: "hybridtop::cloudwatch", "{w}");
        }
        Ok(())
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Warnings to show beside an ok state (`None` when there are none).
    pub fn warning_text(&self) -> Option<String> {
        (!self.warnings.is_empty()).then(|| format!("warning: {}", self.warnings.join("; ")))
    }

    /// The dashboard's own CloudWatch spend so far and at the current cadence.
    pub fn spend(&self) -> Update {
        let usd_total = self.metrics_requested as f64 * aws::USD_PER_METRIC_REQUESTED
            + self.list_requests as f64 * aws::USD_PER_CLOUDWATCH_REQUEST;
        Update::ApiSpend(ApiSpend {
            source: SourceName::Cloudwatch,
            usd_per_hour: plan::usd_per_hour(
                &self.plan,
                self.tuning.interval.as_secs_f64(),
                self.tuning.usage_interval.as_secs_f64(),
            ) + self.ac_plan.queries.len() as f64 * 3600.0
                / self.ac_interval() as f64
                * aws::USD_PER_METRIC_REQUESTED
                + self.alarm_calls_last as f64 * 3600.0
                    / self.tuning.interval.as_secs_f64().max(1.0)
                    * aws::USD_PER_CLOUDWATCH_REQUEST,
            usd_total,
            metrics_requested: self.metrics_requested,
            requests: self.requests,
        })
    }

    /// One refresh at wall time `now`: every minute that has settled since the last one (the
    /// first backfills), plus resource usage when due, in one GetMetricData call (more only
    /// past 500 queries). Returns the updates to send; nothing is fetched when nothing is due.
    pub async fn refresh(&mut self, now: DateTime<Utc>) -> Result<Vec<Update>, AwsFailure> {
        let mut out = self.refresh_runtimes(now).await?;
        out.extend(self.refresh_agentcore(now).await?);
        if let Some(u) = self.refresh_alarms().await {
            out.push(u);
        }
        Ok(out)
    }

    /// AgentCore extras are fetched every `max(interval, 3 min)`.
    /// A GetMetricData batch's requests and metrics counted into the spend, whatever its end;
    /// its error as the operator reads it.
    fn counted(
        &mut self,
        r: Result<Fetched, (CwError<GetMetricDataError>, u64, u64)>,
    ) -> Result<Fetched, AwsFailure> {
        match r {
            Ok(f) => {
                self.metrics_requested += f.metrics;
                self.requests += f.calls;
                Ok(f)
            }
            Err((e, metrics, calls)) => {
                self.metrics_requested += metrics;
                self.requests += calls;
                Err(aws::describe(
                    &e,
                    "CloudWatch",
                    "cloudwatch:GetMetricData",
                    self.profile.as_deref(),
                ))
            }
        }
    }

    fn ac_interval(&self) -> i64 {
        (self.tuning.interval.as_secs() as i64).max(agentcore::MIN_INTERVAL_SECS)
    }

    /// Gateway, Identity and Memory: every settled minute since the last fetch (the first
    /// covers the window), one `Update::Agentcore` per minute with data.
    async fn refresh_agentcore(&mut self, now: DateTime<Utc>) -> Result<Vec<Update>, AwsFailure> {
        if self.ac_plan.queries.is_empty() {
            return Ok(Vec::new());
        }
        let now = now.timestamp();
        let end = floor_to(now - self.tuning.settle.as_secs() as i64, PERIOD_SECS);
        let window = (self.cfg.general.window.as_secs() as i64).max(PERIOD_SECS);
        let start = self.ac_last_end.unwrap_or(end - window).max(end - window);
        let due = self
            .ac_last_end
            .is_none_or(|l| end - l >= self.ac_interval());
        if !due || end <= start {
            return Ok(Vec::new());
        }
        let sdk: Vec<MetricDataQuery> = self.ac_plan.queries.iter().map(ac_to_sdk).collect();
        let fetched = self.counted(fetch_sdk(&self.client, &sdk, start, end).await)?;
        self.ac_last_end = Some(end);
        let results: agentcore::Results = fetched.results.into_iter().collect();
        Ok(agentcore::minutes(&self.ac_plan, &results, start, end)
            .into_iter()
            .map(Update::Agentcore)
            .collect())
    }

    /// DescribeAlarms for `[aws] alarm_prefixes`. Denied: one report that says so (the rest of
    /// the refresh goes on); another failure keeps the last report.
    async fn refresh_alarms(&mut self) -> Option<Update> {
        let prefixes = self.cfg.aws.as_ref().map(|a| a.alarm_prefixes.clone())?;
        if prefixes.iter().all(|p| p.trim().is_empty()) {
            return None;
        }
        match alarms::describe(&self.client, &prefixes).await {
            Ok((r, calls)) => {
                self.list_requests += calls;
                self.requests += calls;
                self.alarm_calls_last = calls;
                Some(Update::Alarms(r))
            }
            Err((e, calls)) => {
                self.list_requests += calls;
                self.requests += calls;
                self.alarm_calls_last = calls;
                let f = aws::describe(
                    &e,
                    "CloudWatch",
                    "cloudwatch:DescribeAlarms",
                    self.profile.as_deref(),
                );
                if !self.alarms_denied_logged || f.kind != FailureKind::AccessDenied {
                    tracing::warn!(target: "hybridtop::cloudwatch", "{}", f.message);
                    self.alarms_denied_logged = true;
                }
                (f.kind == FailureKind::AccessDenied).then(|| {
                    Update::Alarms(crate::model::agentcore::AlarmsReport {
                        error: Some(f.message),
                        ..Default::default()
                    })
                })
            }
        }
    }

    async fn refresh_runtimes(&mut self, now: DateTime<Utc>) -> Result<Vec<Update>, AwsFailure> {
        let now = now.timestamp();
        let settle = self.tuning.settle.as_secs() as i64;
        let backfill = (self.tuning.backfill.as_secs() as i64).max(PERIOD_SECS);
        let end = floor_to(now - settle, PERIOD_SECS);
        // Never further back than the model's ring reaches (`backfill` before now): older
        // minutes would be fetched and dropped.
        let oldest = -floor_to(-(now - backfill), PERIOD_SECS);
        let start = self.last_end.unwrap_or(oldest).max(oldest);
        let traffic_due = end > start && !self.plan.traffic.is_empty();
        let usage_every = self.tuning.usage_interval.as_secs() as i64;
        let usage_due =
            !self.plan.usage.is_empty() && self.last_usage.is_none_or(|l| now - l >= usage_every);
        let usage_end = floor_to(now, USAGE_PERIOD_SECS);
        let usage_start =
            usage_end - (self.tuning.usage_lookback.as_secs() as i64).max(USAGE_PERIOD_SECS);
        if !traffic_due && !usage_due {
            return Ok(Vec::new());
        }
        let mut queries: Vec<&Query> = Vec::new();
        let (mut q_start, mut q_end) = (i64::MAX, i64::MIN);
        if traffic_due {
            queries.extend(self.plan.traffic.iter());
            q_start = q_start.min(start);
            q_end = q_end.max(end);
        }
        if usage_due {
            queries.extend(self.plan.usage.iter());
            q_start = q_start.min(usage_start);
            q_end = q_end.max(usage_end);
        }
        let fetched = self.counted(fetch(&self.client, &queries, q_start, q_end).await)?;
        for m in fetched.messages.iter().take(3) {
            tracing::warn!(target: "hybridtop::cloudwatch", "GetMetricData message: {m}");
        }
        let mut out = Vec::new();
        if traffic_due {
            out.extend(collect::traffic_updates(
                &self.plan,
                &fetched.results,
                start,
                end,
            ));
            self.last_end = Some(end);
        }
        if usage_due {
            out.extend(collect::usage_updates(
                &self.plan,
                &fetched.results,
                usage_start,
                usage_end,
                &mut self.ledger,
            ));
            self.last_usage = Some(now);
        }
        Ok(out)
    }
}

impl CloudWatchSource {
    async fn run(self, tx: UpdateTx) {
        let src = SourceName::Cloudwatch;
        let alarms = self
            .cfg
            .aws
            .as_ref()
            .is_some_and(|a| a.alarm_prefixes.iter().any(|p| !p.trim().is_empty()));
        if plan::resources(&self.cfg).is_empty()
            && agentcore::resources(self.cfg.agentcore.as_ref()).is_empty()
            && !alarms
        {
            let _ = aws::send(
                &tx,
                aws::health(
                    src,
                    SourceState::Disabled,
                    None,
                    Some(
                        "no [paths.agentcore] runtime_arn or model_id configured: nothing to fetch"
                            .into(),
                    ),
                ),
            )
            .await;
            tx.closed().await;
            return;
        }
        let mut poller = CloudWatchPoller::new(&self.cfg, &self.tuning).await;
        let mut backoff = Backoff::new(self.tuning.aws.backoff_base, self.tuning.aws.backoff_cap);
        while let Err(f) = poller.discover().await {
            tracing::warn!(target: "hybridtop::cloudwatch", "{}", f.message);
            if !aws::send(&tx, aws::failed(src, f.kind, f.message)).await {
                return;
            }
            if !aws::sleep_or_closed(&tx, backoff.next_delay()).await {
                return;
            }
        }
        backoff.reset();
        loop {
            let now = Utc::now();
            let wait = match poller.refresh(now).await {
                Ok(updates) => {
                    backoff.reset();
                    for u in updates {
                        if !aws::send(&tx, u).await {
                            return;
                        }
                    }
                    let h = aws::health(src, SourceState::Ok, Some(now), poller.warning_text());
                    if !aws::send(&tx, h).await {
                        return;
                    }
                    self.tuning.interval
                }
                Err(f) => {
                    tracing::warn!(target: "hybridtop::cloudwatch", "{}", f.message);
                    let h = aws::failed(src, f.kind, f.message);
                    if !aws::send(&tx, h).await {
                        return;
                    }
                    backoff.next_delay()
                }
            };
            if !aws::send(&tx, poller.spend()).await {
                return;
            }
            if !aws::sleep_or_closed(&tx, wait).await {
                return;
            }
        }
    }
}
