//! `mcp-privatelink-degraded`: what the CloudWatch source would report about the AgentCore
//! Gateway's tool targets, Identity token fetches, Memory and the alarms, once a minute. The
//! in-VPC MCP target (served from EKS over PrivateLink) slows with the scenario's intensity; the
//! AgentCore requests that call it wait for it (`serve.rs`), so AgentCore p95 follows; an alarm
//! on the runtime's latency fires at the peak.
use super::*;
use crate::model::agentcore::{
    AgentcoreBatch, Alarm, AlarmsReport, IdentityMinute, MemoryMinute, Pct, ToolMinute,
};
use std::collections::BTreeMap;

/// Share of AgentCore turns that call the in-VPC MCP tool.
pub(super) const TOOL_SHARE: f64 = 0.6;
pub(super) const GATEWAY: &str =
    "arn:aws:bedrock-agentcore:us-east-2:123456789012:gateway/ops-gateway-Gw7K2";
pub(super) const IN_VPC_TARGET: &str = "crm-lookup";
const MEMORY: &str = "arn:aws:bedrock-agentcore:us-east-2:123456789012:memory/hybrid_memory-Q1w2E3";
pub(super) const RUNTIME_ALARM: &str = "hybrid-agentcore-p95-high";
const TARGET_ALARM: &str = "hybrid-gw-crm-lookup-target-time";

pub(super) struct McpSim {
    rng: ChaCha8Rng,
    /// The runtime the latency alarm watches (the first AgentCore path's).
    runtime_arn: Option<String>,
    since: BTreeMap<&'static str, (String, DateTime<Utc>)>,
}

impl McpSim {
    pub(super) fn new(config: &Config, seed: u64) -> McpSim {
        McpSim {
            rng: stream(seed, 6),
            runtime_arn: config
                .paths
                .iter()
                .filter(|p| p.kind == Side::Agentcore)
                .find_map(|p| p.agentcore.as_ref()?.runtime_arn.clone()),
            since: BTreeMap::new(),
        }
    }

    /// `(state, since)` of an alarm, the since moving only when the state changes.
    fn state(
        &mut self,
        name: &'static str,
        on: bool,
        now: DateTime<Utc>,
    ) -> (String, DateTime<Utc>) {
        let want = if on { "ALARM" } else { "OK" };
        let e = self
            .since
            .entry(name)
            .or_insert_with(|| (want.to_string(), now));
        if e.0 != want {
            *e = (want.to_string(), now);
        }
        e.clone()
    }
}

fn pct(p50: f64, p90: f64, p99: f64) -> Pct {
    Pct {
        p50: Some(round2(p50)),
        p90: Some(round2(p90)),
        p99: Some(round2(p99)),
    }
}

impl Simulator {
    /// One minute of Gateway, Identity and Memory figures and the alarms, in every scenario
    /// (from its own random stream, so nothing else changes); only `mcp-privatelink-degraded`
    /// slows the in-VPC target.
    pub(super) fn agentcore_updates(&mut self, t: u64, now: DateTime<Utc>, out: &mut Vec<Update>) {
        let extra = self.scenario.mcp_extra_ms(t);
        // This incident's own intensity: other scenarios leave the gateway healthy.
        let intensity = extra / scenario::MCP_EXTRA_PEAK_MS;
        let shape = daily_shape(now);
        let m = &mut self.mcp;
        let r = &mut m.rng;
        let mut tools = Vec::new();
        for (target, in_vpc, rpm, base) in [
            (IN_VPC_TARGET, true, 90.0, 60.0),
            ("web-search", false, 140.0, 210.0),
            ("kb-retrieve", false, 60.0, 80.0),
        ] {
            let x = if in_vpc { extra } else { 0.0 };
            let jitter = r.random_range(0.95..1.05);
            let p90 = (base + x) * jitter;
            let invocations = poisson(r, rpm * shape);
            tools.push(ToolMinute {
                gateway: GATEWAY.into(),
                target: target.into(),
                in_vpc,
                invocations,
                server_errors: poisson(r, 0.3 + if in_vpc { 6.0 * intensity } else { 0.0 }),
                client_errors: poisson(r, 0.2),
                throttles: 0,
                latency_ms: pct(0.55 * p90 + 12.0, p90 + 12.0, 1.6 * p90 + 12.0),
                duration_ms: pct(0.55 * p90 + 25.0, p90 + 25.0, 1.6 * p90 + 25.0),
                target_execution_ms: pct(0.55 * p90, p90, 1.6 * p90),
            });
        }
        let identity = IdentityMinute {
            successes: poisson(r, 300.0 * shape),
            failures: BTreeMap::from([("ValidationException".to_string(), poisson(r, 0.5))]),
        };
        let memory = vec![MemoryMinute {
            resource: MEMORY.into(),
            invocations: poisson(r, 200.0 * shape),
            errors: poisson(r, 0.2),
            throttles: 0,
            latency_ms: pct(45.0 * r.random_range(0.95..1.05), 90.0, 160.0),
        }];
        out.push(Update::Agentcore(AgentcoreBatch {
            start: now - ChronoDuration::seconds(CLOUDWATCH_EVERY_S as i64),
            end: now,
            namespace: Some("AWS/Bedrock-AgentCore".into()),
            tools,
            identity: Some(identity),
            memory,
        }));
        let (rt_state, rt_since) = m.state(RUNTIME_ALARM, intensity >= 0.5, now);
        let (tg_state, tg_since) = m.state(TARGET_ALARM, intensity >= 0.3, now);
        let mut alarms = vec![Alarm {
            name: TARGET_ALARM.into(),
            state: tg_state,
            reason: format!(
                "Threshold Crossed: 3 out of the last 3 datapoints were greater than the threshold (500.0) on TargetExecutionTime p90 of {IN_VPC_TARGET}"
            ),
            since: Some(tg_since),
            namespace: Some("AWS/Bedrock-AgentCore".into()),
            metric: Some("TargetExecutionTime".into()),
            dimensions: vec![
                ("Name".into(), format!("{IN_VPC_TARGET}___lookup_account")),
                ("Resource".into(), GATEWAY.into()),
            ],
        }];
        if let Some(arn) = m.runtime_arn.clone() {
            alarms.push(Alarm {
                name: RUNTIME_ALARM.into(),
                state: rt_state,
                reason: "Threshold Crossed: 3 out of the last 3 datapoints were greater than the threshold (200.0) on Latency p95".into(),
                since: Some(rt_since),
                namespace: Some("AWS/Bedrock-AgentCore".into()),
                metric: Some("Latency".into()),
                dimensions: vec![("Resource".into(), arn)],
            });
        }
        // As DescribeAlarms answers for StateValue ALARM and INSUFFICIENT_DATA: no OK alarms.
        alarms.retain(|a| a.state != "OK");
        out.push(Update::Alarms(AlarmsReport {
            total: alarms.len() as u64,
            alarms,
            truncated: false,
            error: None,
        }));
    }
}
