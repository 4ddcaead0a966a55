//! The OTLP/HTTP trace receiver (`[otlp] listen`): a trace source the platform pushes to. An
//! OpenTelemetry Collector tees the spans it sends to Langfuse here as well, so the dashboard
//! (or team mode's collector, once for every viewer) sees them within a second instead of
//! polling for them. `POST /v1/traces` with protobuf or JSON, as the OTLP specification asks:
//!
//! - **Bounded**: at most `max_queued_spans` spans wait for the app; beyond that the answer is
//!   `429 Too Many Requests` with `Retry-After`, which OTLP exporters honour by retrying later.
//!   A body over `max_body_bytes` is refused (413) before it is read whole.
//! - **Auth**: with `bearer_token_env`, requests without `Authorization: Bearer <token>` get 401;
//!   the token is never logged or shown.
//! - **Health**: `ok` while listening (re-confirmed every `HEARTBEAT`); `error` for good when
//!   the address cannot be bound.
//! - **Standby** (team mode): a collector that does not hold the lease answers `503` with
//!   `Retry-After` and closes the connection, so the sender's retry reaches the leader through
//!   the Service; only the leader's spans reach the viewers.
//!
//! Decoding and mapping are pure (`decode.rs`); this file only owns the socket.
pub mod decode;

use crate::config::Config;
use crate::model::update::{Observation, SourceHealth, SourceName, SourceState, Update};
use crate::sources::{Source, UpdateTx};
use bytes::Bytes;
use chrono::Utc;
use decode::{Encoding, Rules};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// How often a listening receiver re-confirms its health and coverage.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// Observations per `Update` (one app-loop turn stays small).
const CHUNK: usize = 2000;

/// Counters readable while the receiver runs (tests, benchmarks).
#[derive(Debug, Default)]
pub struct OtlpStats {
    pub requests: AtomicU64,
    pub spans: AtomicU64,
    pub rejected_spans: AtomicU64,
    /// Requests answered 429 because the queue was full.
    pub throttled: AtomicU64,
}

#[derive(Clone)]
struct Ctx {
    /// While false (a standby collector), spans are turned away.
    gate: Option<Arc<std::sync::atomic::AtomicBool>>,
    rules: Arc<Rules>,
    token: Option<Arc<str>>,
    max_body: usize,
    max_queued: usize,
    queued: Arc<AtomicUsize>,
    queue: mpsc::UnboundedSender<Vec<Observation>>,
    stats: Arc<OtlpStats>,
}

pub struct OtlpSource {
    listen: String,
    rules: Rules,
    token: Result<Option<String>, String>,
    max_body: usize,
    max_queued: usize,
    stats: Arc<OtlpStats>,
    gate: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl OtlpSource {
    /// Accept spans only while `gate` is true (team mode: while this collector leads).
    pub fn with_gate(mut self, gate: Arc<std::sync::atomic::AtomicBool>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// `None` without an `[otlp]` section. The token is read from its variable now.
    pub fn from_config(cfg: &Config) -> Option<OtlpSource> {
        let o = cfg.otlp.as_ref()?;
        let token = match &o.bearer_token_env {
            None => Ok(None),
            Some(var) => match std::env::var(var) {
                Ok(t) if !t.trim().is_empty() => Ok(Some(t.trim().to_string())),
                _ => Err(format!(
                    "otlp.bearer_token_env: ${var} is not set; the receiver would accept anyone"
                )),
            },
        };
        Some(OtlpSource {
            listen: o.listen.clone(),
            rules: Rules::from_config(cfg),
            token,
            max_body: o.max_body_bytes,
            max_queued: o.max_queued_spans,
            stats: Arc::new(OtlpStats::default()),
            gate: None,
        })
    }

    pub fn stats(&self) -> Arc<OtlpStats> {
        self.stats.clone()
    }

    async fn run(self, tx: UpdateTx) {
        let health = |state, error: Option<String>, permanent| {
            Update::Health(SourceHealth {
                source: SourceName::Otlp,
                state,
                last_success: (state == SourceState::Ok).then(Utc::now),
                error,
                permanent,
            })
        };
        let token = match self.token {
            Ok(t) => t,
            Err(e) => {
                let _ = tx.send(health(SourceState::Error, Some(e), true)).await;
                return;
            }
        };
        let listener = match tokio::net::TcpListener::bind(&self.listen).await {
            Ok(l) => l,
            Err(e) => {
                let msg = format!("otlp.listen: cannot listen on {}: {e}", self.listen);
                tracing::warn!("{msg}");
                let _ = tx.send(health(SourceState::Error, Some(msg), true)).await;
                return;
            }
        };
        tracing::info!(listen = %self.listen, "otlp receiver listening");
        let started = Utc::now();
        let (qtx, mut qrx) = mpsc::unbounded_channel::<Vec<Observation>>();
        let queued = Arc::new(AtomicUsize::new(0));
        let ctx = Ctx {
            gate: self.gate,
            rules: Arc::new(self.rules),
            token: token.map(Arc::from),
            max_body: self.max_body,
            max_queued: self.max_queued,
            queued: queued.clone(),
            queue: qtx,
            stats: self.stats.clone(),
        };
        // The queue is bounded by `queued` (counted in spans), not by the channel.
        let fwd_tx = tx.clone();
        let forward = tokio::spawn(async move {
            while let Some(batch) = qrx.recv().await {
                let n = batch.len();
                for chunk in batch.chunks(CHUNK) {
                    if fwd_tx
                        .send(Update::Observations {
                            items: chunk.to_vec(),
                        })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                queued.fetch_sub(n, Ordering::AcqRel);
                // What arrived is complete up to now: rates from it need not wait for the beat.
                let through = Utc::now();
                if fwd_tx
                    .send(Update::TracesCovered {
                        from: started,
                        through,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        let mut beat = tokio::time::interval(HEARTBEAT);
        loop {
            tokio::select! {
                _ = beat.tick() => {
                    // Pushed spans are complete up to now: rates from them divide by the time
                    // since the receiver started.
                    let now = Utc::now();
                    if tx.send(Update::TracesCovered { from: started, through: now }).await.is_err()
                        || tx.send(health(SourceState::Ok, None, false)).await.is_err()
                    {
                        break;
                    }
                }
                conn = listener.accept() => {
                    let Ok((stream, _)) = conn else { continue };
                    let ctx = ctx.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| handle(req, ctx.clone()));
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                            .await;
                    });
                }
                _ = tx.closed() => break,
            }
        }
        forward.abort();
    }
}

fn answer(status: StatusCode, text: impl Into<String>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(text.into())));
    *r.status_mut() = status;
    r
}

async fn handle(
    req: Request<Incoming>,
    ctx: Ctx,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    ctx.stats.requests.fetch_add(1, Ordering::Relaxed);
    if req.uri().path() != "/v1/traces" {
        return Ok(answer(StatusCode::NOT_FOUND, "only /v1/traces is served"));
    }
    if req.method() != hyper::Method::POST {
        return Ok(answer(StatusCode::METHOD_NOT_ALLOWED, "POST OTLP traces"));
    }
    if ctx
        .gate
        .as_ref()
        .is_some_and(|g| !g.load(Ordering::Acquire))
    {
        let mut r = answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "a standby collector: retry (the leader takes the spans)",
        );
        let h = r.headers_mut();
        h.insert(
            hyper::header::RETRY_AFTER,
            hyper::header::HeaderValue::from_static("1"),
        );
        // A new connection for the retry: the Service may route it to the leader.
        h.insert(
            hyper::header::CONNECTION,
            hyper::header::HeaderValue::from_static("close"),
        );
        return Ok(r);
    }
    if let Some(t) = &ctx.token {
        let ok = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|v| v.trim() == &**t);
        if !ok {
            return Ok(answer(
                StatusCode::UNAUTHORIZED,
                "a bearer token is required",
            ));
        }
    }
    let header = |name| {
        req.headers()
            .get(name)
            .and_then(|v: &hyper::header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let Some(enc) = Encoding::from_content_type(header(hyper::header::CONTENT_TYPE).as_deref())
    else {
        return Ok(answer(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/x-protobuf or application/json",
        ));
    };
    if header(hyper::header::CONTENT_ENCODING).is_some_and(|e| e != "identity") {
        return Ok(answer(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "compressed bodies are not accepted: set the exporter's compression to none",
        ));
    }
    let too_big = || {
        answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body is larger than otlp.max_body_bytes ({})",
                ctx.max_body
            ),
        )
    };
    if header(hyper::header::CONTENT_LENGTH)
        .and_then(|l| l.parse::<usize>().ok())
        .is_some_and(|l| l > ctx.max_body)
    {
        return Ok(too_big());
    }
    let body = match Limited::new(req.into_body(), ctx.max_body).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(too_big()),
    };
    let decoded = match decode::decode(&body, enc, &ctx.rules) {
        Ok(d) => d,
        Err(e) => return Ok(answer(StatusCode::BAD_REQUEST, e.0)),
    };
    ctx.stats
        .rejected_spans
        .fetch_add(decoded.rejected, Ordering::Relaxed);
    let n = decoded.observations.len();
    // Reserve room for the batch, or tell the exporter to come back later.
    let reserved = ctx
        .queued
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
            (q + n <= ctx.max_queued).then_some(q + n)
        })
        .is_ok();
    if !reserved {
        ctx.stats.throttled.fetch_add(1, Ordering::Relaxed);
        let mut r = answer(StatusCode::TOO_MANY_REQUESTS, "the ingest queue is full");
        r.headers_mut().insert(
            hyper::header::RETRY_AFTER,
            hyper::header::HeaderValue::from_static("1"),
        );
        return Ok(r);
    }
    ctx.stats.spans.fetch_add(n as u64, Ordering::Relaxed);
    if n > 0 && ctx.queue.send(decoded.observations).is_err() {
        return Ok(answer(StatusCode::SERVICE_UNAVAILABLE, "shutting down"));
    }
    // An empty ExportTraceServiceResponse: zero bytes in protobuf, `{}` in JSON.
    let mut r = answer(
        StatusCode::OK,
        if enc == Encoding::Json { "{}" } else { "" },
    );
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(match enc {
            Encoding::Json => "application/json",
            Encoding::Protobuf => "application/x-protobuf",
        }),
    );
    Ok(r)
}

/// `hybridtop check`: the address can be listened on, and the token (if any) is set.
pub async fn check(cfg: &Config) -> Vec<crate::sources::CheckLine> {
    let Some(o) = cfg.otlp.as_ref() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let (ok, detail) = match tokio::net::TcpListener::bind(&o.listen).await {
        Ok(_) => (
            true,
            format!("free: senders post to http://{}/v1/traces", o.listen),
        ),
        Err(e) => (false, format!("cannot listen there: {e}")),
    };
    out.push(crate::sources::CheckLine {
        source: "otlp",
        check: format!("listen on {}", o.listen),
        ok,
        detail,
    });
    if let Some(var) = &o.bearer_token_env {
        let set = std::env::var(var).is_ok_and(|t| !t.trim().is_empty());
        out.push(crate::sources::CheckLine {
            source: "otlp",
            check: format!("bearer token ${var}"),
            ok: set,
            detail: if set {
                "set (never shown)".into()
            } else {
                format!("${var} is not set: export it, or remove otlp.bearer_token_env")
            },
        });
    }
    out
}

impl Source for OtlpSource {
    fn name(&self) -> &'static str {
        "otlp"
    }

    fn spawn(self: Box<Self>, tx: UpdateTx) -> JoinHandle<()> {
        tokio::spawn(self.run(tx))
    }
}
