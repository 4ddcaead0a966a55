//! The Cost Explorer source: billed cost, month-to-date and the last 14 days, DAILY
//! `UnblendedCost` grouped by `SERVICE` (or by the `aws.cost_tag` tag), classified into
//! agentcore / eks / other. Cost Explorer charges $0.01 per request and updates a few times a
//! day: answers are cached on disk and refreshed every `aws.cost_explorer_interval` (6 h); at
//! start the cached figures are shown at once with their age.
pub mod cache;
pub mod classify;

use crate::config::{AwsConfig, Config};
use crate::model::update::{ApiSpend, BilledCost, SourceName, SourceState, Update};
use crate::sources::aws::{self, AwsFailure, AwsTuning, Backoff};
use crate::sources::{Source, UpdateTx};
use aws_sdk_costexplorer::error::SdkError;
use aws_sdk_costexplorer::operation::get_cost_and_usage::GetCostAndUsageError;
use aws_sdk_costexplorer::types::{
    DateInterval, Granularity, GroupDefinition, GroupDefinitionType,
};
use cache::CacheEntry;
use chrono::{NaiveDate, Utc};
use classify::{Grouping, Row};
use std::path::PathBuf;
use std::time::Duration;
use tokio::task::JoinHandle;

type CeError = SdkError<GetCostAndUsageError, aws_sdk_costexplorer::config::http::HttpResponse>;

pub const METRIC: &str = "UnblendedCost";

#[derive(Clone, Debug)]
pub struct CostExplorerTuning {
    pub aws: AwsTuning,
    /// `aws.cost_explorer_interval` (default 6 h).
    pub interval: Duration,
    /// Where answers are cached (`crate::config::cache_dir()` by default).
    pub cache_dir: PathBuf,
}

impl CostExplorerTuning {
    pub fn from_config(cfg: &Config) -> CostExplorerTuning {
        let aws = cfg.aws.clone().unwrap_or_default();
        CostExplorerTuning {
            // A failed refresh is retried within minutes, never faster than every 30 s (or
            // than the configured interval, when that is shorter).
            aws: AwsTuning::for_source(
                &aws,
                aws.cost_explorer_interval,
                Duration::from_secs(30),
                Duration::from_secs(1800),
            ),
            interval: aws.cost_explorer_interval,
            cache_dir: crate::config::cache_dir(),
        }
    }
}

pub struct CostExplorerSource {
    cfg: Config,
    aws: AwsConfig,
    tuning: CostExplorerTuning,
}

impl CostExplorerSource {
    /// The source for this config; `None` when `[aws]` is absent (the source is disabled).
    pub fn from_config(cfg: &Config) -> Option<CostExplorerSource> {
        let aws = cfg.aws.clone()?;
        Some(CostExplorerSource {
            cfg: cfg.clone(),
            aws,
            tuning: CostExplorerTuning::from_config(cfg),
        })
    }

    pub fn with_tuning(mut self, tuning: CostExplorerTuning) -> Self {
        self.tuning = tuning;
        self
    }

    pub fn tuning(&self) -> &CostExplorerTuning {
        &self.tuning
    }

    /// What identifies a request apart from its dates: the cache key.
    pub fn cache_key(&self) -> String {
        let endpoint = std::env::var("AWS_ENDPOINT_URL_COST_EXPLORER")
            .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
            .unwrap_or_default();
        format!(
            "v{}|profile={}|endpoint={}|group={}|metric={METRIC}|granularity=DAILY",
            cache::VERSION,
            aws::profile_hint(&self.aws).unwrap_or_default(),
            endpoint,
            Grouping::from_config(&self.cfg).describe(),
        )
    }

    pub fn cache_path(&self) -> PathBuf {
        cache::path_for(&self.tuning.cache_dir, &self.cache_key())
    }
}

impl Source for CostExplorerSource {
    fn name(&self) -> &'static str {
        "cost_explorer"
    }

    fn spawn(self: Box<Self>, tx: UpdateTx) -> JoinHandle<()> {
        tokio::spawn(async move { self.run(tx).await })
    }
}

/// One small request (`hybridtop check`: is `ce:GetCostAndUsage` permitted?).
pub async fn probe(client: &aws_sdk_costexplorer::Client) -> Result<(), CeError> {
    let today = Utc::now().date_naive();
    let start = today.pred_opt().unwrap_or(today);
    let end = today.succ_opt().unwrap_or(today);
    let period = DateInterval::builder()
        .start(start.format("%Y-%m-%d").to_string())
        .end(end.format("%Y-%m-%d").to_string())
        .build()
        .map_err(SdkError::construction_failure)?;
    client
        .get_cost_and_usage()
        .time_period(period)
        .granularity(Granularity::Monthly)
        .metrics(METRIC)
        .send()
        .await
        .map(|_| ())
}

/// Every page of the DAILY, grouped request for `[start, end)`: rows and pages (requests).
async fn fetch(
    client: &aws_sdk_costexplorer::Client,
    grouping: &Grouping,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<(Vec<Row>, u64), (CeError, u64)> {
    let period = DateInterval::builder()
        .start(start.format("%Y-%m-%d").to_string())
        .end(end.format("%Y-%m-%d").to_string())
        .build()
        .map_err(|e| (SdkError::construction_failure(e), 0))?;
    let group = match grouping {
        Grouping::Service => GroupDefinition::builder()
            .r#type(GroupDefinitionType::Dimension)
            .key("SERVICE")
            .build(),
        Grouping::Tag(t) => GroupDefinition::builder()
            .r#type(GroupDefinitionType::Tag)
            .key(t)
            .build(),
    };
    let mut rows = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0u64;
    // Bounded: every page is $0.01, and 14–31 days of services fit in a handful.
    for _ in 0..20 {
        let resp = client
            .get_cost_and_usage()
            .time_period(period.clone())
            .granularity(Granularity::Daily)
            .metrics(METRIC)
            .group_by(group.clone())
            .set_next_page_token(token.take())
            .send()
            .await
            .map_err(|e| (e, pages))?;
        pages += 1;
        for r in resp.results_by_time() {
            let Some(date) = r
                .time_period()
                .and_then(|p| NaiveDate::parse_from_str(p.start(), "%Y-%m-%d").ok())
            else {
                continue;
            };
            for g in r.groups() {
                let key = g.keys().join(",");
                let usd = g
                    .metrics()
                    .and_then(|m| m.get(METRIC))
                    .and_then(|v| v.amount())
                    .and_then(|a| a.trim().parse::<f64>().ok())
                    .filter(|v| v.is_finite())
                    .unwrap_or(0.0);
                rows.push(Row { date, key, usd });
            }
        }
        match resp.next_page_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok((rows, pages))
}

impl CostExplorerSource {
    fn billed(&self, e: &CacheEntry) -> Update {
        let grouping = Grouping::from_config(&self.cfg);
        let (month_to_date, daily) = classify::summarize(&e.rows, &grouping, &self.cfg, e.today);
        Update::Billed(BilledCost {
            as_of: e.fetched_at,
            month_to_date,
            daily,
        })
    }

    fn spend(&self, pages_per_refresh: u64, requests: u64) -> Update {
        let per_hour = self.tuning.interval.as_secs_f64();
        Update::ApiSpend(ApiSpend {
            source: SourceName::CostExplorer,
            usd_per_hour: if per_hour > 0.0 {
                pages_per_refresh.max(1) as f64 * aws::USD_PER_COST_EXPLORER_REQUEST * 3600.0
                    / per_hour
            } else {
                0.0
            },
            usd_total: requests as f64 * aws::USD_PER_COST_EXPLORER_REQUEST,
            metrics_requested: 0,
            requests,
        })
    }

    async fn run(self, tx: UpdateTx) {
        let src = SourceName::CostExplorer;
        let key = self.cache_key();
        let path = self.cache_path();
        let mut warning: Option<String> = None;
        let mut last: Option<CacheEntry> = match cache::load(&path, &key) {
            Ok(e) => e,
            Err(msg) => {
                tracing::warn!(target: "hybridtop::cost_explorer", "{msg}");
                warning = Some(format!("warning: {msg}"));
                let h = aws::health(src, SourceState::Connecting, None, warning.clone());
                if !aws::send(&tx, h).await {
                    return;
                }
                None
            }
        };
        let mut requests = 0u64;
        if let Some(e) = &last {
            // Cached figures at once, with their age (last_success = when they were fetched).
            for u in [
                self.billed(e),
                aws::health(src, SourceState::Ok, Some(e.fetched_at), None),
                self.spend(e.pages, requests),
            ] {
                if !aws::send(&tx, u).await {
                    return;
                }
            }
        }
        let profile = aws::profile_hint(&self.aws);
        let grouping = Grouping::from_config(&self.cfg);
        let mut client: Option<aws_sdk_costexplorer::Client> = None;
        let mut backoff = Backoff::new(self.tuning.aws.backoff_base, self.tuning.aws.backoff_cap);
        loop {
            let now = Utc::now();
            let interval = chrono::Duration::from_std(self.tuning.interval)
                .unwrap_or(chrono::Duration::hours(6));
            if let Some(e) = &last {
                let due = e.fetched_at + interval;
                if due > now {
                    let wait = (due - now).to_std().unwrap_or(Duration::from_secs(1));
                    if !aws::sleep_or_closed(&tx, wait).await {
                        return;
                    }
                    continue;
                }
            }
            let ce = match &client {
                Some(c) => c.clone(),
                None => {
                    let sdk = aws::sdk_config(&self.aws, &self.tuning.aws).await;
                    let c = aws::cost_explorer_client(&sdk);
                    client = Some(c.clone());
                    c
                }
            };
            let today = now.date_naive();
            let (start, end) = classify::period(today);
            let outcome = fetch(&ce, &grouping, start, end).await;
            let wait = match outcome {
                Ok((rows, pages)) => {
                    requests += pages;
                    backoff.reset();
                    let entry = CacheEntry {
                        version: cache::VERSION,
                        key: key.clone(),
                        start,
                        end,
                        today,
                        fetched_at: Utc::now(),
                        pages,
                        rows,
                    };
                    if let Err(e) = cache::store(&path, &entry) {
                        tracing::warn!(target: "hybridtop::cost_explorer",
                            "cannot write cache file {}: {e}", path.display());
                    }
                    let updates = [
                        self.billed(&entry),
                        aws::health(src, SourceState::Ok, Some(entry.fetched_at), None),
                        self.spend(pages, requests),
                    ];
                    last = Some(entry);
                    warning = None;
                    for u in updates {
                        if !aws::send(&tx, u).await {
                            return;
                        }
                    }
                    continue;
                }
                Err((e, pages)) => {
                    requests += pages;
                    let f: AwsFailure = aws::describe(
                        &e,
                        "Cost Explorer",
                        "ce:GetCostAndUsage",
                        profile.as_deref(),
                    );
                    tracing::warn!(target: "hybridtop::cost_explorer", "{}", f.message);
                    let msg = match &warning {
                        Some(w) => format!("{}; {w}", f.message),
                        None => f.message,
                    };
                    for u in [aws::failed(src, f.kind, msg), self.spend(1, requests)] {
                        if !aws::send(&tx, u).await {
                            return;
                        }
                    }
                    backoff.next_delay()
                }
            };
            if !aws::sleep_or_closed(&tx, wait).await {
                return;
            }
        }
    }
}
