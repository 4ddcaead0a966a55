//! Alerts: thresholds from `[alerts]` (with `[alerts.paths.<id>]` overrides) applied to the
//! derived path views, sessions, cost and sources. `since` is filled in by the state, which
//! remembers when each alert began (in data time); the bell tracker decides when a new critical
//! alert rings.
use crate::config::AlertsConfig;
use crate::model::agentcore;
use crate::model::snapshot::{Alert, PathView, Severity, SourceStatus};
use crate::model::update::{SourceName, SourceState};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// A number as people write thresholds: `200`, `2.5`, `0.25`.
pub fn num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 && v.abs() < 1e15 {
        format!("{}", v.round() as i64)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// `6.2%`, and below 1 % two decimals so a 0.05 % threshold does not read as 0.1 %.
fn pct(v: f64) -> String {
    if v.abs() < 0.01 {
        format!("{}%", num((v * 10_000.0).round() / 100.0))
    } else {
        format!("{}%", num((v * 1000.0).round() / 10.0))
    }
}

fn path_alert(sev: Severity, code: &str, p: &PathView, message: String) -> Alert {
    Alert {
        severity: sev,
        code: code.into(),
        path: Some(p.id.clone()),
        message,
        since: None,
        source: None,
    }
}

fn global_alert(sev: Severity, code: &str, message: String) -> Alert {
    Alert {
        severity: sev,
        code: code.into(),
        path: None,
        message,
        since: None,
        source: None,
    }
}

/// Crit above `crit`, warn above `warn`, with the threshold crossed.
fn level(v: f64, warn: f64, crit: f64) -> Option<(Severity, f64)> {
    if v > crit {
        Some((Severity::Crit, crit))
    } else if v > warn {
        Some((Severity::Warn, warn))
    } else {
        None
    }
}

/// What the rules look at besides the paths.
#[derive(Clone, Copy, Debug, Default)]
pub struct Inputs<'a> {
    pub context_loss_rate: Option<f64>,
    /// Estimated $/h over all paths.
    pub estimated_usd_per_hour: Option<f64>,
    pub sources: &'a [SourceStatus],
    /// Each source's polling interval (stale = older than `stale_intervals` of these).
    pub intervals: &'a [(SourceName, Duration)],
    /// Requests in each path's window, in path order (missing: judged as enough).
    pub requests: &'a [f64],
    /// Why the router's stored weights are not a valid split, if they are not.
    pub router_invalid: Option<&'a str>,
}

/// All alerts, crit first, then in path order (path alerts before global ones), then by code.
/// (The state re-sorts newest first within a severity once it knows when each began.)
pub fn evaluate(cfg: &AlertsConfig, paths: &[PathView], i: &Inputs) -> Vec<Alert> {
    // (severity, order, alert): order = path index, or paths.len() + n for the rest.
    let mut out: Vec<(Severity, usize, Alert)> = Vec::new();
    for (idx, p) in paths.iter().enumerate() {
        let t = cfg.for_path(&p.id);
        let enough = i
            .requests
            .get(idx)
            .is_none_or(|n| *n >= f64::from(cfg.min_requests));
        if let Some(p95) = p.latency_ms.p95.filter(|v| v.is_finite() && enough) {
            if let Some((sev, thr)) = level(p95, t.p95_ms_warn, t.p95_ms_crit) {
                let msg = format!("{} p95 {} ms > {} ms", p.id, num(p95.round()), num(thr));
                out.push((sev, idx, path_alert(sev, "p95_over_threshold", p, msg)));
            }
        }
        if let Some(er) = p.error_rate.filter(|v| v.is_finite() && enough) {
            if let Some((sev, thr)) = level(er, t.error_rate_warn, t.error_rate_crit) {
                let msg = format!("{} error rate {} > {}", p.id, pct(er), pct(thr));
                out.push((sev, idx, path_alert(sev, "error_rate", p, msg)));
            }
        }
        let thr_pm = p.throttles_per_minute;
        if thr_pm.is_finite() {
            if let Some((sev, thr)) = level(
                thr_pm,
                t.throttles_per_minute_warn,
                t.throttles_per_minute_crit,
            ) {
                let msg = format!(
                    "{} throttled {}/min > {}/min",
                    p.id,
                    num((thr_pm * 10.0).round() / 10.0),
                    num(thr)
                );
                out.push((sev, idx, path_alert(sev, "throttling", p, msg)));
            }
        }
        // vLLM's fullest pod (Prometheus): from ~90 % requests get preempted.
        let kv = p.engine.as_ref().and_then(|e| e.figures.kv_cache_usage);
        if let Some(kv) = kv.filter(|v| v.is_finite()) {
            let hit = if kv >= cfg.kv_cache_crit {
                Some((Severity::Crit, cfg.kv_cache_crit))
            } else if kv >= cfg.kv_cache_warn {
                Some((Severity::Warn, cfg.kv_cache_warn))
            } else {
                None
            };
            if let Some((sev, thr)) = hit {
                let msg = format!("{} KV cache {} ≥ {} (engine)", p.id, pct(kv), pct(thr));
                out.push((sev, idx, path_alert(sev, "kv_cache", p, msg)));
            }
        }
    }
    let mut n = paths.len();
    if let Some(cl) = i.context_loss_rate.filter(|v| v.is_finite()) {
        if let Some((sev, thr)) = level(cl, cfg.context_loss_warn, cfg.context_loss_crit) {
            let msg = format!("context loss {} of hybrid sessions > {}", pct(cl), pct(thr));
            out.push((sev, n, global_alert(sev, "context_loss", msg)));
        }
    }
    n += 1;
    if let (Some(budget), Some(usd)) = (
        cfg.budget_usd_per_hour,
        i.estimated_usd_per_hour.filter(|v| v.is_finite()),
    ) {
        if let Some((sev, thr)) = level(usd, budget, budget * cfg.budget_crit_ratio) {
            let over = if sev == Severity::Crit {
                format!("{} × budget", num(cfg.budget_crit_ratio))
            } else {
                "budget".to_string()
            };
            let msg = format!(
                "cost burn ${usd:.2}/h > {over} ${thr:.2}/h (est. {}/month)",
                crate::model::advisor::usd0(usd * crate::model::cost::HOURS_PER_MONTH)
            );
            out.push((sev, n, global_alert(sev, "cost_burn", msg)));
        }
    }
    n += 1;
    if let Some(why) = i.router_invalid {
        let msg = format!(
            "router weights invalid: {} (a change needs force)",
            short(why)
        );
        out.push((
            Severity::Crit,
            n,
            global_alert(Severity::Crit, "router_weights_invalid", msg),
        ));
    }
    for s in i.sources {
        n += 1;
        let interval = i
            .intervals
            .iter()
            .find(|(name, _)| *name == s.name)
            .map(|(_, d)| *d);
        let (code, what) = match s.state {
            SourceState::Error => (
                "source_unhealthy",
                match &s.error {
                    Some(e) => format!("{} error: {}", s.name, short(e)),
                    None => format!("{} error", s.name),
                },
            ),
            // Stale for longer than N of its intervals: one late answer is not an alert.
            SourceState::Ok | SourceState::Stale => {
                let (Some(age), Some(iv)) = (s.age_seconds, interval) else {
                    continue;
                };
                // A silent collector silences every source at once: two intervals, not N.
                let n = if s.name == SourceName::Collector {
                    2
                } else {
                    cfg.stale_intervals.max(1)
                };
                if age <= iv.as_secs_f64() * f64::from(n) {
                    continue;
                }
                if s.name == SourceName::Collector {
                    (
                        "source_stale",
                        format!(
                            "collector silent for {} s: nothing below is current (> 2 × {})",
                            num(age.round()),
                            humantime::format_duration(iv)
                        ),
                    )
                } else {
                    (
                        "source_stale",
                        format!(
                            "{} stale: data {} s old (> {} × {})",
                            s.name,
                            num(age.round()),
                            n,
                            humantime::format_duration(iv)
                        ),
                    )
                }
            }
            _ => continue,
        };
        let mut a = global_alert(Severity::Warn, code, what);
        a.source = Some(s.name);
        out.push((Severity::Warn, n, a));
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    out.into_iter().map(|(_, _, a)| a).collect()
}

/// Remembers when each active alert began, as judged at bucket boundaries of data time (see
/// `State::judge`): set when a judgement first sees it, kept while it lasts (whatever its
/// severity does), forgotten once a judgement finds it cleared. Kept in data time, not at
/// derive, so a live run, its replay and a seek into it give the same `since`.
#[derive(Clone, Debug, Default)]
pub struct SinceTracker {
    started: BTreeMap<String, DateTime<Utc>>,
}

impl SinceTracker {
    /// Fill in `since` and order the alerts by severity, newest first, stably. An alert no
    /// judgement has seen yet began after the last one: it gets `fresh` (that judgement's time).
    pub fn stamp(&self, alerts: &mut [Alert], fresh: DateTime<Utc>) {
        for a in alerts.iter_mut() {
            a.since = Some(self.started.get(&a.key()).copied().unwrap_or(fresh));
        }
        alerts.sort_by(|a, b| b.severity.cmp(&a.severity).then(b.since.cmp(&a.since)));
    }

    /// Remember the stamped alerts of a judgement; forget the ones it no longer shows.
    pub fn note(&mut self, alerts: &[Alert]) {
        self.started = alerts
            .iter()
            .filter_map(|a| a.since.map(|s| (a.key(), s)))
            .collect();
    }
}

/// Decides when the terminal bell rings: once when an alert turns critical — not again while
/// that alert lasts, even if it drops to a warning and comes back (a flapping p95 must not ring
/// every few seconds) — and never while `[alerts] bell` is off.
#[derive(Debug, Default)]
pub struct BellTracker {
    /// Active alerts that have rung.
    rung: BTreeSet<String>,
}

impl BellTracker {
    pub fn observe(&mut self, enabled: bool, alerts: &[Alert]) -> bool {
        let active: BTreeSet<String> = alerts.iter().map(Alert::key).collect();
        self.rung.retain(|k| active.contains(k));
        let mut ring = false;
        for a in alerts.iter().filter(|a| a.severity == Severity::Crit) {
            ring |= self.rung.insert(a.key());
        }
        enabled && ring
    }
}

fn short(s: &str) -> String {
    const MAX: usize = 80;
    if s.chars().count() <= MAX {
        return s.to_string();
    }
    let mut t: String = s.chars().take(MAX - 1).collect();
    t.push('…');
    t
}

/// Alerts from the AgentCore figures: a slow tool target, OAuth propagation failing.
pub fn agentcore(v: &agentcore::AgentcoreView, crit_ms: f64) -> Vec<Alert> {
    let mut out = Vec::new();
    if let (Some(msg), Some(t)) = (&v.verdict, v.tools.first()) {
        let p90 = t.target_execution_ms.p90.unwrap_or(0.0);
        let severity = if p90 > crit_ms.max(agentcore::TOOL_SLOW_MS) * 2.0 {
            Severity::Crit
        } else {
            Severity::Warn
        };
        out.push(Alert {
            severity,
            code: "tool_slow".into(),
            path: None,
            message: msg.clone(),
            since: None,
            source: None,
        });
    }
    if let Some(i) = &v.identity {
        if let Some(rate) = i.failure_rate.filter(|r| {
            *r > agentcore::IDENTITY_FAILURE_WARN && i.failures >= agentcore::IDENTITY_MIN_FAILURES
        }) {
            let top = i
                .failures_by_type
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(k, n)| format!(", mostly {k} ({n})"))
                .unwrap_or_default();
            out.push(Alert {
                severity: if rate > agentcore::IDENTITY_FAILURE_CRIT {
                    Severity::Crit
                } else {
                    Severity::Warn
                },
                code: "identity_failures".into(),
                path: None,
                message: format!(
                    "OAuth propagation failing: {} of Identity token fetches fail ({} of {}){top}",
                    pct(rate),
                    i.failures,
                    i.successes + i.failures
                ),
                since: None,
                source: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::path::{PathId, Side};
    use crate::model::snapshot::{PathCost, PathHistory, Quantiles};

    fn pv(id: &str, p95: Option<f64>, er: Option<f64>, thr: f64) -> PathView {
        PathView {
            id: PathId::from(id),
            kind: Side::Eks,
            label: id.into(),
            weight: None,
            requests_per_minute: 10.0,
            observed_share: 0.5,
            observed_share_1m: 0.5,
            error_rate: er,
            throttles_per_minute: thr,
            latency_ms: Quantiles {
                p50: p95,
                p95,
                p99: p95,
            },
            cost: PathCost::default(),
            traffic_source: None,
            ready_pods: None,
            desired_pods: None,
            sessions_per_minute: None,
            data_through: None,
            engine: None,
            history: PathHistory::default(),
        }
    }

    fn src(name: SourceName, state: SourceState, age: Option<f64>) -> SourceStatus {
        SourceStatus {
            lag_seconds: None,
            interval_seconds: None,
            catching_up: None,
            name,
            state,
            last_success: None,
            age_seconds: age,
            error: (state == SourceState::Error).then(|| "HTTP 401".to_string()),
            simulated: false,
            permanent: false,
        }
    }

    fn inputs<'a>(
        cl: Option<f64>,
        usd: Option<f64>,
        sources: &'a [SourceStatus],
        intervals: &'a [(SourceName, Duration)],
    ) -> Inputs<'a> {
        Inputs {
            context_loss_rate: cl,
            estimated_usd_per_hour: usd,
            sources,
            intervals,
            requests: &[],
            router_invalid: None,
        }
    }

    #[test]
    fn kv_cache_warns_at_80_and_is_critical_at_90_percent() {
        let cfg = AlertsConfig::default();
        let with_kv = |kv: Option<f64>| {
            let mut p = pv("eks", None, None, 0.0);
            p.engine = Some(crate::model::engine::EngineView {
                figures: crate::model::engine::EngineFigures {
                    kv_cache_usage: kv,
                    ..Default::default()
                },
                ..Default::default()
            });
            evaluate(&cfg, &[p], &Inputs::default())
        };
        assert!(with_kv(Some(0.79)).is_empty());
        assert!(with_kv(None).is_empty(), "unknown is not an alert");
        let a = with_kv(Some(0.8));
        assert_eq!(
            (a[0].code.as_str(), a[0].severity),
            ("kv_cache", Severity::Warn)
        );
        let a = with_kv(Some(0.9));
        assert_eq!(a[0].severity, Severity::Crit);
        assert_eq!(a[0].message, "eks KV cache 90% ≥ 90% (engine)");
    }

    #[test]
    fn thresholds_and_order() {
        let cfg = AlertsConfig::default();
        let paths = [
            pv("eks-qwen3", Some(150.0), Some(0.001), 0.0),
            pv("agentcore-haiku", Some(240.4), Some(0.062), 3.24),
            pv("agentcore-sonnet", Some(100.0), None, 1.0),
        ];
        let sources = [src(SourceName::Langfuse, SourceState::Error, None)];
        let a = evaluate(&cfg, &paths, &inputs(Some(0.075), None, &sources, &[]));
        let got: Vec<(Severity, &str, &str)> = a
            .iter()
            .map(|a| (a.severity, a.code.as_str(), a.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    Severity::Crit,
                    "p95_over_threshold",
                    "agentcore-haiku p95 240 ms > 200 ms"
                ),
                (
                    Severity::Crit,
                    "error_rate",
                    "agentcore-haiku error rate 6.2% > 5%"
                ),
                (
                    Severity::Warn,
                    "p95_over_threshold",
                    "eks-qwen3 p95 150 ms > 100 ms"
                ),
                (
                    Severity::Warn,
                    "throttling",
                    "agentcore-haiku throttled 3.2/min > 1/min"
                ),
                (
                    Severity::Warn,
                    "context_loss",
                    "context loss 7.5% of hybrid sessions > 5%"
                ),
                (
                    Severity::Warn,
                    "source_unhealthy",
                    "langfuse error: HTTP 401"
                ),
            ]
        );
        assert_eq!(a[5].source, Some(SourceName::Langfuse));
        assert!(evaluate(&cfg, &[], &Inputs::default()).is_empty());
    }

    #[test]
    fn per_path_overrides() {
        let cfg = crate::config::Config::from_toml(
            "[alerts]\np95_ms_warn = 100\np95_ms_crit = 200\n\
             [alerts.paths.eks-qwen3]\np95_ms_warn = 40\np95_ms_crit = 60\nerror_rate_warn = 0.0005\n",
            "t.toml",
        )
        .unwrap()
        .alerts;
        let paths = [
            pv("eks-qwen3", Some(50.0), Some(0.001), 0.0),
            pv("agentcore-haiku", Some(50.0), Some(0.001), 0.0),
        ];
        let a = evaluate(&cfg, &paths, &Inputs::default());
        let got: Vec<(Severity, &str, &str)> = a
            .iter()
            .map(|a| (a.severity, a.code.as_str(), a.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    Severity::Warn,
                    "p95_over_threshold",
                    "eks-qwen3 p95 50 ms > 40 ms"
                ),
                (
                    Severity::Warn,
                    "error_rate",
                    "eks-qwen3 error rate 0.1% > 0.05%"
                ),
            ]
        );
        // Crit at its own threshold, and only above.
        let at = evaluate(
            &cfg,
            &[pv("eks-qwen3", Some(60.0), None, 0.0)],
            &Inputs::default(),
        );
        assert_eq!(at[0].severity, Severity::Warn);
        let over = evaluate(
            &cfg,
            &[pv("eks-qwen3", Some(60.5), None, 0.0)],
            &Inputs::default(),
        );
        assert_eq!(over[0].severity, Severity::Crit);
        // An override for a path that does not exist is a config error naming the key.
        let e =
            crate::config::Config::from_toml("[alerts.paths.nope]\np95_ms_warn = 1\n", "t.toml")
                .unwrap_err()
                .to_string();
        assert!(e.contains("alerts.paths.nope"), "{e}");
        let e = crate::config::Config::from_toml(
            "[alerts.paths.eks-qwen3]\np95_ms_warn = 300\n",
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("alerts.paths.eks-qwen3.p95_ms_warn"), "{e}");
    }

    #[test]
    fn cost_burn_over_budget() {
        let mut cfg = AlertsConfig::default();
        let run = |cfg: &AlertsConfig, usd: f64| {
            evaluate(cfg, &[], &inputs(None, Some(usd), &[], &[]))
                .into_iter()
                .map(|a| (a.severity, a.message))
                .collect::<Vec<_>>()
        };
        assert!(run(&cfg, 1e6).is_empty(), "no budget, no alert");
        cfg.budget_usd_per_hour = Some(40.0);
        assert!(run(&cfg, 40.0).is_empty(), "at the budget is not over it");
        assert_eq!(
            run(&cfg, 41.74),
            [(
                Severity::Warn,
                "cost burn $41.74/h > budget $40.00/h (est. $30,470/month)".to_string()
            )]
        );
        assert!(run(&cfg, 60.0).iter().all(|(s, _)| *s == Severity::Warn));
        assert_eq!(run(&cfg, 60.01)[0].0, Severity::Crit);
    }

    #[test]
    fn stale_only_after_n_intervals() {
        let cfg = AlertsConfig::default(); // 3 intervals
        let iv = [(SourceName::Langfuse, Duration::from_secs(10))];
        let run = |state: SourceState, age: f64| {
            let s = [src(SourceName::Langfuse, state, Some(age))];
            evaluate(&cfg, &[], &inputs(None, None, &s, &iv))
        };
        assert!(run(SourceState::Stale, 29.0).is_empty());
        assert!(run(SourceState::Stale, 30.0).is_empty());
        let a = run(SourceState::Stale, 31.0);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].code, "source_stale");
        assert_eq!(a[0].message, "langfuse stale: data 31 s old (> 3 × 10s)");
        assert_eq!(a[0].source, Some(SourceName::Langfuse));
        // A source that says ok but whose data is that old alerts too.
        assert_eq!(run(SourceState::Ok, 31.0).len(), 1);
        // Connecting or disabled sources are not stale.
        assert!(run(SourceState::Connecting, 1e6).is_empty());
        assert!(run(SourceState::Disabled, 1e6).is_empty());
    }

    #[test]
    fn since_is_kept_while_an_alert_lasts_and_newest_come_first() {
        let t = |s: i64| chrono::DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::seconds(s);
        let mut tr = SinceTracker::default();
        let cfg = AlertsConfig::default();
        let mk = |p95a: f64, p95b: f64| {
            evaluate(
                &cfg,
                &[
                    pv("eks-qwen3", Some(p95a), None, 0.0),
                    pv("agentcore-haiku", Some(p95b), None, 0.0),
                ],
                &Inputs::default(),
            )
        };
        // A judgement: stamp, then remember.
        let judge = |tr: &mut SinceTracker, a: &mut Vec<Alert>, fresh: i64| {
            tr.stamp(a, t(fresh));
            tr.note(a);
        };
        let mut a = mk(150.0, 10.0);
        judge(&mut tr, &mut a, 100);
        assert_eq!(a[0].since, Some(t(100)));
        // Still on, now critical: same since. A second warn alert starts later and is listed
        // first among warnings (newest first).
        let mut a = mk(250.0, 120.0);
        judge(&mut tr, &mut a, 160);
        assert_eq!(
            a.iter()
                .map(|a| (a.severity, a.path.clone().unwrap().0, a.since))
                .collect::<Vec<_>>(),
            [
                (Severity::Crit, "eks-qwen3".to_string(), Some(t(100))),
                (Severity::Warn, "agentcore-haiku".to_string(), Some(t(160))),
            ]
        );
        let mut a = mk(120.0, 120.0);
        judge(&mut tr, &mut a, 200);
        // Both warn now: the newer one first.
        assert_eq!(a[0].path.as_ref().unwrap().as_str(), "agentcore-haiku");
        assert_eq!(a[1].since, Some(t(100)));
        // Stamping alone (a derive between judgements) remembers nothing.
        let mut between = mk(10.0, 10.0);
        tr.stamp(&mut between, t(210));
        let mut a = mk(120.0, 120.0);
        tr.stamp(&mut a, t(215));
        assert_eq!(a[1].since, Some(t(100)));
        // Cleared at a judgement, then back: it begins again.
        let mut a = mk(10.0, 10.0);
        judge(&mut tr, &mut a, 220);
        assert!(a.is_empty());
        let mut a = mk(150.0, 10.0);
        judge(&mut tr, &mut a, 230);
        assert_eq!(a[0].since, Some(t(230)));
    }

    #[test]
    fn p95_and_error_rate_wait_for_enough_requests() {
        let cfg = AlertsConfig::default();
        let paths = [pv("eks-qwen3", Some(500.0), Some(0.5), 40.0)];
        let at = |n: f64| {
            let a = evaluate(
                &cfg,
                &paths,
                &Inputs {
                    requests: &[n],
                    ..Inputs::default()
                },
            );
            a.iter().map(|a| a.code.clone()).collect::<Vec<_>>()
        };
        // 29 requests: too few to judge a p95 or an error rate; throttling still counts.
        assert_eq!(at(29.0), ["throttling"]);
        assert_eq!(at(30.0), ["p95_over_threshold", "error_rate", "throttling"]);
    }

    #[test]
    fn invalid_stored_router_weights_are_a_critical_alert() {
        let a = evaluate(
            &AlertsConfig::default(),
            &[],
            &Inputs {
                router_invalid: Some("'eks-qwen3' = 2147483648 is beyond 100 %"),
                ..Inputs::default()
            },
        );
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].severity, a[0].code.as_str()),
            (Severity::Crit, "router_weights_invalid")
        );
        assert!(a[0].message.contains("2147483648"), "{}", a[0].message);
    }

    #[test]
    fn bell_rings_once_per_new_crit_and_never_when_off() {
        let cfg = AlertsConfig::default();
        let mk = |p95: f64| {
            evaluate(
                &cfg,
                &[pv("eks-qwen3", Some(p95), None, 0.0)],
                &Inputs::default(),
            )
        };
        let mut on = BellTracker::default();
        let mut off = BellTracker::default();
        let seq = [50.0, 150.0, 250.0, 260.0, 150.0, 250.0, 50.0, 250.0];
        let rang: Vec<bool> = seq.iter().map(|&p| on.observe(true, &mk(p))).collect();
        // A warning does not ring; turning critical rings once; flapping back to a warning and
        // to critical again does not; once cleared, a new critical episode rings again.
        assert_eq!(rang, [false, false, true, false, false, false, false, true]);
        assert!(seq.iter().all(|&p| !off.observe(false, &mk(p))));
    }

    #[test]
    fn numbers() {
        assert_eq!(num(200.0), "200");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(pct(0.05), "5%");
    }
}
