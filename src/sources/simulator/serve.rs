//! Serving requests: sessions arriving and following up, EKS queueing on ready pods, AgentCore
//! throttling, escalations to Sonnet and the dual-write context loss, recorded per path.
use super::*;

impl Simulator {
    pub(super) fn new_session(&mut self) -> Session {
        self.session_counter += 1;
        let x = self
            .session_counter
            .wrapping_mul(self.session_mul)
            .wrapping_add(self.session_add)
            & 0xFF_FFFF;
        let u = self.rng.arrivals.random::<f64>();
        let turns = if u < 0.35 {
            1
        } else if u < 0.65 {
            2
        } else if u < 0.85 {
            3
        } else {
            4
        };
        Session {
            id: format!("s-{x:06x}"),
            seq: self.session_counter,
            turns_left: turns,
            ready_at: 0,
            had_ac: false,
            had_eks: false,
            broken: None,
        }
    }

    pub(super) fn arrival(&mut self, at: i64, t: u64, queues: &[QueueState]) {
        // The next turn of the session that has waited longest, or a new session.
        let pick = self
            .pool
            .iter()
            .enumerate()
            .filter(|(_, s)| s.ready_at <= at)
            .min_by_key(|(_, s)| (s.ready_at, s.seq))
            .map(|(i, _)| i);
        let mut session = match pick {
            Some(i) => self.pool.swap_remove(i),
            None => self.new_session(),
        };
        session.turns_left = session.turns_left.saturating_sub(1);
        let Some(p) = self.route() else {
            return;
        };
        self.routed[p] += 1;
        match self.paths[p].side {
            Side::Eks => self.serve_eks(session, p, at, t, queues, false),
            Side::Agentcore => {
                let end = self.serve_agentcore(&mut session, p, at, t, 0);
                self.finish_turn(session, end);
            }
        }
    }

    pub(super) fn run_follow_up(&mut self, i: usize, t: u64, queues: &[QueueState]) {
        let x = self.follow_ups.swap_remove(i);
        let mut session = x.session;
        match x.what {
            FollowUp::Escalation { context_tokens } => {
                let Some(target) = self.escalation_target else {
                    return;
                };
                let end = self.serve_agentcore(&mut session, target, x.start, t, context_tokens);
                self.finish_turn(session, end);
            }
            FollowUp::Retry { path } => self.serve_eks(session, path, x.start, t, queues, true),
        }
    }

    pub(super) fn finish_turn(&mut self, mut s: Session, end: i64) {
        if s.turns_left > 0 && self.pool.len() < MAX_POOL {
            s.ready_at = end + self.rng.arrivals.random_range(2000..8000);
            self.pool.push(s);
        }
    }

    /// Decide (once per session) whether the dual-write of its AgentCore side fails.
    pub(super) fn decide_broken(&mut self, s: &mut Session, t: u64) -> bool {
        if let Some(b) = s.broken {
            return b;
        }
        let share = self.scenario.context_loss_share(t);
        let b = share > 0.0 && self.rng.scenario.random::<f64>() < share;
        s.broken = Some(b);
        b
    }

    pub(super) fn record(
        &mut self,
        p: usize,
        lat: f64,
        error: bool,
        throttled: bool,
        tin: u64,
        tout: u64,
    ) {
        let acc = &mut self.paths[p].acc;
        acc.requests += 1;
        acc.errors += u64::from(error);
        acc.throttles += u64::from(throttled);
        acc.input_tokens += tin;
        acc.output_tokens += tout;
        acc.samples.push(round2(lat));
    }

    pub(super) fn serve_eks(
        &mut self,
        mut s: Session,
        p: usize,
        at: i64,
        t: u64,
        queues: &[QueueState],
        retry: bool,
    ) {
        let Some(fi) = self.paths[p].fleet else {
            return;
        };
        let q = queues[fi];
        let (mu, sigma, tok_in, tok_out) = {
            let ps = &self.paths[p];
            (ps.mu, ps.sigma, ps.tok_in, ps.tok_out)
        };
        let r = &mut self.rng.service;
        let svc = lognormal(r, mu, sigma);
        let shed = q.capacity_per_s <= 0.0 || (q.overflow > 0.0 && r.random::<f64>() < q.overflow);
        let mut lat = svc * q.factor + q.wait_ms;
        let timeout = shed || lat > TIMEOUT_MS;
        if timeout {
            lat = TIMEOUT_MS;
        }
        let internal_error = !timeout && r.random::<f64>() < BASE_ERROR_RATE;
        let error = timeout || internal_error;
        let tin = tokens(r, tok_in);
        let tout = if error { 0 } else { tokens(r, tok_out) };
        let escalate =
            !error && self.escalation_target.is_some() && r.random::<f64>() < ESCALATION_RATE;
        let confidence = if escalate {
            0.35 + 0.34 * r.random::<f64>()
        } else {
            0.0
        };
        let ps = &self.paths[p];
        let mean_tokens = (ps.tok_in + ps.tok_out).max(1.0);
        let cost = ps.node_usd_per_hour
            / f64::from(ps.pods_per_node)
            / (self.fleets[fi].target_rpm() * 60.0)
            * (tin + tout) as f64
            / mean_tokens;
        self.record(p, lat, error, false, tin, tout);

        // Trace.
        s.had_eks = true;
        let parent_ref = (escalate || s.had_ac).then(|| format!("ac-{}", s.id));
        let orphan = parent_ref.is_some() && self.decide_broken(&mut s, t);
        let hostile = self.scenario.hostile_strings(t);
        let pod = self.fleets[fi].pick_pod(&mut self.rng.traces);
        let tr = &mut self.rng.traces;
        let trace_id = format!("eks-{pod}-{}", traces::hex16(tr));
        let root_id = traces::hex16(tr);
        let lat_ms = lat.round() as i64;
        let end = at + lat_ms.max(1);
        let wait = (q.wait_ms.round() as i64).clamp(0, lat_ms);
        let with_tool = !timeout && tr.random::<f64>() < 0.4;
        let tool_name = traces::maybe_hostile(
            tr,
            if hostile { HOSTILE_SHARE } else { 0.0 },
            traces::TOOL_SPAN,
        );
        let tool_frac = 0.15 + 0.2 * tr.random::<f64>();
        let gen_id = traces::hex16(tr);
        let tool_id = if with_tool {
            traces::hex16(tr)
        } else {
            String::new()
        };

        let mut root = SpanSpec::span(root_id.clone(), None, traces::ROOT_SPAN, at, end);
        root.parent_ref = parent_ref;
        let sonnet = self
            .escalation_target
            .map(|i| self.paths[i].id.to_string())
            .unwrap_or_default();
        let mut msgs = Vec::new();
        if retry {
            msgs.push("retry 1/1 after upstream timeout".to_string());
        }
        if timeout {
            root.level = Level::Error;
            msgs.push(format!(
                "upstream request timeout after {} ms (vLLM queue full)",
                TIMEOUT_MS as i64
            ));
        } else if internal_error {
            root.level = Level::Error;
            msgs.push("vLLM: 500 Internal Server Error (engine step failed)".to_string());
        }
        if escalate {
            root.level = root.level.max(Level::Warning);
            msgs.push(format!(
                "low confidence {confidence:.2} < 0.70: escalating to {sonnet}"
            ));
        }
        if orphan {
            root.level = root.level.max(Level::Warning);
            self.orphan_count += 1;
            if hostile && self.orphan_count % 10 == 1 {
                msgs.push(traces::HOSTILE_STATUS.to_string());
            } else {
                msgs.push(format!(
                    "context ac-{} not found in shared memory (dual-write missing)",
                    s.id
                ));
            }
        }
        if !msgs.is_empty() {
            root.status = Some(msgs.join("; "));
        }

        let mut gen_start = at + wait;
        let mut spans = vec![root];
        if with_tool {
            let tool_end = gen_start + (((end - gen_start) as f64) * tool_frac).round() as i64;
            spans.push(SpanSpec::span(
                tool_id,
                Some(root_id.clone()),
                tool_name,
                gen_start,
                tool_end,
            ));
            gen_start = tool_end;
        }
        let mut gen = SpanSpec::span(
            gen_id,
            Some(root_id),
            traces::EKS_GENERATION,
            gen_start,
            end,
        );
        gen.generation = Some((self.paths[p].model.clone(), tin, tout, cost));
        if error {
            gen.level = Level::Error;
        }
        spans.push(gen);
        let ctx = TraceCtx {
            start: self.start,
            trace_id: &trace_id,
            session: &s.id,
            tag: &self.paths[p].tag,
            side: Side::Eks,
        };
        let built: Vec<Observation> = spans.into_iter().map(|sp| ctx.build(sp)).collect();
        for o in built {
            self.pending.push((end, o));
        }

        if escalate {
            let delay = self.rng.service.random_range(150..450);
            let seq = self.next_seq();
            self.follow_ups.push(PendingCall {
                start: end + delay,
                seq,
                session: s,
                what: FollowUp::Escalation {
                    context_tokens: tin + tout,
                },
            });
        } else if timeout && !retry {
            let delay = self.rng.service.random_range(200..1000);
            let seq = self.next_seq();
            self.follow_ups.push(PendingCall {
                start: end + delay,
                seq,
                session: s,
                what: FollowUp::Retry { path: p },
            });
        } else {
            self.finish_turn(s, end);
        }
    }

    /// Serve one AgentCore call; returns its end (rel ms).
    pub(super) fn serve_agentcore(
        &mut self,
        s: &mut Session,
        p: usize,
        at: i64,
        t: u64,
        context_tokens: u64,
    ) -> i64 {
        let escalated = context_tokens > 0;
        let (mu, sigma, tok_in, tok_out, price_in, price_out, tw) = {
            let ps = &self.paths[p];
            (
                ps.mu,
                ps.sigma,
                ps.tok_in,
                ps.tok_out,
                ps.price_in,
                ps.price_out,
                ps.throttle_weight,
            )
        };
        let thr = self.scenario.throttle_share(t) * tw;
        let r = &mut self.rng.service;
        let mut lat = lognormal(r, mu, sigma) * (1.0 + 2.0 * thr);
        // Turns that call the in-VPC MCP tool wait for it (mcp-privatelink-degraded).
        let mcp = self.scenario.mcp_extra_ms(t);
        if mcp > 0.0 {
            let sr = &mut self.rng.scenario;
            if sr.random::<f64>() < mcp::TOOL_SHARE {
                lat += mcp * sr.random_range(0.7..1.3);
            }
        }
        let internal_error = r.random::<f64>() < BASE_ERROR_RATE;
        let mut tin = tokens(r, tok_in) + context_tokens;
        let mut tout = tokens(r, tok_out);
        let runtime = AC_RUNTIME_S * (0.6 + 0.8 * r.random::<f64>());
        let (throttled, exhausted) = if thr > 0.0 {
            let sr = &mut self.rng.scenario;
            let throttled = sr.random::<f64>() < thr;
            let exhausted = throttled && sr.random::<f64>() < THROTTLE_FAIL_SHARE;
            if throttled {
                lat += sr.random_range(200.0..1200.0);
            }
            (throttled, exhausted)
        } else {
            (false, false)
        };
        let error = internal_error || exhausted;
        if exhausted {
            tin = 0;
        }
        if error {
            tout = 0;
        }
        let cost = tin as f64 / 1000.0 * price_in + tout as f64 / 1000.0 * price_out;
        self.record(p, lat, error, throttled, tin, tout);
        if !exhausted {
            let ps = &mut self.paths[p];
            ps.usage_vcpu_s += runtime * AC_VCPU;
            ps.usage_gb_s += runtime * AC_GB;
        }

        // Trace (not delivered when this session's dual-write is broken).
        // A session that has been on the EKS side shares its context through the dual-write.
        let hybrid = escalated || s.had_eks;
        s.had_ac = true;
        let broken = self.decide_broken(s, t);
        let hostile = self.scenario.hostile_strings(t);
        let tr = &mut self.rng.traces;
        let lat_ms = lat.round() as i64;
        let end = at + lat_ms.max(1);
        let trace_id = format!("ac-{}-{}", s.id, self.start_unix_ms + at);
        let root_id = traces::hex16(tr);
        let gen_id = traces::hex16(tr);
        let with_tool = !exhausted && tr.random::<f64>() < 0.5;
        let tool_id = if with_tool {
            traces::hex16(tr)
        } else {
            String::new()
        };
        let tool_name = traces::maybe_hostile(
            tr,
            if hostile { HOSTILE_SHARE } else { 0.0 },
            traces::TOOL_SPAN,
        );
        let tool_frac = 0.15 + 0.15 * tr.random::<f64>();
        let dw_id = if hybrid {
            traces::hex16(tr)
        } else {
            String::new()
        };
        let dw_ms = if hybrid {
            tr.random_range(3..12).min(lat_ms / 4)
        } else {
            0
        };
        if broken {
            return end;
        }

        let mut root = SpanSpec::span(root_id.clone(), None, traces::ROOT_SPAN, at, end);
        let mut gen_start = at + (lat_ms / 20).clamp(1, 15);
        let mut spans = Vec::with_capacity(4);
        if throttled {
            root.level = if exhausted {
                Level::Error
            } else {
                Level::Warning
            };
            root.status = Some(if exhausted {
                "ThrottlingException: Rate exceeded (retries exhausted)".to_string()
            } else {
                "ThrottlingException: Rate exceeded (succeeded after retry)".to_string()
            });
        } else if internal_error {
            root.level = Level::Error;
            root.status = Some("InternalServerException: model invocation failed".to_string());
        }
        spans.push(root);
        if with_tool {
            let tool_end = gen_start + (((end - gen_start) as f64) * tool_frac).round() as i64;
            spans.push(SpanSpec::span(
                tool_id,
                Some(root_id.clone()),
                tool_name,
                gen_start,
                tool_end,
            ));
            gen_start = tool_end;
        }
        let gen_end = (end - dw_ms).max(gen_start);
        let mut gen = SpanSpec::span(
            gen_id,
            Some(root_id.clone()),
            traces::AC_GENERATION,
            gen_start,
            gen_end,
        );
        gen.generation = Some((self.paths[p].model.clone(), tin, tout, cost));
        if error {
            gen.level = Level::Error;
        }
        spans.push(gen);
        if hybrid {
            spans.push(SpanSpec::span(
                dw_id,
                Some(root_id),
                traces::DUAL_WRITE_SPAN,
                gen_end,
                end,
            ));
        }
        let ctx = TraceCtx {
            start: self.start,
            trace_id: &trace_id,
            session: &s.id,
            tag: &self.paths[p].tag,
            side: Side::Agentcore,
        };
        let built: Vec<Observation> = spans.into_iter().map(|sp| ctx.build(sp)).collect();
        for o in built {
            self.pending.push((end, o));
        }
        end
    }
}
