//! What the simulated fleet reports, as the live sources would: pod and ScaledObject lists,
//! Langfuse observations (withheld during an outage, then backfilled), source health and the
//! billed cost.
use super::*;

impl Simulator {
    pub(super) fn fleet_update(&mut self, e: u64, t1: i64, out: &mut Vec<Update>) {
        if self.fleets.is_empty() {
            return;
        }
        let mut pods = Vec::new();
        let mut sos = Vec::new();
        let mut nodes = Vec::new();
        let mut events = Vec::new();
        for f in &mut self.fleets {
            pods.extend(f.pods_view(self.start, t1));
            sos.push(f.scaled_object_view(self.start));
            nodes.extend(f.nodes_view(self.start, t1));
            events.extend(f.take_events(self.start));
        }
        if !events.is_empty() {
            out.push(Update::Fleet(FleetUpdate::Events { events }));
        }
        if self.last_nodes.as_ref() != Some(&nodes) {
            out.push(Update::Fleet(FleetUpdate::Nodes {
                nodes: nodes.clone(),
            }));
            self.last_nodes = Some(nodes);
        }
        let changed = self
            .last_fleet
            .as_ref()
            .is_none_or(|(p, s)| *p != pods || *s != sos);
        if changed || e >= self.last_fleet_emit + FLEET_REFRESH_S {
            self.last_fleet_emit = e;
            out.push(Update::Fleet(FleetUpdate::Replace {
                pods: pods.clone(),
                scaled_objects: sos.clone(),
            }));
            self.last_fleet = Some((pods, sos));
        }
    }

    pub(super) fn deliver_observations(&mut self, t: u64, t1: i64, out: &mut Vec<Update>) {
        let mut ready = Vec::new();
        let pending = std::mem::take(&mut self.pending);
        for (end, o) in pending {
            if end <= t1 {
                ready.push(o);
            } else {
                self.pending.push((end, o));
            }
        }
        if self.scenario.langfuse_down(t) {
            self.withheld.extend(ready);
            if self.withheld.len() > MAX_WITHHELD {
                let drop = self.withheld.len() - MAX_WITHHELD;
                self.withheld.drain(..drop);
            }
            return;
        }
        let mut backlog = std::mem::take(&mut self.withheld);
        while !backlog.is_empty() {
            let rest = backlog.split_off(BACKFILL_PAGE.min(backlog.len()));
            out.push(Update::Observations { items: backlog });
            backlog = rest;
        }
        if !ready.is_empty() {
            out.push(Update::Observations { items: ready });
        }
    }

    pub(super) fn health_updates(
        &mut self,
        e: u64,
        t: u64,
        now: DateTime<Utc>,
        out: &mut Vec<Update>,
    ) {
        let h = &mut self.health;
        if e == 1 || e.is_multiple_of(CLOUDWATCH_EVERY_S) {
            h.cloudwatch_last = Some(now);
        }
        if e == 1 {
            h.cost_explorer_last = Some(now);
        }
        if e == 1 || e.is_multiple_of(engine::ENGINE_EVERY_S) {
            h.prometheus_last = Some(now);
        }
        let (lf_state, lf_error) = if self.scenario.langfuse_down(t) {
            h.langfuse_ok = false;
            if t < scenario::LANGFUSE_ERROR_AT {
                (SourceState::Stale, Some(LANGFUSE_STALE_MSG.to_string()))
            } else {
                (SourceState::Error, Some(LANGFUSE_ERROR_MSG.to_string()))
            }
        } else {
            if e == 1 || e.is_multiple_of(LANGFUSE_EVERY_S) || !h.langfuse_ok {
                h.langfuse_last = Some(now);
            }
            h.langfuse_ok = true;
            (SourceState::Ok, None)
        };
        let current = [
            SourceHealth {
                source: SourceName::Cloudwatch,
                state: SourceState::Ok,
                last_success: h.cloudwatch_last,
                error: None,
                permanent: false,
            },
            SourceHealth {
                source: SourceName::CostExplorer,
                state: SourceState::Ok,
                last_success: h.cost_explorer_last,
                error: None,
                permanent: false,
            },
            SourceHealth {
                source: SourceName::Kubernetes,
                state: SourceState::Ok,
                last_success: Some(now),
                error: None,
                permanent: false,
            },
            SourceHealth {
                source: SourceName::Langfuse,
                state: lf_state,
                last_success: h.langfuse_last,
                error: lf_error,
                permanent: false,
            },
            SourceHealth {
                source: SourceName::Prometheus,
                state: SourceState::Ok,
                last_success: h.prometheus_last,
                error: None,
                permanent: false,
            },
        ];
        if h.emitted.len() != current.len() {
            h.emitted = current.to_vec();
            out.extend(current.into_iter().map(Update::Health));
            return;
        }
        for (i, c) in current.into_iter().enumerate() {
            if h.emitted[i] != c {
                h.emitted[i] = c.clone();
                out.push(Update::Health(c));
            }
        }
    }

    pub(super) fn billed(&self) -> crate::model::update::BilledCost {
        let shares: Vec<f64> = (0..self.paths.len()).map(|i| self.share(i)).collect();
        let eks_share: f64 = (0..self.paths.len())
            .filter(|&i| self.paths[i].side == Side::Eks)
            .map(|i| shares[i])
            .sum();
        let hourly = |t: DateTime<Utc>| -> (f64, f64) {
            let rpm = BASE_RPM * daily_shape(t);
            let per_hour = rpm * 60.0;
            let mut ac = 0.0;
            let mut eks = 0.0;
            for (i, p) in self.paths.iter().enumerate() {
                match p.side {
                    Side::Agentcore => {
                        let mut share = shares[i];
                        if Some(i) == self.escalation_target {
                            share += eks_share * ESCALATION_RATE;
                        }
                        ac += per_hour * share * p.ac_cost_per_request();
                    }
                    Side::Eks => {
                        let cap = p
                            .fleet
                            .and_then(|f| self.fleets.get(f))
                            .map(Fleet::capacity_rpm)
                            .unwrap_or(60.0);
                        let pods = fleet::replicas_for(rpm * shares[i], cap);
                        let nodes = pods.div_ceil(p.pods_per_node);
                        eks += f64::from(nodes) * p.node_usd_per_hour;
                    }
                }
            }
            (ac, eks)
        };
        billing::billed(self.seed, self.start, &hourly)
    }

    // ---- requests -------------------------------------------------------------------------
}
