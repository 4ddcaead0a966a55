//! Alerts: thresholds from `[alerts]` applied to the derived path views, sessions and sources.
use crate::config::AlertsConfig;
use crate::model::snapshot::{Alert, PathView, Severity, SourceStatus};
use crate::model::update::SourceState;

/// A number as people write thresholds: `200`, `2.5`, `0.25`.
pub fn num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 && v.abs() < 1e15 {
        format!("{}", v.round() as i64)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn pct(v: f64) -> String {
    format!("{}%", num((v * 1000.0).round() / 10.0))
}

fn path_alert(sev: Severity, code: &str, p: &PathView, message: String) -> Alert {
    Alert {
        severity: sev,
        code: code.into(),
        path: Some(p.id.clone()),
        message,
        since: None,
    }
}

/// All alerts, crit first, then in path order (path alerts before global ones), then by code.
pub fn evaluate(
    cfg: &AlertsConfig,
    paths: &[PathView],
    context_loss_rate: Option<f64>,
    sources: &[SourceStatus],
) -> Vec<Alert> {
    // (severity, order, alert): order = path index, or paths.len() + n for the rest.
    let mut out: Vec<(Severity, usize, Alert)> = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        if let Some(p95) = p.latency_ms.p95 {
            let over = if p95 > cfg.p95_ms_crit {
                Some((Severity::Crit, cfg.p95_ms_crit))
            } else if p95 > cfg.p95_ms_warn {
                Some((Severity::Warn, cfg.p95_ms_warn))
            } else {
                None
            };
            if let Some((sev, thr)) = over {
                let msg = format!("{} p95 {} ms > {} ms", p.id, num(p95.round()), num(thr));
                out.push((sev, i, path_alert(sev, "p95_over_threshold", p, msg)));
            }
        }
        if let Some(er) = p.error_rate {
            let over = if er > cfg.error_rate_crit {
                Some((Severity::Crit, cfg.error_rate_crit))
            } else if er > cfg.error_rate_warn {
                Some((Severity::Warn, cfg.error_rate_warn))
            } else {
                None
            };
            if let Some((sev, thr)) = over {
                let msg = format!("{} error rate {} > {}", p.id, pct(er), pct(thr));
                out.push((sev, i, path_alert(sev, "error_rate", p, msg)));
            }
        }
        if p.throttles_per_minute > cfg.throttles_per_minute_warn {
            let msg = format!(
                "{} throttled {}/min > {}/min",
                p.id,
                num((p.throttles_per_minute * 10.0).round() / 10.0),
                num(cfg.throttles_per_minute_warn)
            );
            out.push((
                Severity::Warn,
                i,
                path_alert(Severity::Warn, "throttling", p, msg),
            ));
        }
    }
    let mut n = paths.len();
    if let Some(cl) = context_loss_rate {
        if cl > cfg.context_loss_warn {
            out.push((
                Severity::Warn,
                n,
                Alert {
                    severity: Severity::Warn,
                    code: "context_loss".into(),
                    path: None,
                    message: format!(
                        "context loss {} of hybrid sessions > {}",
                        pct(cl),
                        pct(cfg.context_loss_warn)
                    ),
                    since: None,
                },
            ));
        }
    }
    for s in sources {
        n += 1;
        let what = match s.state {
            SourceState::Error => match &s.error {
                Some(e) => format!("{} error: {}", s.name, short(e)),
                None => format!("{} error", s.name),
            },
            SourceState::Stale => match s.age_seconds {
                Some(a) => format!("{} stale: data {} s old", s.name, num(a.round())),
                None => format!("{} stale", s.name),
            },
            _ => continue,
        };
        out.push((
            Severity::Warn,
            n,
            Alert {
                severity: Severity::Warn,
                code: "source_unhealthy".into(),
                path: None,
                message: what,
                since: None,
            },
        ));
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    out.into_iter().map(|(_, _, a)| a).collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::path::{PathId, Side};
    use crate::model::snapshot::{PathCost, PathHistory, Quantiles};
    use crate::model::update::SourceName;

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
            history: PathHistory::default(),
        }
    }

    #[test]
    fn thresholds_and_order() {
        let cfg = AlertsConfig::default();
        let paths = [
            pv("eks-qwen3", Some(150.0), Some(0.001), 0.0),
            pv("agentcore-haiku", Some(240.4), Some(0.062), 3.24),
            pv("agentcore-sonnet", Some(100.0), None, 1.0),
        ];
        let sources = [SourceStatus {
            name: SourceName::Langfuse,
            state: SourceState::Error,
            last_success: None,
            age_seconds: None,
            error: Some("HTTP 401".into()),
            simulated: false,
        }];
        let a = evaluate(&cfg, &paths, Some(0.075), &sources);
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
        assert!(evaluate(&cfg, &[], None, &[]).is_empty());
    }

    #[test]
    fn numbers() {
        assert_eq!(num(200.0), "200");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(pct(0.05), "5%");
    }
}
