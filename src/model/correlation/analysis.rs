//! Analysis of a session: sides, hand-offs, escalations, orphans and context loss, as rows for
//! the lists and the detail for the waterfall.
use super::*;

/// Session totals over a window.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SessionCounts {
    pub total: u64,
    pub hybrid: u64,
    pub escalated: u64,
    pub handoffs: u64,
    /// Sessions with at least one orphan span.
    pub orphaned: u64,
    /// `orphaned hybrid / hybrid`, `None` without hybrid sessions.
    pub context_loss_rate: Option<f64>,
}

/// Every retained session as a row, newest first, plus what the counts need.
#[derive(Clone, Debug, Default)]
pub struct Rows {
    pub rows: Vec<SessionRow>,
    /// Last activity of each row's session (ms), parallel to `rows`.
    pub last_activity_ms: Vec<i64>,
    /// The rows stay exact until `now` reaches this (the next pending orphan deadline).
    pub valid_until_ms: i64,
}

impl Rows {
    /// Totals over sessions active at or after `from_ms`.
    pub fn counts(&self, from_ms: i64) -> SessionCounts {
        window_counts(&self.rows, &self.last_activity_ms, from_ms)
    }
}

/// Totals over the rows whose session was active at or after `from_ms`.
pub fn window_counts(rows: &[SessionRow], last_activity_ms: &[i64], from_ms: i64) -> SessionCounts {
    let mut c = SessionCounts::default();
    let mut orphaned_hybrid = 0u64;
    for (r, &last) in rows.iter().zip(last_activity_ms) {
        if last < from_ms {
            continue;
        }
        c.total += 1;
        c.hybrid += u64::from(r.hybrid);
        c.escalated += u64::from(r.escalated);
        c.handoffs += u64::from(r.handoffs);
        if r.orphan_spans > 0 {
            c.orphaned += 1;
            orphaned_hybrid += u64::from(r.hybrid);
        }
    }
    c.context_loss_rate = (c.hybrid > 0).then(|| orphaned_hybrid as f64 / c.hybrid as f64);
    c
}

/// Per-span verdicts for the detail view.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct SpanFlags {
    pub(super) handoff: bool,
    pub(super) escalation: bool,
    pub(super) orphan: bool,
    /// Side and path, inherited from the trace when the span has none of its own.
    pub(super) side: Option<Side>,
    pub(super) path: Option<u16>,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Analysis {
    pub(super) sides: [bool; 2],
    pub(super) paths: Vec<u16>,
    pub(super) handoffs: u32,
    pub(super) escalated: bool,
    pub(super) orphans: u32,
    pub(super) errors: u32,
    pub(super) cost: Option<f64>,
    pub(super) hybrid: bool,
    pub(super) next_deadline: Option<i64>,
}

impl Correlator {
    pub(super) fn first_ac_of(&self, key: &str) -> Option<i64> {
        let slot = self.slot_of_key(hash_str(self.seed, key), key)?;
        self.slots.get(slot as usize)?.as_ref()?.first_ac_ms
    }

    pub(super) fn analyse(
        &self,
        sess: &Session,
        now_ms: i64,
        mut flags: Option<&mut Vec<SpanFlags>>,
    ) -> Analysis {
        let mut a = Analysis::default();
        let mut prev: Option<Side> = None;
        let mut declared = false;
        let ts = sess.trace_sides();
        for s in &sess.spans {
            let mut f = SpanFlags::default();
            let (side, path) = Session::effective(ts.as_ref(), s);
            f.side = side;
            f.path = path;
            if let Some(side) = side {
                a.sides[side_idx(side)] = true;
                if let Some(p) = prev {
                    if p != side {
                        a.handoffs += 1;
                        f.handoff = true;
                        if p == Side::Eks && side == Side::Agentcore {
                            a.escalated = true;
                            f.escalation = true;
                        }
                    }
                }
                prev = Some(side);
            }
            if let Some(pi) = path {
                if !a.paths.contains(&pi) {
                    a.paths.push(pi);
                }
            }
            if s.level == Level::Error {
                a.errors += 1;
            }
            if let Some(c) = s.cost_usd() {
                a.cost = Some(a.cost.unwrap_or(0.0) + c);
            }
            // A span of unknown side may declare at ingest; it counts unless its trace turned
            // out to be AgentCore's (the AgentCore side does not declare AgentCore parents).
            if s.parent != Parent::None && side != Some(Side::Agentcore) {
                declared = true;
                let deadline = s.start_ms.saturating_add(self.grace_ms);
                if now_ms < deadline {
                    a.next_deadline = Some(a.next_deadline.map_or(deadline, |d| d.min(deadline)));
                } else {
                    let ac = match s.parent {
                        Parent::Other(x, y) => s
                            .texts
                            .str(F_PARENT)
                            .get(x as usize..y as usize)
                            .filter(|k| !k.is_empty())
                            .and_then(|k| self.first_ac_of(k)),
                        _ => sess.first_ac_ms,
                    };
                    if ac.is_none_or(|t| t > deadline) {
                        a.orphans += 1;
                        f.orphan = true;
                    }
                }
            }
            if let Some(v) = flags.as_deref_mut() {
                v.push(f);
            }
        }
        a.hybrid = (a.sides[0] && a.sides[1]) || declared;
        a
    }

    pub(super) fn row(&self, sess: &Session, a: &Analysis, redact: bool) -> SessionRow {
        let first = sess.first_start_ms();
        let mut sides = Vec::with_capacity(2);
        if a.sides[0] {
            sides.push(Side::Agentcore);
        }
        if a.sides[1] {
            sides.push(Side::Eks);
        }
        SessionRow {
            session_id: text(&sess.key, redact),
            sides,
            paths: a
                .paths
                .iter()
                .filter_map(|&i| self.paths.get(i as usize).map(|p| p.id.clone()))
                .collect(),
            spans: sess.spans.len() as u32,
            started_at: ms_to_time(first),
            duration_ms: (sess.last_activity_ms.saturating_sub(first)).max(0) as f64,
            cost_usd: a.cost.filter(|c| c.is_finite()),
            escalated: a.escalated,
            handoffs: a.handoffs,
            orphan_spans: a.orphans,
            errors: a.errors,
            hybrid: a.hybrid,
        }
    }

    /// Every retained session as a row, newest first (by start, ties by id).
    pub fn rows(&self, now: DateTime<Utc>, redact: bool) -> Rows {
        let now_ms = now.timestamp_millis();
        let mut order: Vec<(i64, &str, &Session)> = self
            .slots
            .iter()
            .flatten()
            .map(|s| (s.first_start_ms(), &*s.key, s))
            .collect();
        order.sort_unstable_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let mut out = Rows {
            rows: Vec::with_capacity(order.len()),
            last_activity_ms: Vec::with_capacity(order.len()),
            valid_until_ms: i64::MAX,
        };
        for (_, _, sess) in order {
            let a = self.analyse(sess, now_ms, None);
            if let Some(d) = a.next_deadline {
                out.valid_until_ms = out.valid_until_ms.min(d);
            }
            out.rows.push(self.row(sess, &a, redact));
            out.last_activity_ms.push(sess.last_activity_ms);
        }
        out
    }

    /// Totals over sessions active within `window` of `now`.
    pub fn counts(&self, now: DateTime<Utc>, window: Duration) -> SessionCounts {
        let rows = self.rows(now, false);
        rows.counts(now.timestamp_millis().saturating_sub(ms(window)))
    }

    /// Summary row of one session (by bare id).
    pub fn summary(&self, session: &str, now: DateTime<Utc>) -> Option<SessionRow> {
        let sess = self.find(session, false)?;
        let a = self.analyse(sess, now.timestamp_millis(), None);
        Some(self.row(sess, &a, false))
    }

    pub(super) fn find(&self, id: &str, redact: bool) -> Option<&Session> {
        if let Some(slot) = self.slot_of_key(hash_str(self.seed, id), id) {
            return self.slots.get(slot as usize)?.as_ref();
        }
        // The UI selects by the id it displays (cleaned, maybe masked).
        self.slots
            .iter()
            .flatten()
            .find(|s| text(&s.key, redact) == id)
    }

    /// The spans of one session for the waterfall, sorted by start.
    pub fn detail(&self, session: &str, now: DateTime<Utc>, redact: bool) -> Option<SessionDetail> {
        let sess = self.find(session, redact)?;
        let mut flags = Vec::with_capacity(sess.spans.len());
        self.analyse(sess, now.timestamp_millis(), Some(&mut flags));
        let first = sess.first_start_ms();
        let spans = sess
            .spans
            .iter()
            .zip(flags)
            .map(|(s, f)| SpanView {
                id: text(s.id(), redact),
                trace_id: text(s.texts.str(F_TRACE), redact),
                parent_observation_id: opt_text(s.texts.get(F_POBS), redact),
                name: text(s.texts.str(F_NAME), redact),
                side: f.side,
                path: f
                    .path
                    .and_then(|i| self.paths.get(i as usize))
                    .map(|p| p.id.clone()),
                start_ms: s.start_ms.saturating_sub(first) as f64,
                duration_ms: s.duration_ms().map(|d| d as f64),
                model: opt_text(s.texts.get(F_MODEL), redact),
                level: s.level,
                status_message: opt_text(s.texts.get(F_STATUS), redact),
                input_tokens: s.input_tokens(),
                output_tokens: s.output_tokens(),
                cost_usd: s.cost_usd(),
                handoff: f.handoff,
                escalation: f.escalation,
                orphan_parent: if f.orphan {
                    opt_text(s.texts.get(F_PARENT), redact)
                } else {
                    None
                },
                input: if redact {
                    None
                } else {
                    opt_text(s.texts.get(F_INPUT), false)
                },
                output: if redact {
                    None
                } else {
                    opt_text(s.texts.get(F_OUTPUT), false)
                },
                html_path: opt_text(s.texts.get(F_HTML), redact),
                user_id: s.texts.get(F_USER).map(|u| {
                    if redact {
                        // Any string can be a user id: mask it whole, not by pattern.
                        crate::model::redact::USER_MASK.to_string()
                    } else {
                        text(u, false)
                    }
                }),
            })
            .collect();
        Some(SessionDetail {
            session_id: text(&sess.key, redact),
            started_at: ms_to_time(first),
            spans,
            roots_only: false,
        })
    }
}
