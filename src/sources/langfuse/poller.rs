//! One poll of the observation window: v2 cursor pages or v1 pages, re-reading the overlap,
//! delivering only new or changed observations (content hashes), within the request budget.
use super::children::{whole_traces_filter, Sampler, IDS_PER_REQUEST, SAMPLE_PER_POLL};
use super::*;
use crate::model::update::{TraceProgress, WaterfallReport};
use crate::sources::{DemandRx, TraceDemand};

/// A whole-traces read follows at most this many pages (50 traces of a few hundred
/// observations fit in one).
const MAX_WHOLE_PAGES: u32 = 20;

/// What one poll produced: new or changed observations, and the error that cut it short.
#[derive(Debug, Default)]
pub struct Outcome {
    pub(super) items: Vec<Observation>,
    pub(super) skipped: u64,
    pub(super) error: Option<ApiError>,
    /// The window read completely, when the poll succeeded.
    pub(super) covered: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Observations read in this pass (repeats included), and those already delivered.
    pub(super) read: u64,
    pub(super) delivered: u64,
}

pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The v2 `filter` for the roots of `[from, to)`: it takes precedence over the query's own
/// filters, so the window is in it too.
pub(super) fn roots_filter(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    serde_json::json!([
        {"type": "datetime", "column": "startTime", "operator": ">=", "value": ts(from)},
        {"type": "datetime", "column": "startTime", "operator": "<", "value": ts(to)},
        {"type": "null", "column": "parentObservationId", "operator": "is null", "value": ""},
    ])
    .to_string()
}

/// Send observations in updates of at most `CHUNK` (one update, one app-loop turn, stays
/// small); false once the app is gone.
pub(super) async fn send_observations(tx: &UpdateTx, items: &[Observation]) -> bool {
    for chunk in items.chunks(CHUNK) {
        let u = Update::Observations {
            items: chunk.to_vec(),
        };
        if tx.send(u).await.is_err() {
            return false;
        }
    }
    true
}

/// One v2 observations page, decoded.
async fn v2_page(api: &mut Api, q: &[(&str, String)]) -> Result<wire::V2Page, ApiError> {
    let v = api
        .get("/api/public/v2/observations", q, "v2 observations")
        .await?
        .ok_or(ApiError::NotFound {
            base: api.base().to_string(),
            what: NotFound::V2,
        })?;
    serde_json::from_value(v).map_err(|e| ApiError::Decode {
        what: "v2 observations",
        why: e.to_string(),
    })
}

/// The cursor to follow after a page, if any (a repeated one would loop forever).
fn next_cursor(page: &wire::V2Page, cursor: &Option<String>) -> Option<String> {
    page.meta
        .cursor
        .clone()
        .filter(|c| !c.is_empty() && cursor.as_deref() != Some(c.as_str()))
}

pub(super) fn content_hash(o: &Observation) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match serde_json::to_vec(o) {
        Ok(bytes) => bytes.hash(&mut h),
        // Cannot happen for plain data; hash the id so the observation is sent once.
        Err(_) => o.id.hash(&mut h),
    }
    h.finish()
}

/// The polling state: API version, the next window's start, what was sent, v1 trace details.
pub(super) struct Poller {
    pub(super) mode: LangfuseApi,
    pub(super) version: Option<ApiVersion>,
    pub(super) lookback: Duration,
    pub(super) overlap: super::overlap::AdaptiveOverlap,
    pub(super) parent_key: String,
    /// The field groups of a poll (`io` left out when polling roots first)…
    pub(super) fields: String,
    /// …and of a whole-traces read the operator asked for (`io` when `fetch_io`).
    pub(super) demand_io: bool,
    /// v2: only root observations (`parentObservationId` is null), through `filter`.
    pub(super) roots_first: bool,
    pub(super) next_from: Option<DateTime<Utc>>,
    /// id → (start ms, content hash) of what was sent and may still be fetched again.
    pub(super) sent: HashMap<String, (i64, u64)>,
    pub(super) traces: HashMap<String, TraceInfo>,
    /// Observations per second of window in the last complete pass: the estimate of how many
    /// a pass in progress will read.
    pub(super) rate: Option<f64>,
    /// Where pages go as they arrive (none: all at the end, as the tests of one poll want).
    pub(super) sink: Option<UpdateTx>,
    /// The pass in progress: its window start and size estimate.
    pass: Option<(DateTime<Utc>, Option<u64>)>,
    /// Roots first: the sessions whose children are read after each poll.
    pub(super) sampler: Sampler,
    /// Roots first: the app's asks for whole traces (opened waterfalls).
    pub(super) demands: Option<DemandRx>,
}

impl Poller {
    pub(super) fn new(s: &Settings) -> Poller {
        // Only the groups the dashboard shows: names, levels, session and user (basic), the
        // model, tokens and cost (usage), the parent reference (metadata), the trace's tags
        // (trace_context) and, for the span detail, input/output (io).
        // `time` (createdAt, updatedAt) measures how late observations arrive (the overlap).
        // Polling roots first, `io` (the heaviest group) is read only for opened waterfalls.
        let mut fields = String::from("core,basic,time,model,usage,metadata,trace_context");
        if s.fetch_io && !s.roots_first {
            fields.push_str(",io");
        }
        Poller {
            mode: s.api,
            version: match s.api {
                LangfuseApi::V2 => Some(ApiVersion::V2),
                LangfuseApi::V1 => Some(ApiVersion::V1),
                LangfuseApi::Auto => None,
            },
            lookback: s.lookback,
            overlap: super::overlap::AdaptiveOverlap::new(
                s.min_overlap,
                s.overlap,
                s.adaptive_overlap,
            ),
            parent_key: s.parent_key.clone(),
            fields,
            demand_io: s.fetch_io,
            roots_first: s.roots_first,
            next_from: None,
            sent: HashMap::new(),
            traces: HashMap::new(),
            rate: None,
            sink: None,
            pass: None,
            sampler: Sampler::default(),
            demands: None,
        }
    }

    /// Polling roots only (v2 with `roots_first`; v1 reads everything).
    pub(super) fn roots_only(&self) -> bool {
        self.roots_first && self.version == Some(ApiVersion::V2)
    }

    /// Every observation of `trace_ids` (a `filter` on `traceId`), pages followed.
    pub(super) async fn read_whole(
        &mut self,
        api: &mut Api,
        trace_ids: &[String],
        io: bool,
    ) -> Result<(Vec<Observation>, u64), ApiError> {
        let mut fields = self.fields.clone();
        if io {
            fields.push_str(",io");
        }
        let filter = whole_traces_filter(trace_ids);
        let (mut all, mut skipped) = (Vec::new(), 0);
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_WHOLE_PAGES {
            let mut q = vec![
                ("fields", fields.clone()),
                ("limit", V2_PAGE.to_string()),
                ("filter", filter.clone()),
            ];
            if let Some(c) = &cursor {
                q.push(("cursor", c.clone()));
            }
            let page = v2_page(api, &q).await?;
            let (items, n) = wire::observations(&page.data, &self.parent_key, &self.traces);
            all.extend(items);
            skipped += n;
            cursor = next_cursor(&page, &cursor);
            if cursor.is_none() {
                break;
            }
        }
        Ok((all, skipped))
    }

    async fn send_whole(&mut self, items: Vec<Observation>, whole: Vec<String>) {
        let Some(tx) = &self.sink else {
            return;
        };
        if !send_observations(tx, &items).await {
            return;
        }
        let _ = tx
            .send(Update::Waterfalls(WaterfallReport {
                source: SourceName::Langfuse,
                roots_only: self.roots_only(),
                whole,
            }))
            .await;
    }

    /// Serve one ask of the app: the whole traces, input and output included. Sent as they
    /// are (not deduplicated: the roots come back with their io).
    pub(super) async fn serve(&mut self, api: &mut Api, d: TraceDemand) {
        if !self.roots_only() {
            return;
        }
        for ids in d.trace_ids.chunks(IDS_PER_REQUEST) {
            match self.read_whole(api, ids, self.demand_io).await {
                Ok((items, _)) => {
                    // Whole: the traces that answered (an id Langfuse does not know, say a
                    // redacted stream's pseudonym, stays roots only).
                    let whole = ids
                        .iter()
                        .filter(|t| items.iter().any(|o| &o.trace_id == *t))
                        .cloned()
                        .collect();
                    self.send_whole(items, whole).await
                }
                Err(e) => {
                    tracing::warn!("langfuse: the children of an opened waterfall: {e}");
                    return;
                }
            }
        }
    }

    /// Serve what the app has asked meanwhile (between pages of a poll: an opened waterfall
    /// does not wait for a long pass).
    pub(super) async fn serve_waiting(&mut self, api: &mut Api) {
        loop {
            let Some(d) = self.demands.as_mut().and_then(|rx| rx.try_recv().ok()) else {
                return;
            };
            self.serve(api, d).await;
        }
    }

    /// After a poll, read the children of the sampled sessions, if the budget has room to
    /// spare (a quarter of it stays for polls and opened waterfalls).
    pub(super) async fn read_sample(&mut self, api: &mut Api, out: &mut Outcome) {
        self.sampler.end_poll();
        if !self.roots_only() || self.sampler.queued() == 0 {
            return;
        }
        let reserve = api.budget.max().div_ceil(4);
        if api.budget.spare(tokio::time::Instant::now()) <= reserve {
            return;
        }
        let ids = self.sampler.take(SAMPLE_PER_POLL);
        match self.read_whole(api, &ids, false).await {
            Ok((mut items, skipped)) => {
                out.skipped += skipped;
                // The roots came with the poll (and may have left its dedupe horizon): only
                // the children are new.
                items.retain(|o| o.parent_observation_id.is_some());
                out.delivered += items.len() as u64;
                self.send_whole(items, ids).await;
            }
            Err(e) => tracing::warn!("langfuse: the sampled sessions' children: {e}"),
        }
    }

    /// Hand what has been read so far to the app (progressive delivery), with the progress of
    /// the pass. A closed channel only means the app is gone; the poll ends soon after.
    pub(super) async fn deliver(&mut self, out: &mut Outcome) {
        let Some(tx) = &self.sink else {
            return;
        };
        let items: Vec<Observation> = out.items.drain(..).collect();
        out.delivered += items.len() as u64;
        if !send_observations(tx, &items).await {
            return;
        }
        if let Some((from, expected)) = self.pass {
            let _ = tx
                .send(Update::TraceProgress(TraceProgress {
                    source: SourceName::Langfuse,
                    read: out.read,
                    expected,
                    from,
                }))
                .await;
        }
    }

    pub(super) fn window(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let back = chrono::Duration::from_std(self.lookback).unwrap_or(chrono::Duration::MAX);
        let first = now.checked_sub_signed(back).unwrap_or(now);
        (self.next_from.unwrap_or(first).min(now), now)
    }

    /// Fetch `[from, now)` completely, then move the window on.
    pub(super) async fn poll(&mut self, api: &mut Api, now: DateTime<Utc>) -> Outcome {
        let (from, to) = self.window(now);
        let mut out = Outcome::default();
        let span = (to - from).num_milliseconds().max(0) as f64 / 1000.0;
        self.pass = Some((from, self.rate.map(|r| (r * span).round() as u64)));
        let result = match self.version {
            Some(ApiVersion::V2) => self.poll_v2(api, from, to, &mut out).await,
            Some(ApiVersion::V1) => self.poll_v1(api, from, to, &mut out).await,
            None => match self.poll_v2(api, from, to, &mut out).await {
                Err(ApiError::NotFound {
                    what: NotFound::V2, ..
                }) if self.mode == LangfuseApi::Auto => {
                    tracing::info!(
                        "langfuse: {} has no v2 observations API (404); using v1",
                        api.base()
                    );
                    self.version = Some(ApiVersion::V1);
                    self.poll_v1(api, from, to, &mut out).await
                }
                other => {
                    if other.is_ok() {
                        self.version = Some(ApiVersion::V2);
                    }
                    other
                }
            },
        };
        match result {
            Ok(()) => {
                out.covered = Some((from, to));
                if span >= 1.0 {
                    self.rate = Some(out.read as f64 / span);
                }
                // The next window starts `overlap` before this one ended (never earlier than
                // this one started): late arrivals are fetched again, dedupe drops repeats.
                let back = chrono::Duration::from_std(self.overlap.overlap())
                    .unwrap_or(chrono::Duration::MAX);
                let next = to.checked_sub_signed(back).unwrap_or(from).max(from);
                self.next_from = Some(next);
                let cut = next.timestamp_millis();
                self.sent.retain(|_, (start, _)| *start >= cut);
            }
            Err(e) => out.error = Some(e),
        }
        out
    }

    /// Keep what is new or changed; remember it.
    pub(super) fn take(&mut self, items: Vec<Observation>, out: &mut Outcome) {
        out.read += items.len() as u64;
        for o in items {
            let h = content_hash(&o);
            let start = o.start.timestamp_millis();
            match self.sent.get(&o.id) {
                Some(&(_, old)) if old == h => {}
                prev => {
                    if prev.is_none() && self.roots_first && o.parent_observation_id.is_none() {
                        self.sampler.offer(o.session_id.as_deref(), &o.trace_id);
                    }
                    self.sent.insert(o.id.clone(), (start, h));
                    out.items.push(o);
                }
            }
        }
    }

    pub(super) async fn poll_v2(
        &mut self,
        api: &mut Api,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        out: &mut Outcome,
    ) -> Result<(), ApiError> {
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES_PER_POLL {
            let mut q = vec![
                ("fields", self.fields.clone()),
                ("limit", V2_PAGE.to_string()),
                ("fromStartTime", ts(from)),
                ("toStartTime", ts(to)),
            ];
            if self.roots_first {
                q.push(("filter", roots_filter(from, to)));
            }
            if let Some(c) = &cursor {
                q.push(("cursor", c.clone()));
            }
            let page = match v2_page(api, &q).await {
                // Servers older than the `trace_context` group refuse it (400): ask without it
                // from now on (paths then come from models; tags are lost) rather than fail
                // every poll.
                Err(ApiError::Http { status: 400, body })
                    if body.contains(TRACE_CONTEXT) && self.fields.contains(TRACE_CONTEXT) =>
                {
                    tracing::warn!(
                        "langfuse: the server does not know the `{TRACE_CONTEXT}` field group \
                         ({body}); polling without trace tags"
                    );
                    self.fields = self
                        .fields
                        .split(',')
                        .filter(|g| *g != TRACE_CONTEXT)
                        .collect::<Vec<_>>()
                        .join(",");
                    continue;
                }
                other => other?,
            };
            let (items, skipped) = wire::observations(&page.data, &self.parent_key, &self.traces);
            out.skipped += skipped;
            self.overlap
                .observe(super::overlap::lateness_ms(&page.data));
            self.take(items, out);
            self.deliver(out).await;
            self.serve_waiting(api).await;
            cursor = next_cursor(&page, &cursor);
            if cursor.is_none() {
                return Ok(());
            }
        }
        Ok(())
    }

    pub(super) async fn poll_v1(
        &mut self,
        api: &mut Api,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        out: &mut Outcome,
    ) -> Result<(), ApiError> {
        // Traces first: v1 observations carry neither sessionId nor tags nor a link.
        let mut page = 1u32;
        while page <= MAX_PAGES_PER_POLL {
            let q = vec![
                ("page", page.to_string()),
                ("limit", V1_PAGE.to_string()),
                ("fromTimestamp", ts(from)),
                ("toTimestamp", ts(to)),
                ("orderBy", "timestamp.desc".to_string()),
                ("fields", "core".to_string()),
            ];
            let p = self
                .v1_page(api, "/api/public/traces", &q, "v1 traces")
                .await?;
            let (traces, skipped) = wire::traces(&p.data);
            out.skipped += skipped;
            let n = p.data.len();
            self.traces.extend(traces);
            if n == 0 || p.meta.total_pages.is_none_or(|t| u64::from(page) >= t) {
                break;
            }
            page += 1;
        }
        let horizon = from.timestamp_millis().saturating_sub(TRACE_CACHE_MS);
        self.traces.retain(|_, t| t.at_ms >= horizon);
        if self.traces.len() > MAX_TRACE_CACHE {
            // Keep the newest.
            let mut at: Vec<i64> = self.traces.values().map(|t| t.at_ms).collect();
            let k = at.len() - MAX_TRACE_CACHE;
            let (_, &mut cut, _) = at.select_nth_unstable(k);
            self.traces.retain(|_, t| t.at_ms > cut);
        }
        let mut page = 1u32;
        while page <= MAX_PAGES_PER_POLL {
            let q = vec![
                ("page", page.to_string()),
                ("limit", V1_PAGE.to_string()),
                ("fromStartTime", ts(from)),
                ("toStartTime", ts(to)),
            ];
            let p = self
                .v1_page(api, "/api/public/observations", &q, "v1 observations")
                .await?;
            let (items, skipped) = wire::observations(&p.data, &self.parent_key, &self.traces);
            out.skipped += skipped;
            let n = p.data.len();
            self.overlap.observe(super::overlap::lateness_ms(&p.data));
            self.take(items, out);
            self.deliver(out).await;
            if n == 0 || p.meta.total_pages.is_none_or(|t| u64::from(page) >= t) {
                break;
            }
            page += 1;
        }
        Ok(())
    }

    pub(super) async fn v1_page(
        &mut self,
        api: &mut Api,
        path: &str,
        q: &[(&str, String)],
        what: &'static str,
    ) -> Result<wire::V1Page, ApiError> {
        let v = api
            .get(path, q, what)
            .await?
            .ok_or_else(|| ApiError::NotFound {
                base: api.base().to_string(),
                what: NotFound::V1,
            })?;
        serde_json::from_value(v).map_err(|e| ApiError::Decode {
            what,
            why: e.to_string(),
        })
    }
}
