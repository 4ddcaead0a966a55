//! An in-process CloudWatch endpoint speaking Smithy RPC v2 CBOR — the protocol the current Rust
//! SDK uses for CloudWatch (moto answers it with 404 and computes no percentiles). Reached
//! through `AWS_ENDPOINT_URL_CLOUDWATCH` by the real SDK stack: SigV4 signing, retries,
//! timeouts, deserialisation.
//!
//! Shaped by the Smithy model: `POST /service/GraniteServiceVersion20100801/operation/<Op>`
//! with `smithy-protocol: rpc-v2-cbor` and a CBOR map of the model's member names; timestamps
//! are CBOR tag 1 (epoch seconds). Errors are 4xx/5xx with a CBOR body `{__type, message}` and
//! the `x-amzn-query-error: Code;Sender` header the SDK takes the error code (and so the retry
//! decision) from.
//!
//! Serves `GetMetricData` (≤ 500 queries per call, as the real service; datapoints from a
//! test-supplied function of metric, dimensions, stat and timestamp), `ListMetrics`
//! (namespace, metric name and dimension filters) and `DescribeAlarms` (`AlarmNamePrefix`,
//! `StateValue`, `MaxRecords` ≤ 100, `NextToken` paging; output `MetricAlarms` with
//! `AlarmName`, `StateValue`, `StateReason`, `StateUpdatedTimestamp`, `Namespace`,
//! `MetricName`, `Dimensions`), logs every request, and injects faults: throttling, 5xx, a slow answer,
//! a garbage body, access denied, expired token.
use bytes::Bytes;
use ciborium::value::Value;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

pub const PREFIX: &str = "/service/GraniteServiceVersion20100801/operation/";

/// One metric as ListMetrics lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedMetric {
    pub namespace: String,
    pub name: String,
    pub dims: Vec<(String, String)>,
}

impl ListedMetric {
    pub fn new(namespace: &str, name: &str, dims: &[(&str, &str)]) -> Self {
        ListedMetric {
            namespace: namespace.into(),
            name: name.into(),
            dims: dims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

/// One metric alarm as DescribeAlarms reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeAlarm {
    pub name: String,
    pub state: String,
    pub reason: String,
    /// Epoch seconds.
    pub updated: i64,
    pub namespace: String,
    pub metric: String,
    pub dims: Vec<(String, String)>,
}

impl FakeAlarm {
    pub fn new(
        name: &str,
        state: &str,
        reason: &str,
        updated: i64,
        namespace: &str,
        metric: &str,
        dims: &[(&str, &str)],
    ) -> Self {
        FakeAlarm {
            name: name.into(),
            state: state.into(),
            reason: reason.into(),
            updated,
            namespace: namespace.into(),
            metric: metric.into(),
            dims: dims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }
}

/// One GetMetricData query as received.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricQuery {
    pub id: String,
    pub namespace: String,
    pub metric: String,
    /// Sorted by name.
    pub dims: Vec<(String, String)>,
    pub stat: String,
    pub period: i64,
}

impl MetricQuery {
    pub fn dim(&self, name: &str) -> Option<&str> {
        self.dims
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Logged {
    pub operation: String,
    /// The request body's top-level text members (`Namespace`, `AlarmNamePrefix`, …).
    pub fields: Vec<(String, String)>,
    pub signed: bool,
    pub queries: Vec<MetricQuery>,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub at: std::time::Instant,
}

/// What to do with the next request (or every request).
#[derive(Clone, Debug)]
pub enum Fault {
    /// 400 `Throttling` (x-amzn-query-error `Throttling;Sender`): the SDK retries it.
    Throttle,
    /// HTTP 500 `InternalServiceError`.
    ServerError,
    /// Wait this long before answering normally.
    Slow(Duration),
    /// 200 with a body that is not CBOR.
    Garbage,
    /// 403 AccessDenied.
    AccessDenied,
    /// 403 ExpiredToken.
    ExpiredToken,
}

/// Datapoint source: `(query, epoch seconds) -> value` (None: no datapoint that period).
pub type DataFn = Arc<dyn Fn(&MetricQuery, i64) -> Option<f64> + Send + Sync>;

struct State {
    listed: Vec<ListedMetric>,
    alarms: Vec<FakeAlarm>,
    data: DataFn,
    log: Vec<Logged>,
    faults: VecDeque<Fault>,
    /// A fault for every request (of one operation, when named).
    always: Option<(Option<String>, Fault)>,
}

struct Shared(Mutex<State>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }
}

pub struct FakeCloudWatch {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    runtime: Mutex<Option<Runtime>>,
}

impl FakeCloudWatch {
    pub fn start(data: DataFn) -> FakeCloudWatch {
        let shared = Arc::new(Shared(Mutex::new(State {
            listed: Vec::new(),
            alarms: Vec::new(),
            data,
            log: Vec::new(),
            faults: VecDeque::new(),
            always: None,
        })));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        // Bound with std so this works inside a test's own runtime (no nested block_on).
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        std_listener.set_nonblocking(true).expect("nonblocking");
        let addr = std_listener.local_addr().expect("addr");
        let listener = {
            let _guard = rt.enter();
            TcpListener::from_std(std_listener).expect("listener")
        };
        rt.spawn(accept_loop(listener, shared.clone()));
        FakeCloudWatch {
            addr,
            shared,
            runtime: Mutex::new(Some(rt)),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_listed(&self, m: Vec<ListedMetric>) {
        self.shared.lock().listed = m;
    }

    pub fn set_alarms(&self, a: Vec<FakeAlarm>) {
        self.shared.lock().alarms = a;
    }

    /// Faults for the next requests, in order.
    pub fn push_faults(&self, f: impl IntoIterator<Item = Fault>) {
        self.shared.lock().faults.extend(f);
    }

    /// A fault for every request until cleared.
    pub fn set_always(&self, f: Option<Fault>) {
        self.shared.lock().always = f.map(|f| (None, f));
    }

    /// A fault for every request of one operation (e.g. `GetMetricData`) until cleared.
    pub fn set_always_on(&self, op: &str, f: Option<Fault>) {
        self.shared.lock().always = f.map(|f| (Some(op.to_string()), f));
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.shared.lock().log.clone()
    }

    pub fn calls(&self, op: &str) -> Vec<Logged> {
        self.requests()
            .into_iter()
            .filter(|r| r.operation == op)
            .collect()
    }

    pub fn stop(&self) {
        let rt = match self.runtime.lock() {
            Ok(mut g) => g.take(),
            Err(p) => p.into_inner().take(),
        };
        if let Some(rt) = rt {
            let _ = std::thread::spawn(move || rt.shutdown_timeout(Duration::from_secs(2))).join();
        }
    }
}

impl Drop for FakeCloudWatch {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(shared, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn cbor(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(v, &mut out).expect("cbor encode");
    out
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(pairs.into_iter().map(|(k, v)| (text(k), v)).collect())
}

fn respond(status: StatusCode, body: Vec<u8>, extra: &[(&str, String)]) -> Response<Full<Bytes>> {
    let mut b = Response::builder()
        .status(status)
        .header("content-type", "application/cbor")
        .header("smithy-protocol", "rpc-v2-cbor")
        .header("x-amzn-requestid", "fake-cloudwatch-request");
    for (k, v) in extra {
        b = b.header(*k, v.as_str());
    }
    b.body(Full::new(Bytes::from(body))).expect("response")
}

fn error(status: StatusCode, code: &str, sender: &str, message: &str) -> Response<Full<Bytes>> {
    let body = cbor(&map(vec![
        ("__type", text(&format!("com.amazonaws.cloudwatch#{code}"))),
        ("message", text(message)),
    ]));
    respond(
        status,
        body,
        &[("x-amzn-query-error", format!("{code};{sender}"))],
    )
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Map(m) => m
            .iter()
            .find(|(k, _)| matches!(k, Value::Text(t) if t == key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn get_text(v: &Value, key: &str) -> Option<String> {
    match get(v, key)? {
        Value::Text(t) => Some(t.clone()),
        _ => None,
    }
}

fn get_int(v: &Value, key: &str) -> Option<i64> {
    match get(v, key)? {
        Value::Integer(i) => i64::try_from(*i).ok(),
        _ => None,
    }
}

fn get_time(v: &Value, key: &str) -> Option<i64> {
    match get(v, key)? {
        Value::Tag(1, inner) => match inner.as_ref() {
            Value::Float(f) => Some(f.floor() as i64),
            Value::Integer(i) => i64::try_from(*i).ok(),
            _ => None,
        },
        _ => None,
    }
}

fn dims_of(v: Option<&Value>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|d| Some((get_text(d, "Name")?, get_text(d, "Value")?)))
            .collect(),
        _ => Vec::new(),
    };
    out.sort();
    out
}

fn queries_of(body: &Value) -> Vec<MetricQuery> {
    let Some(Value::Array(qs)) = get(body, "MetricDataQueries") else {
        return Vec::new();
    };
    qs.iter()
        .filter_map(|q| {
            let stat = get(q, "MetricStat")?;
            let metric = get(stat, "Metric")?;
            Some(MetricQuery {
                id: get_text(q, "Id")?,
                namespace: get_text(metric, "Namespace")?,
                metric: get_text(metric, "MetricName")?,
                dims: dims_of(get(metric, "Dimensions")),
                stat: get_text(stat, "Stat")?,
                period: get_int(stat, "Period")?,
            })
        })
        .collect()
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let protocol_ok = req
        .headers()
        .get("smithy-protocol")
        .and_then(|v| v.to_str().ok())
        == Some("rpc-v2-cbor");
    let signed = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("AWS4-HMAC-SHA256 Credential="));
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return error(StatusCode::BAD_REQUEST, "InvalidRequest", "Sender", "body"),
    };
    let Some(op) = path.strip_prefix(PREFIX).map(str::to_string) else {
        return respond(StatusCode::NOT_FOUND, Vec::new(), &[]);
    };
    if !protocol_ok {
        return respond(StatusCode::NOT_FOUND, Vec::new(), &[]);
    }
    let parsed: Value = match ciborium::from_reader(body.as_ref()) {
        Ok(v) => v,
        Err(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "SerializationException",
                "Sender",
                "not CBOR",
            )
        }
    };
    let queries = queries_of(&parsed);
    let fields: Vec<(String, String)> = match &parsed {
        Value::Map(m) => m
            .iter()
            .filter_map(|(k, v)| match (k, v) {
                (Value::Text(k), Value::Text(v)) => Some((k.clone(), v.clone())),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let (fault, data, listed, alarms) = {
        let mut s = shared.lock();
        s.log.push(Logged {
            operation: op.clone(),
            fields,
            signed,
            queries: queries.clone(),
            start: get_time(&parsed, "StartTime"),
            end: get_time(&parsed, "EndTime"),
            at: std::time::Instant::now(),
        });
        let always = match &s.always {
            Some((None, f)) => Some(f.clone()),
            Some((Some(o), f)) if *o == op => Some(f.clone()),
            _ => None,
        };
        let fault = s.faults.pop_front().or(always);
        (fault, s.data.clone(), s.listed.clone(), s.alarms.clone())
    };
    if !signed {
        return error(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            "Sender",
            "Request is missing Authentication Token",
        );
    }
    match fault {
        Some(Fault::Throttle) => {
            return error(StatusCode::BAD_REQUEST, "Throttling", "Sender", "Rate exceeded")
        }
        Some(Fault::ServerError) => {
            return error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServiceError",
                "Receiver",
                "internal failure",
            )
        }
        Some(Fault::Garbage) => {
            return respond(StatusCode::OK, b"<html>\x1b[31mnot cbor".to_vec(), &[])
        }
        Some(Fault::AccessDenied) => {
            return error(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                "Sender",
                &format!("User: arn:aws:sts::123456789012:assumed-role/oncall is not authorized to perform: cloudwatch:{op}"),
            )
        }
        Some(Fault::ExpiredToken) => {
            return error(
                StatusCode::FORBIDDEN,
                "ExpiredToken",
                "Sender",
                "The security token included in the request is expired",
            )
        }
        Some(Fault::Slow(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    match op.as_str() {
        "GetMetricData" => get_metric_data(&parsed, &queries, &data),
        "ListMetrics" => list_metrics(&parsed, &listed),
        "DescribeAlarms" => describe_alarms(&parsed, &alarms),
        _ => error(
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            "Sender",
            &op,
        ),
    }
}

fn get_metric_data(body: &Value, queries: &[MetricQuery], data: &DataFn) -> Response<Full<Bytes>> {
    if queries.len() > 500 {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            "Sender",
            "The collection MetricDataQueries must not have a size greater than 500.",
        );
    }
    let (Some(start), Some(end)) = (get_time(body, "StartTime"), get_time(body, "EndTime")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            "Sender",
            "StartTime and EndTime are required",
        );
    };
    let mut results = Vec::new();
    for q in queries {
        let period = q.period.max(60);
        let mut t = start - start.rem_euclid(period);
        if t < start {
            t += period;
        }
        let mut ts = Vec::new();
        let mut vs = Vec::new();
        while t < end {
            if let Some(v) = data(q, t) {
                ts.push(Value::Tag(1, Box::new(Value::Float(t as f64))));
                vs.push(Value::Float(v));
            }
            t += period;
        }
        // The real service returns newest first (TimestampDescending).
        ts.reverse();
        vs.reverse();
        results.push(map(vec![
            ("Id", text(&q.id)),
            ("Label", text(&q.metric)),
            ("Timestamps", Value::Array(ts)),
            ("Values", Value::Array(vs)),
            ("StatusCode", text("Complete")),
        ]));
    }
    let body = cbor(&map(vec![
        ("MetricDataResults", Value::Array(results)),
        ("Messages", Value::Array(vec![])),
    ]));
    respond(StatusCode::OK, body, &[])
}

fn list_metrics(body: &Value, listed: &[ListedMetric]) -> Response<Full<Bytes>> {
    let ns = get_text(body, "Namespace");
    let name = get_text(body, "MetricName");
    let filters = dims_of(get(body, "Dimensions"));
    let metrics: Vec<Value> = listed
        .iter()
        .filter(|m| ns.as_ref().is_none_or(|n| *n == m.namespace))
        .filter(|m| name.as_ref().is_none_or(|n| *n == m.name))
        .filter(|m| filters.iter().all(|f| m.dims.contains(f)))
        .map(|m| {
            map(vec![
                ("Namespace", text(&m.namespace)),
                ("MetricName", text(&m.name)),
                (
                    "Dimensions",
                    Value::Array(
                        m.dims
                            .iter()
                            .map(|(k, v)| map(vec![("Name", text(k)), ("Value", text(v))]))
                            .collect(),
                    ),
                ),
            ])
        })
        .collect();
    respond(
        StatusCode::OK,
        cbor(&map(vec![("Metrics", Value::Array(metrics))])),
        &[],
    )
}

fn describe_alarms(body: &Value, alarms: &[FakeAlarm]) -> Response<Full<Bytes>> {
    let prefix = get_text(body, "AlarmNamePrefix");
    let state = get_text(body, "StateValue");
    let max = get_int(body, "MaxRecords").unwrap_or(50);
    if !(1..=100).contains(&max) {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidParameterValue",
            "Sender",
            "MaxRecords must be between 1 and 100",
        );
    }
    let from: usize = match get_text(body, "NextToken") {
        Some(t) => match t.strip_prefix("page-").and_then(|n| n.parse().ok()) {
            Some(n) => n,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidNextToken",
                    "Sender",
                    "bad token",
                )
            }
        },
        None => 0,
    };
    let matching: Vec<&FakeAlarm> = alarms
        .iter()
        .filter(|a| {
            prefix
                .as_ref()
                .is_none_or(|p| a.name.starts_with(p.as_str()))
        })
        .filter(|a| state.as_ref().is_none_or(|s| *s == a.state))
        .collect();
    let page: Vec<Value> = matching
        .iter()
        .skip(from)
        .take(max as usize)
        .map(|a| {
            map(vec![
                ("AlarmName", text(&a.name)),
                ("StateValue", text(&a.state)),
                ("StateReason", text(&a.reason)),
                (
                    "StateUpdatedTimestamp",
                    Value::Tag(1, Box::new(Value::Float(a.updated as f64))),
                ),
                ("Namespace", text(&a.namespace)),
                ("MetricName", text(&a.metric)),
                (
                    "Dimensions",
                    Value::Array(
                        a.dims
                            .iter()
                            .map(|(k, v)| map(vec![("Name", text(k)), ("Value", text(v))]))
                            .collect(),
                    ),
                ),
            ])
        })
        .collect();
    let next = from + max as usize;
    let mut out = vec![
        ("MetricAlarms", Value::Array(page)),
        ("CompositeAlarms", Value::Array(vec![])),
    ];
    if next < matching.len() {
        out.push(("NextToken", text(&format!("page-{next}"))));
    }
    respond(StatusCode::OK, cbor(&map(out)), &[])
}
