//! `hybridtop check`, its AWS part: the probes that tell an operator whether the CloudWatch and
//! Cost Explorer sources can work with these credentials, before the dashboard needs them. Kept
//! apart from `aws` (the shared client) because it calls into both sources.
use super::aws::{
    cloudwatch_client, cost_explorer_client, describe, login_hint, profile_hint, scrub, sdk_config,
    short, AwsTuning, FailureKind, COST_EXPLORER_REGION,
};
use super::CheckLine;
use crate::config::Config;
use aws_sdk_cloudwatch::error::DisplayErrorContext;

/// `hybridtop check`, its AWS part: credentials resolvable, CloudWatch reachable and each
/// configured resource found by ListMetrics, GetMetricData permitted, Cost Explorer permitted.
/// One line per check; an absent `[aws]` section gives one line saying the sources are
/// disabled. Costs at most a few ListMetrics requests, one GetMetricData metric and one Cost
/// Explorer request ($0.01).
pub async fn check(cfg: &Config) -> Vec<CheckLine> {
    check_with(cfg, &AwsTuning::default()).await
}

/// [`check`] with explicit timeouts (tests).
pub async fn check_with(cfg: &Config, tuning: &AwsTuning) -> Vec<CheckLine> {
    let mut out = Vec::new();
    let Some(aws) = cfg.aws.as_ref() else {
        out.push(CheckLine {
            source: "aws",
            check: "[aws] section".into(),
            ok: true,
            detail: "absent: the cloudwatch and cost_explorer sources are disabled".into(),
        });
        return out;
    };
    let profile = profile_hint(aws);
    let sdk = sdk_config(aws, tuning).await;
    // Credentials.
    let creds_ok = match sdk.credentials_provider() {
        None => {
            out.push(CheckLine {
                source: "aws",
                check: "credentials resolvable".into(),
                ok: false,
                detail: format!(
                    "no credential provider — {}",
                    login_hint(profile.as_deref())
                ),
            });
            false
        }
        Some(p) => {
            use aws_credential_types::provider::ProvideCredentials;
            let res = tokio::time::timeout(tuning.operation_timeout, p.provide_credentials()).await;
            match res {
                Ok(Ok(_)) => {
                    let region = sdk
                        .region()
                        .map(|r| r.to_string())
                        .unwrap_or_else(|| "no region".into());
                    let via = profile
                        .as_deref()
                        .map(|p| format!("profile {p}"))
                        .unwrap_or_else(|| "the default chain".into());
                    out.push(CheckLine {
                        source: "aws",
                        check: "credentials resolvable".into(),
                        ok: true,
                        detail: format!("resolved through {via}; region {region}"),
                    });
                    true
                }
                Ok(Err(e)) => {
                    let detail = DisplayErrorContext(&e).to_string();
                    let what = if detail.to_ascii_lowercase().contains("expired") {
                        "credentials expired"
                    } else {
                        "cannot resolve credentials"
                    };
                    out.push(CheckLine {
                        source: "aws",
                        check: "credentials resolvable".into(),
                        ok: false,
                        detail: scrub(&format!(
                            "{what} — {} ({})",
                            login_hint(profile.as_deref()),
                            short(&detail)
                        )),
                    });
                    false
                }
                Err(_) => {
                    out.push(CheckLine {
                        source: "aws",
                        check: "credentials resolvable".into(),
                        ok: false,
                        detail: format!(
                            "timed out resolving credentials — {}",
                            login_hint(profile.as_deref())
                        ),
                    });
                    false
                }
            }
        }
    };
    if !creds_ok {
        return out;
    }
    // CloudWatch: one ListMetrics per configured resource.
    let cw = cloudwatch_client(&sdk);
    let resources = crate::sources::cloudwatch::plan::resources(cfg);
    if resources.is_empty() {
        out.push(CheckLine {
            source: "cloudwatch",
            check: "configured resources".into(),
            ok: true,
            detail: "no [paths.agentcore] runtime_arn or model_id configured: nothing to fetch"
                .into(),
        });
    }
    let mut reachable = true;
    for r in &resources {
        let label = r.describe();
        match crate::sources::cloudwatch::list_resource(&cw, r).await {
            Ok((metrics, _calls)) if !metrics.is_empty() => out.push(CheckLine {
                source: "cloudwatch",
                check: format!("ListMetrics finds {label}"),
                ok: true,
                detail: format!("{} metrics in {}", metrics.len(), r.namespace()),
            }),
            Ok(_) => out.push(CheckLine {
                source: "cloudwatch",
                check: format!("ListMetrics finds {label}"),
                ok: false,
                detail: format!(
                    "no metrics in {} — check the id and aws.region ({}), or it has had no traffic in two weeks",
                    r.namespace(),
                    aws.region.as_deref().unwrap_or("default region")
                ),
            }),
            Err(e) => {
                let f = describe(&e, "CloudWatch", "cloudwatch:ListMetrics", profile.as_deref());
                out.push(CheckLine {
                    source: "cloudwatch",
                    check: format!("ListMetrics finds {label}"),
                    ok: false,
                    detail: f.message,
                });
                if matches!(f.kind, FailureKind::Network | FailureKind::Timeout) {
                    reachable = false;
                    break;
                }
            }
        }
    }
    if reachable {
        if let Some(r) = resources.first() {
            let line = match crate::sources::cloudwatch::probe_get_metric_data(&cw, r).await {
                Ok(()) => CheckLine {
                    source: "cloudwatch",
                    check: "GetMetricData permitted".into(),
                    ok: true,
                    detail: "one metric requested ($0.00001)".into(),
                },
                Err(e) => CheckLine {
                    source: "cloudwatch",
                    check: "GetMetricData permitted".into(),
                    ok: false,
                    detail: describe(
                        &e,
                        "CloudWatch",
                        "cloudwatch:GetMetricData",
                        profile.as_deref(),
                    )
                    .message,
                },
            };
            out.push(line);
        }
    }
    if reachable {
        out.extend(agentcore_lines(cfg, &cw, profile.as_deref()).await);
    }
    // Cost Explorer.
    let ce = cost_explorer_client(&sdk);
    let line = match crate::sources::cost_explorer::probe(&ce).await {
        Ok(()) => CheckLine {
            source: "cost_explorer",
            check: "GetCostAndUsage permitted".into(),
            ok: true,
            detail: format!(
                "answered from {COST_EXPLORER_REGION} (one request, $0.01); cached for {}",
                humantime::format_duration(aws.cost_explorer_interval)
            ),
        },
        Err(e) => CheckLine {
            source: "cost_explorer",
            check: "GetCostAndUsage permitted".into(),
            ok: false,
            detail: describe(
                &e,
                "Cost Explorer",
                "ce:GetCostAndUsage",
                profile.as_deref(),
            )
            .message,
        },
    };
    out.push(line);
    out
}

/// `[agentcore]`: which namespace spelling holds each resource's metrics (a resource with none
/// under any spelling is a failing line that names it), then DescribeAlarms for
/// `[aws] alarm_prefixes`.
async fn agentcore_lines(
    cfg: &Config,
    cw: &aws_sdk_cloudwatch::Client,
    profile: Option<&str>,
) -> Vec<CheckLine> {
    use crate::sources::cloudwatch::{agentcore, alarms};
    let mut out = Vec::new();
    if !agentcore::resources(cfg.agentcore.as_ref()).is_empty() {
        match agentcore::discover(cw, cfg.agentcore.as_ref()).await {
            Ok((d, _)) => {
                for (r, ns, found) in &d.found {
                    out.push(CheckLine {
                        source: "cloudwatch",
                        check: format!("AgentCore {} namespace", r.kind()),
                        ok: ns.is_some(),
                        detail: match ns {
                            Some(ns) => {
                                format!("{}: {} metrics found in {ns}", r.describe(), found.len())
                            }
                            None => format!(
                                "{}: no metrics under any of {} — check the ARN and aws.region",
                                r.describe(),
                                crate::model::agentcore::NAMESPACES.join(", ")
                            ),
                        },
                    });
                }
            }
            Err((e, _)) => out.push(CheckLine {
                source: "cloudwatch",
                check: "AgentCore namespaces".into(),
                ok: false,
                detail: describe(&e, "CloudWatch", "cloudwatch:ListMetrics", profile).message,
            }),
        }
    }
    let prefixes = cfg
        .aws
        .as_ref()
        .map(|a| a.alarm_prefixes.clone())
        .unwrap_or_default();
    if prefixes.iter().any(|p| !p.trim().is_empty()) {
        out.push(match alarms::describe(cw, &prefixes).await {
            Ok((r, calls)) => CheckLine {
                source: "cloudwatch",
                check: "DescribeAlarms permitted".into(),
                ok: true,
                detail: format!(
                    "{}{} alarms in ALARM or INSUFFICIENT_DATA for {} ({calls} requests)",
                    r.total,
                    if r.truncated { "+" } else { "" },
                    prefixes.join(", ")
                ),
            },
            Err((e, _)) => CheckLine {
                source: "cloudwatch",
                check: "DescribeAlarms permitted".into(),
                ok: false,
                detail: describe(&e, "CloudWatch", "cloudwatch:DescribeAlarms", profile).message,
            },
        });
    }
    out
}
