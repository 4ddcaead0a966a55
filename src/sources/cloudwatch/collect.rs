//! GetMetricData results → `Update`s: per path and minute a `Coverage` (the minute is final,
//! no datapoint means zero) and a `Traffic` batch stamped with the minute it describes; per
//! path and usage period a `Usage` batch with what is new since the last report. Pure.
use super::plan::{Field, Plan, Query, PERIOD_SECS, USAGE_PERIOD_SECS};
use crate::model::update::{Coverage, Latency, SourceName, TrafficBatch, Update, UsageBatch};
use chrono::{DateTime, TimeZone, Utc};
use std::collections::{BTreeMap, HashMap};

/// Datapoints per query id: `(epoch seconds, value)`.
pub type Results = HashMap<String, Vec<(i64, f64)>>;

/// Values per (resource, field, set) per timestamp.
struct Table {
    v: HashMap<(usize, Field, usize), BTreeMap<i64, f64>>,
    /// Dimension sets per (resource, field), to pair latency with the invocations of the same
    /// set.
    dims: HashMap<(usize, Field, usize), super::plan::Dims>,
}

impl Table {
    fn new<'a>(queries: impl Iterator<Item = &'a Query>, results: &Results) -> Table {
        let mut v: HashMap<(usize, Field, usize), BTreeMap<i64, f64>> = HashMap::new();
        let mut dims = HashMap::new();
        for q in queries {
            let key = (q.resource, q.field, q.set);
            dims.insert(key, q.dims.clone());
            let e = v.entry(key).or_default();
            for &(t, x) in results.get(&q.id).map(Vec::as_slice).unwrap_or(&[]) {
                if x.is_finite() {
                    e.insert(t, x);
                }
            }
        }
        Table { v, dims }
    }

    fn sets(&self, r: usize, f: Field) -> impl Iterator<Item = (usize, &BTreeMap<i64, f64>)> {
        self.v
            .iter()
            .filter(move |((rr, ff, _), _)| *rr == r && *ff == f)
            .map(|((_, _, s), m)| (*s, m))
    }

    /// Sum over the dimension sets at `t` (counts); 0 when no set has a datapoint.
    fn sum(&self, r: usize, f: Field, t: i64) -> f64 {
        self.sets(r, f)
            .filter_map(|(_, m)| m.get(&t))
            .map(|x| x.max(0.0))
            .sum()
    }

    /// Percentiles at `t`, combined over dimension sets weighted by the invocations of the
    /// same set (1 each when unknown).
    fn quantiles(&self, r: usize, fs: [Field; 3], weight_field: Field, t: i64) -> Option<[f64; 3]> {
        let mut acc = [0.0; 3];
        let mut total = 0.0;
        let mut sets: Vec<usize> = self.sets(r, fs[1]).map(|(s, _)| s).collect();
        sets.sort_unstable();
        for s in sets {
            let get = |f: Field| self.v.get(&(r, f, s)).and_then(|m| m.get(&t)).copied();
            let (Some(a), Some(b), Some(c)) = (get(fs[0]), get(fs[1]), get(fs[2])) else {
                continue;
            };
            let dims = self.dims.get(&(r, fs[1], s));
            let w = self
                .v
                .iter()
                .find(|((rr, ff, ss), _)| {
                    *rr == r && *ff == weight_field && self.dims.get(&(*rr, *ff, *ss)) == dims
                })
                .and_then(|(_, m)| m.get(&t))
                .copied()
                .filter(|w| *w > 0.0)
                .unwrap_or(1.0);
            acc[0] += a * w;
            acc[1] += b * w;
            acc[2] += c * w;
            total += w;
        }
        (total > 0.0).then(|| [acc[0] / total, acc[1] / total, acc[2] / total])
    }
}

fn ts(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

fn count(x: f64) -> u64 {
    if x.is_finite() && x > 0.0 {
        x.round() as u64
    } else {
        0
    }
}

/// Updates for the minutes `[start, end)` (epoch seconds, minute-aligned), in time order.
pub fn traffic_updates(plan: &Plan, results: &Results, start: i64, end: i64) -> Vec<Update> {
    let table = Table::new(plan.traffic.iter(), results);
    let mut out = Vec::new();
    let mut m = start;
    while m < end {
        // Token shares of models used by several paths: by each path's runtime invocations in
        // the minute (evenly when unknown), so a shared model's tokens are not counted twice.
        let mut users: HashMap<usize, Vec<(usize, f64)>> = HashMap::new();
        for (pi, p) in plan.paths.iter().enumerate() {
            if let Some(md) = p.model {
                let w = p
                    .runtime
                    .map_or(0.0, |rt| table.sum(rt, Field::Invocations, m));
                users.entry(md).or_default().push((pi, w));
            }
        }
        let share = |pi: usize, md: usize| -> f64 {
            let Some(u) = users.get(&md) else { return 1.0 };
            if u.len() <= 1 {
                return 1.0;
            }
            let total: f64 = u.iter().map(|x| x.1).sum();
            if total > 0.0 {
                u.iter().find(|x| x.0 == pi).map_or(0.0, |x| x.1 / total)
            } else {
                1.0 / u.len() as f64
            }
        };
        for (pi, p) in plan.paths.iter().enumerate() {
            let model = |f: Field| {
                p.model
                    .map_or(0.0, |md| table.sum(md, f, m) * share(pi, md))
            };
            let (requests, errors, throttles, latency, sessions) = match p.runtime {
                Some(rt) => (
                    table.sum(rt, Field::Invocations, m),
                    table.sum(rt, Field::SystemErrors, m) + table.sum(rt, Field::UserErrors, m),
                    // Throttling at the runtime's front door and at the model behind it.
                    table.sum(rt, Field::Throttles, m) + model(Field::ModelThrottles),
                    table.quantiles(
                        rt,
                        [Field::LatencyP50, Field::LatencyP95, Field::LatencyP99],
                        Field::Invocations,
                        m,
                    ),
                    Some(count(table.sum(rt, Field::Sessions, m))),
                ),
                None => (
                    model(Field::ModelInvocations),
                    model(Field::ModelClientErrors) + model(Field::ModelServerErrors),
                    model(Field::ModelThrottles),
                    p.model.and_then(|md| {
                        table.quantiles(
                            md,
                            [
                                Field::ModelLatencyP50,
                                Field::ModelLatencyP95,
                                Field::ModelLatencyP99,
                            ],
                            Field::ModelInvocations,
                            m,
                        )
                    }),
                    None,
                ),
            };
            let (start_t, end_t) = (ts(m), ts(m + PERIOD_SECS));
            out.push(Update::Coverage(Coverage {
                path: p.path.clone(),
                source: SourceName::Cloudwatch,
                start: start_t,
                end: end_t,
                sessions,
            }));
            let batch = TrafficBatch {
                path: p.path.clone(),
                start: start_t,
                end: end_t,
                requests: count(requests),
                errors: count(errors),
                throttles: count(throttles),
                input_tokens: count(model(Field::InputTokens)),
                output_tokens: count(model(Field::OutputTokens)),
                latency: match latency {
                    Some([p50, p95, p99]) => Latency::Quantiles { p50, p95, p99 },
                    None => Latency::None,
                },
            };
            let empty = batch.requests == 0
                && batch.errors == 0
                && batch.throttles == 0
                && batch.input_tokens == 0
                && batch.output_tokens == 0
                && batch.latency == Latency::None;
            if !empty {
                out.push(Update::Traffic(batch));
            }
        }
        m += PERIOD_SECS;
    }
    out
}

/// What was already reported per (path index, period start): vCPU-hours and GB-hours.
pub type UsageLedger = BTreeMap<(usize, i64), (f64, f64)>;

/// Usage updates for the periods `[start, end)`: the first report of a period carries its
/// figures (zero too: the period was looked at), later reports only what grew since — usage
/// lands late and in bursts, and the model adds batches up.
pub fn usage_updates(
    plan: &Plan,
    results: &Results,
    start: i64,
    end: i64,
    ledger: &mut UsageLedger,
) -> Vec<Update> {
    let table = Table::new(plan.usage.iter(), results);
    let mut out = Vec::new();
    ledger.retain(|(_, t), _| *t >= start);
    for (pi, p) in plan.paths.iter().enumerate() {
        let Some(rt) = p.runtime else { continue };
        let mut t = start;
        while t < end {
            let v = table.sum(rt, Field::VcpuHours, t);
            let g = table.sum(rt, Field::GbHours, t);
            let (dv, dg, first) = match ledger.get(&(pi, t)) {
                None => (v, g, true),
                Some(&(pv, pg)) => ((v - pv).max(0.0), (g - pg).max(0.0), false),
            };
            if first || dv > 0.0 || dg > 0.0 {
                out.push(Update::Usage(UsageBatch {
                    path: p.path.clone(),
                    start: ts(t),
                    end: ts(t + USAGE_PERIOD_SECS),
                    vcpu_hours: dv,
                    gb_hours: dg,
                }));
                let e = ledger.entry((pi, t)).or_insert((0.0, 0.0));
                e.0 = e.0.max(v);
                e.1 = e.1.max(g);
            }
            t += USAGE_PERIOD_SECS;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::sources::cloudwatch::plan::{build, Query};

    fn cfg() -> Config {
        Config::from_toml(
            include_str!("../../../tests/fixtures/design_config.toml"),
            "design.toml",
        )
        .unwrap()
    }

    fn put(r: &mut Results, plan: &Plan, path: usize, f: Field, t: i64, x: f64) {
        let p = &plan.paths[path];
        let res = match f {
            Field::ModelInvocations
            | Field::InputTokens
            | Field::OutputTokens
            | Field::ModelThrottles => p.model,
            _ => p.runtime,
        }
        .unwrap();
        let q: &Query = plan
            .traffic
            .iter()
            .chain(&plan.usage)
            .find(|q| q.resource == res && q.field == f)
            .unwrap();
        r.entry(q.id.clone()).or_default().push((t, x));
    }

    #[test]
    fn minutes_map_to_paths() {
        let c = cfg();
        let plan = build(&c, None);
        let t0: i64 = 1_800_000_000 / 60 * 60;
        let mut r = Results::new();
        put(&mut r, &plan, 0, Field::Invocations, t0, 120.0);
        put(&mut r, &plan, 0, Field::SystemErrors, t0, 2.0);
        put(&mut r, &plan, 0, Field::UserErrors, t0, 1.0);
        put(&mut r, &plan, 0, Field::Throttles, t0, 4.0);
        put(&mut r, &plan, 0, Field::ModelThrottles, t0, 1.0);
        put(&mut r, &plan, 0, Field::Sessions, t0, 30.0);
        put(&mut r, &plan, 0, Field::LatencyP50, t0, 40.0);
        put(&mut r, &plan, 0, Field::LatencyP95, t0, 90.0);
        put(&mut r, &plan, 0, Field::LatencyP99, t0, 150.0);
        put(&mut r, &plan, 0, Field::InputTokens, t0, 50_000.0);
        put(&mut r, &plan, 0, Field::OutputTokens, t0, 9_000.0);
        put(&mut r, &plan, 1, Field::Invocations, t0 + 60, 7.0);
        // Outside the asked range: ignored.
        put(&mut r, &plan, 1, Field::Invocations, t0 + 120, 1000.0);
        let u = traffic_updates(&plan, &r, t0, t0 + 120);
        let cov: Vec<&Coverage> = u
            .iter()
            .filter_map(|u| match u {
                Update::Coverage(c) => Some(c),
                _ => None,
            })
            .collect();
        assert_eq!(cov.len(), 4, "two minutes × two paths");
        assert_eq!(cov[0].sessions, Some(30));
        let tr: Vec<&TrafficBatch> = u
            .iter()
            .filter_map(|u| match u {
                Update::Traffic(b) => Some(b),
                _ => None,
            })
            .collect();
        assert_eq!(tr.len(), 2);
        let h = tr[0];
        assert_eq!(h.path.as_str(), "agentcore-haiku");
        assert_eq!(h.start.timestamp(), t0);
        assert_eq!(h.end.timestamp(), t0 + 60);
        assert_eq!(
            (
                h.requests,
                h.errors,
                h.throttles,
                h.input_tokens,
                h.output_tokens
            ),
            (120, 3, 5, 50_000, 9_000)
        );
        assert_eq!(
            h.latency,
            Latency::Quantiles {
                p50: 40.0,
                p95: 90.0,
                p99: 150.0
            }
        );
        assert_eq!(tr[1].path.as_str(), "agentcore-sonnet");
        assert_eq!(tr[1].requests, 7);
        // Coverage comes before the traffic of the same minute.
        let first_cov = u.iter().position(|u| matches!(u, Update::Coverage(_)));
        let first_tr = u.iter().position(|u| matches!(u, Update::Traffic(_)));
        assert!(first_cov < first_tr);
    }

    #[test]
    fn usage_reports_deltas() {
        let c = cfg();
        let plan = build(&c, None);
        let t0: i64 = 1_800_000_000 / 300 * 300;
        let mut ledger = UsageLedger::new();
        let mut r = Results::new();
        put(&mut r, &plan, 0, Field::VcpuHours, t0, 0.5);
        put(&mut r, &plan, 0, Field::GbHours, t0, 2.0);
        let u = usage_updates(&plan, &r, t0, t0 + 600, &mut ledger);
        // Two paths × two periods, first report of each.
        assert_eq!(u.len(), 4);
        // Same data again: nothing new.
        assert!(usage_updates(&plan, &r, t0, t0 + 600, &mut ledger).is_empty());
        // Late data for the first period: only the increase.
        let mut r2 = Results::new();
        put(&mut r2, &plan, 0, Field::VcpuHours, t0, 0.75);
        put(&mut r2, &plan, 0, Field::GbHours, t0, 2.0);
        let u = usage_updates(&plan, &r2, t0, t0 + 600, &mut ledger);
        assert_eq!(u.len(), 1);
        match &u[0] {
            Update::Usage(b) => {
                assert!((b.vcpu_hours - 0.25).abs() < 1e-12);
                assert_eq!(b.gb_hours, 0.0);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn shared_model_tokens_split_by_invocations() {
        let c = Config::from_toml(
            r#"
[[paths]]
id = "a"
kind = "agentcore"
[paths.agentcore]
runtime_arn = "arn:a"
model_id = "m"
[[paths]]
id = "b"
kind = "agentcore"
[paths.agentcore]
runtime_arn = "arn:b"
model_id = "m"
"#,
            "t.toml",
        )
        .unwrap();
        let plan = build(&c, None);
        let t0: i64 = 1_800_000_000 / 60 * 60;
        let mut r = Results::new();
        put(&mut r, &plan, 0, Field::Invocations, t0, 30.0);
        put(&mut r, &plan, 1, Field::Invocations, t0, 10.0);
        put(&mut r, &plan, 0, Field::InputTokens, t0, 4_000.0);
        let u = traffic_updates(&plan, &r, t0, t0 + 60);
        let toks: Vec<u64> = u
            .iter()
            .filter_map(|u| match u {
                Update::Traffic(b) => Some(b.input_tokens),
                _ => None,
            })
            .collect();
        assert_eq!(toks, vec![3_000, 1_000]);
    }
}
