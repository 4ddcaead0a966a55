//! A fault-injecting HTTP/1.1 reverse proxy on loopback, in front of one of the test servers.
//!
//! In `Pass` it forwards every request to the upstream and streams the answer back as it comes
//! (Kubernetes watches are long-lived chunked streams). The other modes are the faults a real
//! endpoint shows: `Down` (the port stops listening: connection refused; it listens again on the
//! same port when the mode changes), `Slow` (each request is held, then forwarded), `Status` (a
//! 5xx storm with a body shaped like the service's errors), `TooMany` (429 + Retry-After),
//! `Malformed` (200, the service's content type, a truncated body with control sequences in it)
//! and `Huge` (200, a 50 MB body that never parses). Every mode change cuts the open
//! connections, so a watch that was streaming meets the new mode on its next request.
//!
//! The upstream can be swapped (`set_upstream`) or removed (`None`: 502, as a load balancer
//! answers for a dead backend), which is how a test server is killed and restarted behind the
//! same address.
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};
use tokio::runtime::Runtime;
use tokio::sync::watch;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = BoxBody<Bytes, BoxError>;

/// The size of a `Huge` answer.
pub const HUGE_BYTES: usize = 50 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    Pass,
    /// Nothing listens on the port: connection refused.
    Down,
    /// Hold each request this long, then forward it.
    Slow(Duration),
    /// This status (500, 502, 503, …) with an error body in the service's shape.
    Status(u16),
    /// 429 with `Retry-After` of this many seconds.
    TooMany(u64),
    /// 200 with the service's content type and a truncated, unparseable body.
    Malformed,
    /// 200 with a 50 MB body that does not parse.
    Huge,
}

impl Fault {
    pub fn name(&self) -> String {
        match self {
            Fault::Pass => "pass".into(),
            Fault::Down => "down".into(),
            Fault::Slow(d) => format!("slow {}s", d.as_secs()),
            Fault::Status(s) => format!("http {s}"),
            Fault::TooMany(_) => "http 429".into(),
            Fault::Malformed => "malformed".into(),
            Fault::Huge => "50 MB body".into(),
        }
    }
}

/// What the service's answers look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// Kubernetes API: JSON, errors as `Status` objects.
    Kube,
    /// Langfuse public API: JSON, errors as `{"message": …}`.
    Langfuse,
    /// Cost Explorer: AWS JSON 1.1.
    AwsJson,
    /// CloudWatch: Smithy RPC v2 CBOR.
    Cbor,
}

impl Flavor {
    fn content_type(self) -> &'static str {
        match self {
            Flavor::Kube | Flavor::Langfuse => "application/json",
            Flavor::AwsJson => "application/x-amz-json-1.1",
            Flavor::Cbor => "application/cbor",
        }
    }

    fn error_body(self, status: u16) -> Bytes {
        let (ty, msg) = match status {
            429 => ("ThrottlingException", "Rate exceeded"),
            502 => ("BadGateway", "upstream connect error"),
            503 => ("ServiceUnavailable", "Service Unavailable"),
            _ => ("InternalFailure", "internal error"),
        };
        // Error texts are shown to the operator: carry control sequences that must be cleaned.
        let msg = format!("{msg} \\u001b]0;pwned\\u0007\\u001b[2J");
        match self {
            Flavor::Kube => Bytes::from(format!(
                "{{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{{}},\"status\":\"Failure\",\
                 \"message\":\"{msg}\",\"reason\":\"InternalError\",\"code\":{status}}}"
            )),
            Flavor::Langfuse => Bytes::from(format!("{{\"message\":\"{msg}\"}}")),
            Flavor::AwsJson => Bytes::from(format!("{{\"__type\":\"{ty}\",\"message\":\"{msg}\"}}")),
            Flavor::Cbor => {
                let mut out = Vec::new();
                let v = ciborium::Value::Map(vec![
                    (
                        ciborium::Value::Text("__type".into()),
                        ciborium::Value::Text(ty.into()),
                    ),
                    (
                        ciborium::Value::Text("message".into()),
                        ciborium::Value::Text(
                            msg.replace("\\u001b", "\u{1b}").replace("\\u0007", "\u{7}"),
                        ),
                    ),
                ]);
                ciborium::into_writer(&v, &mut out).expect("cbor");
                Bytes::from(out)
            }
        }
    }

    /// A 200 body cut short, with terminal control sequences and a secret-looking string in
    /// it (an error message quoting it must not reach the screen raw).
    fn malformed_body(self) -> Bytes {
        match self {
            Flavor::Cbor => Bytes::from_static(
                b"\xbf\x67Metrics\x9f\xbf\x62Id\x78\x40\x1b]0;pwned\x07\x1b[31mAKIAIOSFODNN7EXAMPLE",
            ),
            _ => Bytes::from_static(
                b"{\"data\": [{\"id\": \"\x1b]0;pwned\x07\x1b[31mAKIAIOSFODNN7EXAMPLE\", \"items\": [1, 2,",
            ),
        }
    }

    /// 50 MB that never parses: a JSON string, or a CBOR byte string announcing more bytes than
    /// follow.
    fn huge_body(self) -> Bytes {
        static JSON: OnceLock<Bytes> = OnceLock::new();
        static CBOR: OnceLock<Bytes> = OnceLock::new();
        match self {
            Flavor::Cbor => CBOR
                .get_or_init(|| {
                    let mut v = Vec::with_capacity(HUGE_BYTES);
                    v.extend_from_slice(b"\xbf\x67Metrics\x5b");
                    v.extend_from_slice(&(2 * HUGE_BYTES as u64).to_be_bytes());
                    v.resize(HUGE_BYTES, b'x');
                    Bytes::from(v)
                })
                .clone(),
            _ => JSON
                .get_or_init(|| {
                    let mut v = Vec::with_capacity(HUGE_BYTES);
                    v.extend_from_slice(b"{\"data\": \"");
                    v.resize(HUGE_BYTES, b'x');
                    Bytes::from(v)
                })
                .clone(),
        }
    }
}

struct Inner {
    flavor: Flavor,
    addr: SocketAddr,
    fault: Mutex<Fault>,
    upstream: Mutex<Option<SocketAddr>>,
    /// Bumped on every mode change: open connections end, the listener re-checks the mode.
    generation: watch::Sender<u64>,
    client: Client<HttpConnector, Incoming>,
    /// Requests answered with a fault (not forwarded).
    faulted: AtomicU64,
    forwarded: AtomicU64,
}

impl Inner {
    fn fault(&self) -> Fault {
        self.fault.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

pub struct FaultProxy {
    inner: Arc<Inner>,
    runtime: Option<Runtime>,
}

impl FaultProxy {
    /// Listen on a free loopback port, forwarding to `upstream` (`http://host:port`).
    pub fn start(upstream: &str, flavor: Flavor) -> FaultProxy {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("fault-proxy")
            .enable_all()
            .build()
            .expect("runtime");
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("addr");
        let (generation, _) = watch::channel(0u64);
        let client = {
            let _g = rt.enter();
            Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(5))
                .build_http()
        };
        let inner = Arc::new(Inner {
            flavor,
            addr,
            fault: Mutex::new(Fault::Pass),
            upstream: Mutex::new(Some(parse_addr(upstream))),
            generation,
            client,
            faulted: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
        });
        let listener = {
            let _g = rt.enter();
            TcpListener::from_std(std_listener).expect("listener")
        };
        rt.spawn(serve(inner.clone(), Some(listener)));
        FaultProxy {
            inner,
            runtime: Some(rt),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    pub fn set(&self, f: Fault) {
        *self.inner.fault.lock().unwrap_or_else(|p| p.into_inner()) = f;
        self.inner
            .generation
            .send_modify(|g| *g = g.wrapping_add(1));
    }

    pub fn fault(&self) -> Fault {
        self.inner.fault()
    }

    /// Forward to another server (`None`: answer 502 Bad Gateway). Open connections are cut.
    pub fn set_upstream(&self, upstream: Option<&str>) {
        *self
            .inner
            .upstream
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = upstream.map(parse_addr);
        self.inner
            .generation
            .send_modify(|g| *g = g.wrapping_add(1));
    }

    /// Requests answered with a fault so far.
    pub fn faulted(&self) -> u64 {
        self.inner.faulted.load(Ordering::Relaxed)
    }

    /// Requests forwarded upstream so far.
    pub fn forwarded(&self) -> u64 {
        self.inner.forwarded.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            let _ = std::thread::spawn(move || rt.shutdown_timeout(Duration::from_secs(2))).join();
        }
    }
}

fn parse_addr(url: &str) -> SocketAddr {
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("upstream http://host:port")
}

async fn bind(addr: SocketAddr) -> TcpListener {
    loop {
        let s = TcpSocket::new_v4().expect("socket");
        let _ = s.set_reuseaddr(true);
        match s.bind(addr).and_then(|()| s.listen(1024)) {
            Ok(l) => return l,
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

async fn serve(inner: Arc<Inner>, mut listener: Option<TcpListener>) {
    let mut changes = inner.generation.subscribe();
    loop {
        if inner.fault() == Fault::Down {
            // Closing the listener refuses new connections; wait for the next mode.
            listener = None;
            if changes.changed().await.is_err() {
                return;
            }
            continue;
        }
        let l = match listener.take() {
            Some(l) => l,
            None => bind(inner.addr).await,
        };
        loop {
            tokio::select! {
                a = l.accept() => {
                    if let Ok((stream, _)) = a {
                        tokio::spawn(connection(inner.clone(), stream));
                    }
                }
                c = changes.changed() => {
                    if c.is_err() {
                        return;
                    }
                    if inner.fault() == Fault::Down {
                        break;
                    }
                }
            }
        }
        drop(l);
    }
}

async fn connection(inner: Arc<Inner>, stream: tokio::net::TcpStream) {
    let mut cut = inner.generation.subscribe();
    cut.borrow_and_update();
    let svc = {
        let inner = inner.clone();
        service_fn(move |req| handle(inner.clone(), req))
    };
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), svc);
    tokio::select! {
        _ = conn => {}
        _ = cut.changed() => {}
    }
}

fn response(status: u16, flavor: Flavor, body: Bytes) -> Response<Body> {
    let mut b = Response::builder()
        .status(status)
        .header("content-type", flavor.content_type());
    if flavor == Flavor::Cbor {
        b = b.header("smithy-protocol", "rpc-v2-cbor");
    }
    if status == 429 {
        b = b.header("retry-after", "1");
    }
    b.body(Full::new(body).map_err(|e| match e {}).boxed())
        .expect("response")
}

async fn handle(inner: Arc<Inner>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let flavor = inner.flavor;
    let fault = inner.fault();
    if let Fault::Slow(d) = fault {
        inner.faulted.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(d).await;
    }
    let faulted = |r: Response<Body>| {
        inner.faulted.fetch_add(1, Ordering::Relaxed);
        Ok(r)
    };
    match fault {
        Fault::Pass | Fault::Slow(_) => {}
        // Accepted just before the port closed: the connection is being cut anyway.
        Fault::Down => return faulted(response(503, flavor, flavor.error_body(503))),
        Fault::Status(s) => return faulted(response(s, flavor, flavor.error_body(s))),
        Fault::TooMany(secs) => {
            let mut r = response(429, flavor, flavor.error_body(429));
            r.headers_mut().insert(
                "retry-after",
                secs.to_string().parse().expect("header value"),
            );
            return faulted(r);
        }
        Fault::Malformed => return faulted(response(200, flavor, flavor.malformed_body())),
        Fault::Huge => return faulted(response(200, flavor, flavor.huge_body())),
    }
    let upstream = *inner.upstream.lock().unwrap_or_else(|p| p.into_inner());
    let Some(up) = upstream else {
        return faulted(response(502, flavor, flavor.error_body(502)));
    };
    let (mut parts, body) = req.into_parts();
    let pq = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    parts.uri = format!("http://{up}{pq}").parse().expect("uri");
    match inner.client.request(Request::from_parts(parts, body)).await {
        Ok(resp) => {
            inner.forwarded.fetch_add(1, Ordering::Relaxed);
            Ok(resp.map(|b| b.map_err(|e| -> BoxError { Box::new(e) }).boxed()))
        }
        Err(_) => faulted(response(502, flavor, flavor.error_body(502))),
    }
}
