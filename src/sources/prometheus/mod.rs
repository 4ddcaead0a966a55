//! The Prometheus source: vLLM engine figures of the EKS paths (queue, KV cache, TTFT and
//! end-to-end p95, generated tokens/s) from a Prometheus query API — Prometheus itself or an
//! Amazon Managed Service for Prometheus workspace — sent as `Update::Engine`.
//!
//! - **Names**: discovered per path (`/api/v1/label/__name__/values` with the path's selector as
//!   `match[]`), newest vLLM name first (`plan::Figure::candidates`); again every
//!   `REDISCOVER_EVERY` polls and whenever a path had no data.
//! - **Queries**: one batch of instant queries per interval (`plan::queries`), evaluated at the
//!   same instant, within a request budget (`max_requests_per_minute`).
//! - **Health**: `connecting`, then `ok` with `last_success`, or `error` with what to do; after a
//!   failure the next poll waits the interval doubled each time, up to `MAX_BACKOFF`.
//! - **Secrets**: the bearer token and the AWS credentials never reach a log, an error or check.
pub mod api;
mod check;
pub mod decode;
pub mod plan;

pub use check::check;

use crate::config::Config;
use crate::domain::path::{PathId, Side};
use crate::model::update::{SourceHealth, SourceName, SourceState, Update};
use crate::sources::budget::Budget;
use crate::sources::{Source, UpdateTx};
use api::{Api, PromError};
use chrono::{DateTime, Utc};
use plan::Names;
use std::time::Duration;
use tokio::task::JoinHandle;

const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Names are looked up again this often (a rolling vLLM upgrade renames them).
const REDISCOVER_EVERY: u64 = 20;

/// One EKS path with a selector.
#[derive(Clone, Debug)]
pub struct Target {
    pub path: PathId,
    pub selector: String,
}

/// The EKS paths that have `[paths.prometheus] selector`.
pub fn targets(cfg: &Config) -> Vec<Target> {
    cfg.paths
        .iter()
        .filter(|p| p.kind == Side::Eks)
        .filter_map(|p| {
            let s = p.prometheus.as_ref()?.selector.trim().to_string();
            (!s.is_empty()).then(|| Target {
                path: p.id.clone(),
                selector: s,
            })
        })
        .collect()
}

/// Polls Prometheus; sends `Update::Engine` per path and `Update::Health`.
#[derive(Debug)]
pub struct PrometheusSource {
    cfg: crate::config::PrometheusConfig,
    targets: Vec<Target>,
}

struct PathPoll {
    target: Target,
    names: Option<Names>,
}

fn health(state: SourceState, last: Option<DateTime<Utc>>, error: Option<String>) -> Update {
    Update::Health(SourceHealth {
        source: SourceName::Prometheus,
        state,
        last_success: last,
        error,
        permanent: false,
    })
}

fn failed(e: &PromError) -> Update {
    Update::Health(SourceHealth {
        source: SourceName::Prometheus,
        state: SourceState::Error,
        last_success: None,
        error: Some(e.to_string()),
        permanent: e.permanent(),
    })
}

impl PrometheusSource {
    /// `None` without a `[prometheus]` section.
    pub fn from_config(cfg: &Config) -> Option<PrometheusSource> {
        Some(PrometheusSource {
            cfg: cfg.prometheus.clone()?,
            targets: targets(cfg),
        })
    }

    async fn poll(
        api: &mut Api,
        paths: &mut [PathPoll],
        n: u64,
        window: Duration,
    ) -> Result<Vec<Update>, PromError> {
        let now = Utc::now();
        let time = now.timestamp_millis() as f64 / 1000.0;
        let mut out = Vec::new();
        for p in paths.iter_mut() {
            if p.names.is_none() || n.is_multiple_of(REDISCOVER_EVERY) {
                p.names = Some(plan::choose(&api.names(&p.target.selector).await?));
            }
            let names = p.names.clone().unwrap_or_default();
            let mut answers = Vec::new();
            for q in plan::queries(&p.target.selector, &names, window) {
                let samples = api.query(&q.promql, time).await?;
                answers.push((q, samples));
            }
            let r = plan::report(&p.target.path, &p.target.selector, now, &names, &answers);
            if !r.notes.is_empty() {
                // Look again next time: the pods may just have started.
                p.names = None;
            }
            out.push(Update::Engine(r));
        }
        Ok(out)
    }

    async fn run(self, tx: UpdateTx) {
        let cfg = self.cfg;
        if tx
            .send(health(SourceState::Connecting, None, None))
            .await
            .is_err()
        {
            return;
        }
        let base = match api::parse_base(&cfg.url) {
            Ok(b) => b,
            Err(e) => {
                let _ = tx.send(failed(&e)).await;
                return;
            }
        };
        let auth = match api::resolve_auth(&cfg, &base).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("prometheus: {e}");
                let _ = tx.send(failed(&e)).await;
                return;
            }
        };
        let budget = Budget::new(cfg.max_requests_per_minute, Duration::from_secs(60));
        let mut api = match Api::new(base, auth, budget, cfg.timeout) {
            Ok(a) => a,
            Err(e) => {
                let _ = tx.send(failed(&e)).await;
                return;
            }
        };
        let mut paths: Vec<PathPoll> = self
            .targets
            .into_iter()
            .map(|target| PathPoll {
                target,
                names: None,
            })
            .collect();
        let mut backoff = cfg.interval;
        let mut n: u64 = 0;
        loop {
            let started = tokio::time::Instant::now();
            let now = Utc::now();
            let outcome = tokio::select! {
                o = Self::poll(&mut api, &mut paths, n, cfg.rate_window) => o,
                _ = tx.closed() => return,
            };
            n += 1;
            let delay = match outcome {
                Ok(updates) => {
                    for u in updates {
                        if tx.send(u).await.is_err() {
                            return;
                        }
                    }
                    backoff = cfg.interval;
                    if tx
                        .send(health(SourceState::Ok, Some(now), None))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    cfg.interval
                }
                Err(e) => {
                    tracing::warn!("prometheus: {e}");
                    if tx.send(failed(&e)).await.is_err() {
                        return;
                    }
                    for p in &mut paths {
                        p.names = None;
                    }
                    let d = backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF).max(cfg.interval);
                    d
                }
            };
            tokio::select! {
                _ = tokio::time::sleep_until(started + delay) => {}
                _ = tx.closed() => return,
            }
        }
    }
}

impl Source for PrometheusSource {
    fn name(&self) -> &'static str {
        "prometheus"
    }

    fn spawn(self: Box<Self>, tx: UpdateTx) -> JoinHandle<()> {
        tokio::spawn(self.run(tx))
    }
}
