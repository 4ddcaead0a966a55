//! Derive: the `Snapshot` the views and the exports read, computed from `State` on demand
//! (each path's rates, latency, cost and shares, the session lists, the router view).
use super::*;

impl State {
    pub(super) fn session_rows(
        &self,
        now_ms: i64,
        redact: bool,
    ) -> (Arc<Vec<SessionRow>>, Arc<Vec<i64>>) {
        let generation = self.correlator.generation();
        let mut guard = match self.session_cache.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(c) = guard.as_ref() {
            if c.generation == generation
                && c.redact == redact
                && now_ms >= c.computed_ms
                && now_ms < c.valid_until_ms
            {
                return (c.rows.clone(), c.last_activity_ms.clone());
            }
        }
        let Rows {
            rows,
            last_activity_ms,
            valid_until_ms,
        } = self
            .correlator
            .rows(correlation::ms_to_time(now_ms), redact);
        let rows = Arc::new(rows);
        let last = Arc::new(last_activity_ms);
        *guard = Some(SessionCache {
            generation,
            redact,
            computed_ms: now_ms,
            valid_until_ms,
            rows: rows.clone(),
            last_activity_ms: last.clone(),
        });
        (rows, last)
    }

    pub fn snapshot(&self, opts: &DeriveOptions) -> Snapshot {
        let now_ms = self.now_ms();
        let now = correlation::ms_to_time(now_ms);
        let redact = opts.redact;
        let path_aggs = self.path_aggs();
        let any_cover = path_aggs.iter().any(|a| a.through_ms.is_some());
        let weights = self.router.as_ref().map(|r| &r.weights);

        let mut overall_sketch = Sketch::new();
        let mut overall_q = WeightedQuantiles::default();
        // AgentCore requests alone: the "AgentCore standalone" p95 of the success metrics.
        let mut ac_sketch = Sketch::new();
        let mut ac_q = WeightedQuantiles::default();
        let (mut requests, mut errors) = (0.0, 0.0);
        let mut paths: Vec<PathView> = Vec::with_capacity(self.paths.len());
        for (p, pa) in self.paths.iter().zip(&path_aggs) {
            let a = &pa.stats;
            let covered = pa.span_secs;
            overall_sketch.merge(&a.sketch);
            overall_q.merge(&a.quantiles);
            if p.kind == Side::Agentcore {
                ac_sketch.merge(&a.sketch);
                ac_q.merge(&a.quantiles);
            }
            requests += fin(a.requests.max(0.0));
            errors += fin(a.errors.max(0.0));
            let per_min = |count: f64| covered.map_or(0.0, |c| fin(count / c * 60.0));
            let rpm = per_min(a.requests);
            let latency = match quantile::combine(Some(&a.sketch), &a.quantiles) {
                Some([p50, p95, p99]) => Quantiles {
                    p50: Some(p50),
                    p95: Some(p95),
                    p99: Some(p99),
                },
                None => Quantiles::default(),
            };
            let usd_per_hour = self.path_usd_per_hour(p, a, covered);
            let (ready_pods, desired_pods) = if p.kind == Side::Eks && self.fleet.is_known() {
                let configured = p
                    .eks
                    .scaled_object
                    .as_deref()
                    .map(|so| (p.eks.namespace.as_str(), so));
                (
                    Some(self.fleet.ready_pods(&p.id)),
                    self.fleet
                        .scaled_object_for(&p.id, configured)
                        .filter(|s| s.replicas_known())
                        .map(|s| s.desired_replicas),
                )
            } else {
                (None, None)
            };
            paths.push(PathView {
                id: p.id.clone(),
                kind: p.kind,
                label: text(&p.label, redact),
                weight: weights.and_then(|w| w.get(&p.id)),
                requests_per_minute: rpm,
                observed_share: 0.0,
                observed_share_1m: 0.0,
                error_rate: (a.requests > 0.0)
                    .then(|| (a.errors / a.requests).clamp(0.0, 1.0))
                    .filter(|v| v.is_finite()),
                throttles_per_minute: per_min(a.throttles),
                latency_ms: latency,
                cost: PathCost {
                    usd_per_hour,
                    usd_per_1k_requests: cost::usd_per_1k_requests(usd_per_hour, rpm),
                    projected_usd_per_month: cost::projected_month(usd_per_hour),
                },
                traffic_source: pa.source,
                ready_pods,
                desired_pods,
                sessions_per_minute: (p.sessions_known && covered.is_some())
                    .then(|| per_min(a.sessions)),
                data_through: pa.through_ms.map(correlation::ms_to_time),
                engine: (p.kind == Side::Eks && (self.engine_enabled || !self.engines.is_empty()))
                    .then(|| {
                        let max_age = self.engine_max_age_ms();
                        let mut v = self.engines.view(&p.id, now, max_age, redact);
                        v.kv_level = self.kv_level(v.figures.kv_cache_usage);
                        v
                    }),
                history: PathHistory::default(),
            });
        }
        // Paths whose windows end at different times are compared by rate; otherwise by count
        // (identical when every window is the same span).
        let basis: Vec<f64> = if any_cover {
            paths.iter().map(|v| v.requests_per_minute).collect()
        } else {
            path_aggs.iter().map(|a| a.stats.requests).collect()
        };
        set_shares(&mut paths, &basis);
        let recent: Vec<f64> = self
            .paths
            .iter()
            .map(|p| p.window.recent_requests(&self.tl, 60))
            .collect();
        set_recent_shares(&mut paths, &recent);
        self.fill_history(&mut paths);

        // Sessions.
        let (all, last) = self.session_rows(now_ms, redact);
        let from_ms =
            now_ms.saturating_sub(i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX));
        let counts = correlation::window_counts(&all, &last, from_ms);
        let sessions = SessionsView {
            total: counts.total,
            hybrid: counts.hybrid,
            escalated: counts.escalated,
            handoffs: counts.handoffs,
            orphaned: counts.orphaned,
            context_loss_rate: counts.context_loss_rate,
            unsessioned: self.correlator.unsessioned_since(from_ms),
            capped_at: self.correlator.capped_since(from_ms),
            waterfalls: self.waterfalls.roots_only().then(|| {
                let (whole, sessions) = self
                    .correlator
                    .whole_sessions(from_ms, |t| self.waterfalls.is_whole(t));
                crate::model::snapshot::WaterfallCoverage { whole, sessions }
            }),
            recent: all.iter().take(RECENT_SESSIONS).cloned().collect(),
            detail: opts.selected_session.as_deref().and_then(|id| {
                let mut d = self.correlator.detail(id, now, redact)?;
                d.roots_only = !self.unread_traces(id, redact).is_empty();
                Some(d)
            }),
            all,
        };

        // Cost.
        let known: Vec<f64> = paths.iter().filter_map(|p| p.cost.usd_per_hour).collect();
        let estimated = (!known.is_empty()).then(|| fin(known.iter().sum()));
        let cost = CostView {
            billed_month_to_date_usd: self.billed.as_ref().map(|b| {
                let mut m: BTreeMap<String, f64> = BTreeMap::new();
                for (class, usd) in &b.month_to_date {
                    *m.entry(class_key(*class).to_string()).or_insert(0.0) += fin(*usd);
                }
                let total = fin(m.values().sum());
                m.insert("total".into(), total);
                m
            }),
            billed_as_of: self.billed.as_ref().map(|b| b.as_of),
            billed_projected_usd_per_month: self.billed.as_ref().and_then(billed_pace),
            estimated_usd_per_hour: estimated,
            projected_usd_per_month: cost::projected_month(estimated),
            dashboard_api_usd_per_hour: (!self.api_spend.is_empty()).then(|| {
                fin(self
                    .api_spend
                    .values()
                    .map(|a| fin(a.usd_per_hour.max(0.0)))
                    .sum())
            }),
            dashboard_api_usd_total: (!self.api_spend.is_empty())
                .then(|| fin(self.api_spend.values().map(|a| fin(a.usd_total)).sum())),
            daily: self
                .billed
                .as_ref()
                .map(|b| {
                    b.daily
                        .iter()
                        .filter(|d| d.usd.is_finite())
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
        };

        let mut sources = self.sources.view(now, redact);
        // (The OTLP receiver's coverage merges into the same span; a disabled Langfuse row
        // says nothing of it.)
        for s in sources.iter_mut().filter(|s| {
            s.name == SourceName::Langfuse && s.state != crate::model::update::SourceState::Disabled
        }) {
            s.lag_seconds = self
                .traces_cover
                .map(|(_, through)| ((self.tl.now_ms - through).max(0)) as f64 / 1000.0);
            s.interval_seconds = self
                .intervals
                .iter()
                .find(|(n, _)| *n == SourceName::Langfuse)
                .map(|(_, iv)| iv.as_secs_f64())
                .filter(|_| s.lag_seconds.is_some() || self.trace_progress.is_some());
            s.catching_up =
                self.trace_progress
                    .as_ref()
                    .map(|p| crate::model::snapshot::CatchingUp {
                        read: p.read,
                        expected: p.expected,
                    });
        }
        let router_invalid = self
            .router
            .as_ref()
            .and_then(|r| r.invalid.as_deref())
            .map(crate::model::sanitize::clean);
        let window_requests: Vec<f64> = path_aggs.iter().map(|a| a.stats.requests).collect();
        let mut alerts = alerts::evaluate(
            &self.alerts,
            &paths,
            &alerts::Inputs {
                context_loss_rate: counts.context_loss_rate,
                estimated_usd_per_hour: cost.estimated_usd_per_hour,
                sources: &sources,
                intervals: &self.intervals,
                requests: &window_requests,
                router_invalid: router_invalid.as_deref(),
            },
        );
        let window_ms = i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX);
        let agentcore = self.agentcore.view(window_ms, redact);
        alerts.extend(alerts::agentcore(&agentcore, self.alerts.p95_ms_crit));
        let keys: Vec<crate::model::agentcore::PathKeys<'_>> = self
            .paths
            .iter()
            .map(|p| crate::model::agentcore::PathKeys {
                id: &p.id,
                runtime_arn: p.agentcore.runtime_arn.as_deref(),
                model_id: p.agentcore.model_id.as_deref(),
            })
            .collect();
        let (alarms, alarm_scan) = self.agentcore.alarms(&keys, redact);
        self.judged
            .since
            .stamp(&mut alerts, self.judged.at.unwrap_or(now));
        let total_rpm: f64 = paths.iter().map(|p| p.requests_per_minute).sum();
        let eks_has_traffic = self
            .paths
            .iter()
            .zip(&path_aggs)
            .any(|(p, a)| p.kind == Side::Eks && a.stats.requests > 0.0);

        let mut snap = Snapshot {
            schema: SCHEMA.to_string(),
            generated_at: now,
            mode: self.mode,
            environment: text(&self.environment, redact),
            window_seconds: self.window.as_secs(),
            read_only: self.read_only || opts.read_only,
            redacted: redact,
            sources,
            router: self.router_view(redact),
            paths,
            fleet: self.fleet_with_engines(now_ms, redact),
            sessions,
            cost,
            alerts,
            phase: Default::default(),
            advisor: Default::default(),
            agentcore,
            alarms,
            alarm_scan,
        };
        // The advisor reads the snapshot it annotates: its numbers are the screen's numbers.
        snap.advisor = advisor::evaluate_with(&snap, &self.advisor, &self.judged.degraded);
        let a = &self.advisor.advisor;
        snap.phase = phase::evaluate(&PhaseInputs {
            eks_has_traffic,
            monthly_requests: cost::monthly_requests(total_rpm),
            monthly_cost_usd: snap.cost.projected_usd_per_month,
            p95_ms: quantile::combine(Some(&overall_sketch), &overall_q).map(|q| q[1]),
            context_loss_rate: counts.context_loss_rate,
            custom_model_needed: a.custom_model_needed,
            team: a.team_k8s_capability,
            configured_phase: a.current_phase,
            hybrid_sessions: counts.hybrid,
            handoffs: counts.handoffs,
            agentcore_only_usd_per_month: snap.advisor.modes.agentcore_only,
            agentcore_p95_ms: quantile::combine(Some(&ac_sketch), &ac_q).map(|q| q[1]),
            error_rate: (requests > 0.0)
                .then(|| (errors / requests).clamp(0.0, 1.0))
                .filter(|v| v.is_finite()),
        });
        snap
    }

    /// AgentCore: tokens over the window × prices, per hour, plus runtime usage as an hourly rate
    /// over the intervals it covered. EKS: GPU nodes in use × node price.
    pub(super) fn path_usd_per_hour(
        &self,
        p: &PathState,
        a: &WindowStats,
        covered: Option<f64>,
    ) -> Option<f64> {
        match p.kind {
            Side::Agentcore => {
                // A metrics-fed path whose data fell out of the ring has no current figures.
                if !p.seen || (p.cover.is_some() && covered.is_none()) {
                    return None;
                }
                let tokens = covered
                    .and_then(|c| {
                        cost::agentcore_tokens_usd_per_hour(
                            &p.agentcore,
                            a.input_tokens,
                            a.output_tokens,
                            c,
                        )
                    })
                    .unwrap_or(0.0);
                // Runtime usage from CloudWatch arrives late and in bursts (when sessions end):
                // a metrics-fed path prices it over everything the ring holds, not the window.
                let (usage_usd, usage_secs) = if p.cover.is_some() {
                    p.window
                        .usage_range(&self.tl, self.tl.ring_first_idx(), self.tl.now_idx())
                } else {
                    (a.usage_usd, a.usage_secs)
                };
                let usage = cost::usage_usd_per_hour(usage_usd, usage_secs).unwrap_or(0.0);
                cost::finite(tokens + usage)
            }
            Side::Eks => self.fleet.is_known().then(|| {
                cost::eks_usd_per_hour(&p.eks, self.fleet.nodes_in_use(&p.id, p.eks.pods_per_node))
            }),
        }
    }

    /// Per-bucket sparkline series, oldest first, from the first data (at most
    /// `HISTORY_POINTS` buckets). A metrics-fed path has no points (NaN: drawn as gaps) after
    /// the end of what its source has reported, rather than zeros that would look like an outage.
    pub(super) fn fill_history(&self, paths: &mut [PathView]) {
        let cover_from = self.paths.iter().filter_map(|p| p.cover.map(|c| c.0)).min();
        let first = match (self.tl.first_data_ms, cover_from) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(f) => f,
                None => return,
            },
        };
        // A bucket that has barely begun would read as a sudden drop at the end of every
        // sparkline: plot it only once it covers half its span.
        let mut now_idx = self.tl.now_idx();
        let half = self.tl.bucket_ms as f64 / 2000.0;
        let current_empty = self
            .paths
            .iter()
            .all(|p| p.window.bucket(now_idx).is_none_or(|b| b.requests == 0.0));
        if current_empty
            && self.tl.bucket_covered_secs(now_idx) < half
            && now_idx > self.tl.idx(first)
        {
            now_idx -= 1;
        }
        let lo = (now_idx - HISTORY_POINTS as i64 + 1).max(self.tl.idx(first));
        if lo > now_idx {
            return;
        }
        let n = (now_idx - lo + 1) as usize;
        for v in paths.iter_mut() {
            v.history = PathHistory {
                requests_per_minute: Vec::with_capacity(n),
                observed_share: Vec::with_capacity(n),
                p95_ms: Vec::with_capacity(n),
                usd_per_hour: Vec::with_capacity(n),
            };
        }
        let bucket_ms = self.tl.bucket_ms;
        // Seconds of bucket `idx` a path's data covers; `None` past the end of a metrics-fed
        // path's coverage.
        let secs_of = |p: &PathState, idx: i64| -> Option<f64> {
            match p.cover {
                None => Some(self.tl.bucket_covered_secs(idx)),
                Some((from, through)) => {
                    let s = (idx * bucket_ms).max(from);
                    let e = ((idx + 1) * bucket_ms).min(through);
                    (e > s).then(|| ((e - s).max(1000)) as f64 / 1000.0)
                }
            }
        };
        let mut nodes: Vec<f64> = vec![0.0; self.paths.len()];
        let windows: Vec<&PathWindow> = self
            .paths
            .iter()
            .map(|p| self.traffic_window(p).0)
            .collect();
        for idx in lo..=now_idx {
            let total: f64 = self
                .paths
                .iter()
                .zip(&windows)
                .filter(|(p, _)| secs_of(p, idx).is_some())
                .filter_map(|(_, w)| w.bucket(idx))
                .map(|b| b.requests)
                .sum();
            for (i, (p, v)) in self.paths.iter().zip(paths.iter_mut()).enumerate() {
                let h = &mut v.history;
                let Some(secs) = secs_of(p, idx) else {
                    h.requests_per_minute.push(f64::NAN);
                    h.observed_share.push(f64::NAN);
                    h.p95_ms.push(f64::NAN);
                    h.usd_per_hour.push(f64::NAN);
                    continue;
                };
                let b = windows[i].bucket(idx);
                let req = b.map_or(0.0, |b| b.requests);
                h.requests_per_minute.push(fin(req / secs * 60.0));
                h.observed_share
                    .push(if total > 0.0 { fin(req / total) } else { 0.0 });
                h.p95_ms.push(b.and_then(|b| b.p95()).map_or(0.0, fin));
                let usd = match p.kind {
                    // Tokens and runtime usage are metric-source figures, whatever gives the rate.
                    Side::Agentcore => p.window.bucket(idx).map_or(0.0, |b| {
                        let tokens = cost::agentcore_tokens_usd_per_hour(
                            &p.agentcore,
                            b.input_tokens,
                            b.output_tokens,
                            secs,
                        )
                        .unwrap_or(0.0);
                        let usage = cost::usage_usd_per_hour(
                            b.usage_usd,
                            b.usage_secs.min(self.tl.bucket_ms as f64 / 1000.0),
                        )
                        .unwrap_or(0.0);
                        tokens + usage
                    }),
                    Side::Eks => {
                        // GPU nodes are stamped on the metrics window whatever gives the rate.
                        if let Some(g) = p.window.bucket(idx).and_then(|b| b.gpu_nodes) {
                            nodes[i] = g;
                        }
                        nodes[i] * p.eks.gpu_node_usd_per_hour
                    }
                };
                h.usd_per_hour.push(fin(usd));
            }
        }
        // The node count is a level, not a rate: one seen in the just-begun bucket is still the
        // latest, so the last point shows it.
        let current = self.tl.now_idx();
        if current > now_idx {
            for (p, v) in self.paths.iter().zip(paths.iter_mut()) {
                let nodes = p.window.bucket(current).and_then(|b| b.gpu_nodes);
                if let (Side::Eks, Some(g), Some(last)) =
                    (p.kind, nodes, v.history.usd_per_hour.last_mut())
                {
                    *last = fin(g * p.eks.gpu_node_usd_per_hour);
                }
            }
        }
    }

    pub(super) fn router_view(&self, redact: bool) -> RouterView {
        match &self.router {
            None => RouterView {
                backend: self.router_default.backend.clone(),
                target: opt_text(self.router_default.target.as_deref(), redact),
                weights: Weights::default(),
                version: None,
                invalid: None,
            },
            Some(r) => RouterView {
                backend: text(&r.backend, redact),
                target: opt_text(r.target.as_deref(), redact),
                weights: Weights(
                    r.weights
                        .0
                        .iter()
                        .map(|(k, v)| (PathId(text(k.as_str(), redact)), *v))
                        .collect(),
                ),
                version: opt_text(r.version.as_deref(), redact),
                invalid: r
                    .invalid
                    .as_deref()
                    .map(crate::model::sanitize::clean_owned),
            },
        }
    }
}

/// Billed month-to-date at its pace: MTD / hours of the month elapsed at `as_of` × 730, by class
/// plus `total` (unknown in the first hour of a month, when the pace means nothing yet).
pub(super) fn billed_pace(b: &BilledCost) -> Option<BTreeMap<String, f64>> {
    use chrono::{Datelike, TimeZone};
    let start = Utc
        .with_ymd_and_hms(b.as_of.year(), b.as_of.month(), 1, 0, 0, 0)
        .single()?;
    let hours = (b.as_of - start).num_seconds() as f64 / 3600.0;
    if hours.is_nan() || hours < 1.0 {
        return None;
    }
    let mut m: BTreeMap<String, f64> = BTreeMap::new();
    for (class, usd) in &b.month_to_date {
        *m.entry(class_key(*class).to_string()).or_insert(0.0) +=
            fin(*usd / hours * cost::HOURS_PER_MONTH);
    }
    let total = fin(m.values().sum());
    m.insert("total".into(), total);
    Some(m)
}

/// The split over the last minute (see `PathView::observed_share_1m`).
pub(super) fn set_recent_shares(paths: &mut [PathView], recent: &[f64]) {
    let total: f64 = recent.iter().sum();
    if !(total > 0.0 && total.is_finite()) {
        return;
    }
    for (v, r) in paths.iter_mut().zip(recent) {
        v.observed_share_1m = fin(r / total).clamp(0.0, 1.0);
    }
}

/// Observed share = path requests / all requests in the window; the largest share absorbs the
/// rounding so the shares sum to 1 (all zero when there were no requests).
pub(super) fn set_shares(paths: &mut [PathView], basis: &[f64]) {
    let total: f64 = basis.iter().sum();
    if !(total > 0.0 && total.is_finite()) {
        return;
    }
    for (v, a) in paths.iter_mut().zip(basis) {
        v.observed_share = fin(a / total).clamp(0.0, 1.0);
    }
    let Some(big) = (0..paths.len()).max_by(|&a, &b| {
        paths[a]
            .observed_share
            .total_cmp(&paths[b].observed_share)
            .then(b.cmp(&a))
    }) else {
        return;
    };
    let others: f64 = paths
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != big)
        .map(|(_, v)| v.observed_share)
        .sum();
    paths[big].observed_share = (1.0 - others).clamp(0.0, 1.0);
}

impl State {
    /// Engine figures older than this show as null: three intervals of the source, plus a minute.
    fn engine_max_age_ms(&self) -> i64 {
        let iv = self
            .intervals
            .iter()
            .find(|(s, _)| *s == SourceName::Prometheus)
            .map_or(Duration::from_secs(15), |(_, d)| *d);
        i64::try_from((iv.saturating_mul(3) + Duration::from_secs(60)).as_millis())
            .unwrap_or(i64::MAX)
    }

    fn kv_level(&self, v: Option<f64>) -> u8 {
        crate::model::engine::kv_level(v, self.alerts.kv_cache_warn, self.alerts.kv_cache_crit)
    }

    /// The fleet view with each pod's engine figures (matched by pod name and namespace).
    fn fleet_with_engines(&self, now_ms: i64, redact: bool) -> crate::model::snapshot::FleetView {
        let mut fleet = self.fleet.view(now_ms, redact);
        if self.engines.is_empty() {
            return fleet;
        }
        let now = correlation::ms_to_time(now_ms);
        let max_age = self.engine_max_age_ms();
        // `Fleet::view` lists the pods in `Fleet::pods` order (unredacted names here).
        for (pv, raw) in fleet.pods.iter_mut().zip(self.fleet.pods()) {
            pv.engine = self
                .engines
                .pod(raw.path.as_ref(), &raw.namespace, &raw.name, now, max_age)
                .map(|mut e| {
                    e.kv_level = self.kv_level(e.kv_cache_usage);
                    e
                });
        }
        fleet
    }
}
