//! The OTLP/HTTP receiver (issue 19) with real OpenTelemetry traffic: the Python SDK's own
//! OTLP/HTTP exporter (`tests/run.sh` installs `opentelemetry-sdk` and
//! `opentelemetry-exporter-otlp-proto-http` into a venv under `target/`) sends spans to a team
//! mode collector, and attached viewers see them as sessions; OTLP/JSON, auth, body limits and
//! backpressure are checked against the receiver itself.
use crate::support::redis::RedisServer;
use serde_json::Value;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn python() -> String {
    std::env::var("HYBRIDTOP_OTEL_PYTHON").unwrap_or_else(|_| {
        panic!("HYBRIDTOP_OTEL_PYTHON is not set: run the suite with `bash tests/run.sh`, which installs the OpenTelemetry SDK")
    })
}

/// Sends `n` sessions (a root and two children each) through the SDK's exporter.
const SENDER: &str = r#"
import sys
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

endpoint, service, n, token = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
headers = {"Authorization": "Bearer " + token} if token else {}
provider = TracerProvider(resource=Resource.create({"service.name": service}))
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, headers=headers), schedule_delay_millis=100))
tracer = provider.get_tracer("hybridtop-test")
for i in range(n):
    sid = "hybrid-otel-%d" % i
    with tracer.start_as_current_span("agent.turn", attributes={"session.id": sid}):
        for _ in range(2):
            with tracer.start_as_current_span("vllm.generate", attributes={
                "session.id": sid, "gen_ai.request.model": "qwen3-4b",
                "gen_ai.usage.input_tokens": 400, "gen_ai.usage.output_tokens": 120}):
                pass
ok = provider.force_flush(10000)
provider.shutdown()
sys.exit(0 if ok else 3)
"#;

fn send(port: u16, service: &str, n: usize, token: &str) -> std::process::Output {
    Command::new(python())
        .arg("-c")
        .arg(SENDER)
        .arg(format!("http://127.0.0.1:{port}/v1/traces"))
        .arg(service)
        .arg(n.to_string())
        .arg(token)
        .output()
        .expect("python")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn config(dir: &std::path::Path, port: u16, extra: &str) -> std::path::PathBuf {
    let p = dir.join("otlp.toml");
    std::fs::write(
        &p,
        format!(
            "[general]\nenvironment = \"otlp-test\"\n\
             [[paths]]\nid = \"eks-qwen3\"\nkind = \"eks\"\n[paths.otlp]\nservices = [\"kagent-qwen3\"]\n\
             [[paths]]\nid = \"agentcore-haiku\"\nkind = \"agentcore\"\n[paths.otlp]\nmodels = [\"haiku\"]\n\
             [otlp]\nlisten = \"127.0.0.1:{port}\"\n{extra}\n"
        ),
    )
    .unwrap();
    p
}

fn cmd(home: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hybridtop"));
    c.env_clear()
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env("LANG", "C.UTF-8");
    c
}

/// Acceptance: spans sent by the OpenTelemetry SDK to a collector's receiver are published to
/// Redis, and an attached viewer sees them as sessions of the right path.
#[test]
fn sdk_spans_reach_attached_viewers_through_the_collector() {
    let redis = RedisServer::start();
    let url = redis.url("otlp");
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = config(home.path(), port, "");
    let mut collector = cmd(home.path())
        .arg("-c")
        .arg(&cfg)
        .args(["collect", "--publish", &url])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Listening once its port answers.
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the receiver never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = send(port, "kagent-qwen3", 12, "");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let sent = Instant::now();
    let v = loop {
        let o = cmd(home.path())
            .args(["snapshot", "--attach", &url, "--format", "json"])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        let sessions = v["sessions"]["total"].as_u64().unwrap_or(0);
        let named = v["sessions"]["recent"].as_array().is_some_and(|r| {
            r.iter().any(|s| {
                s["session_id"].as_str().unwrap_or("").contains("otel")
                    && s["paths"]
                        .as_array()
                        .is_some_and(|p| p.iter().any(|p| p == "eks-qwen3"))
                    && s["spans"] == 3
            })
        });
        let rpm = v["paths"].as_array().map_or(0.0, |p| {
            p.iter()
                .filter(|p| p["id"] == "eks-qwen3")
                .filter_map(|p| p["requests_per_minute"].as_f64())
                .sum::<f64>()
        });
        if sessions == 12 && named && rpm > 0.0 {
            break v;
        }
        assert!(
            sent.elapsed() < Duration::from_secs(15),
            "{sessions} sessions: {}",
            serde_json::to_string(&v["sessions"]).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let otlp = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "otlp")
        .expect("an otlp source");
    assert_eq!(otlp["state"], "ok", "{otlp}");
    let eks = v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "eks-qwen3")
        .unwrap();
    assert!(
        eks["requests_per_minute"].as_f64().unwrap_or(0.0) > 0.0,
        "the roots count as the path's requests: {eks}"
    );
    let _ = collector.kill();
    let _ = collector.wait();
}

/// The receiver as an OTLP client meets it: JSON accepted; a missing token 401; a wrong type
/// 415; an oversized body 413; a full queue 429 with Retry-After; nothing crashes it.
#[test]
fn the_receiver_answers_as_the_otlp_specification_asks() {
    use hybridtop::config::Config;
    use hybridtop::model::update::{SourceName, SourceState, Update};
    use hybridtop::sources::otlp::OtlpSource;
    use hybridtop::sources::Source;
    let port = free_port();
    std::env::set_var("HT_OTLP_TEST_TOKEN", "s3cret-token");
    let home = tempfile::tempdir().unwrap();
    let cfg = Config::load(&config(
        home.path(),
        port,
        "max_body_bytes = 4096\nmax_queued_spans = 3\nbearer_token_env = \"HT_OTLP_TEST_TOKEN\"",
    ))
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // A one-update channel nobody reads: the second batch waits, the queue fills.
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let src = OtlpSource::from_config(&cfg).unwrap();
        let stats = src.stats();
        let h = Box::new(src).spawn(tx);
        let Some(Update::TracesCovered { .. }) = rx.recv().await else {
            panic!("coverage first")
        };
        let Some(Update::Health(hl)) = rx.recv().await else {
            panic!("then health")
        };
        assert_eq!((hl.source, hl.state), (SourceName::Otlp, SourceState::Ok));
        hybridtop::kube_client::install_crypto_provider();
        let client = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{port}/v1/traces");
        let json = |n: usize| {
            let spans: Vec<Value> = (0..n)
                .map(|i| {
                    serde_json::json!({"traceId": "0af7651916cd43dd8448eb211c80319c",
                        "spanId": format!("b7ad6b71692033{i:02x}"), "name": "turn",
                        "startTimeUnixNano": "1764061200000000000",
                        "endTimeUnixNano": "1764061200500000000",
                        "attributes": [{"key": "session.id", "value": {"stringValue": "hybrid-j"}}]})
                })
                .collect();
            serde_json::json!({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}).to_string()
        };
        let post = |body: String, ct: &'static str, auth: bool| {
            let mut r = client.post(&url).header("content-type", ct).body(body);
            if auth {
                r = r.header("authorization", "Bearer s3cret-token");
            }
            r.send()
        };
        let r = post(json(2), "application/json", false).await.unwrap();
        assert_eq!(r.status().as_u16(), 401);
        let r = post(json(2), "text/plain", true).await.unwrap();
        assert_eq!(r.status().as_u16(), 415);
        let r = post("x".repeat(5000), "application/json", true).await.unwrap();
        assert_eq!(r.status().as_u16(), 413);
        let r = post("{not json".into(), "application/json", true).await.unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let r = post(json(2), "application/json", true).await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.text().await.unwrap(), "{}");
        // The first batch fills the app's one-update channel; the second waits in the queue
        // (two spans of three); a third does not fit.
        let r = post(json(2), "application/json", true).await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let deadline = Instant::now() + Duration::from_secs(5);
        let r = loop {
            let r = post(json(2), "application/json", true).await.unwrap();
            if r.status().as_u16() != 200 || Instant::now() > deadline {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(r.status().as_u16(), 429);
        assert_eq!(r.headers()["retry-after"], "1");
        assert_eq!(stats.throttled.load(std::sync::atomic::Ordering::Relaxed), 1);
        // Reading frees the queue; the same request then goes through.
        let items = loop {
            match rx.recv().await {
                Some(Update::Observations { items }) => break items,
                Some(_) => continue,
                None => panic!("the first batch"),
            }
        };
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].session_id.as_deref(), Some("hybrid-j"));
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            while rx.try_recv().is_ok() {}
            let r = post(json(2), "application/json", true).await.unwrap();
            if r.status().as_u16() == 200 {
                break;
            }
            assert!(Instant::now() < deadline, "the queue never drained");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        h.abort();
    });
}

/// A port already taken is a clear, permanent error of the source, not a crash.
#[test]
fn a_taken_port_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let home = tempfile::tempdir().unwrap();
    let cfg = config(home.path(), port, "");
    let o = cmd(home.path())
        .arg("-c")
        .arg(&cfg)
        .args(["snapshot", "--format", "json", "--wait", "5s"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let otlp = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "otlp")
        .unwrap();
    assert_eq!(otlp["state"], "error");
    assert!(
        otlp["error"]
            .as_str()
            .unwrap()
            .contains(&format!("cannot listen on 127.0.0.1:{port}")),
        "{otlp}"
    );
    drop(taken);
}

/// Team mode with a standby: only the leader takes pushed spans; the standby answers 503 with
/// Retry-After and closes the connection, so the sender's retry can reach the leader.
#[test]
fn a_standby_collector_turns_spans_to_the_leader() {
    let redis = RedisServer::start();
    let url = redis.url("otlp-standby");
    let home = tempfile::tempdir().unwrap();
    let (p1, p2) = (free_port(), free_port());
    let start = |port: u16, name: &str| {
        let dir = home.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = config(&dir, port, "");
        cmd(&dir)
            .arg("-c")
            .arg(&cfg)
            .args(["collect", "--publish", &url])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let wait_listen = |port: u16| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "port {port} never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let mut leader = start(p1, "a");
    wait_listen(p1);
    // The first collector has taken the lease before the second starts.
    std::thread::sleep(Duration::from_millis(1500));
    let mut standby = start(p2, "b");
    wait_listen(p2);
    std::thread::sleep(Duration::from_millis(1500));
    let body = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"t","startTimeUnixNano":"1764061200000000000"}]}]}]}"#;
    let post = |port: u16| {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        use std::io::{Read, Write};
        write!(
            s,
            "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    };
    let from_standby = post(p2);
    assert!(from_standby.starts_with("HTTP/1.1 503"), "{from_standby}");
    let lower = from_standby.to_ascii_lowercase();
    assert!(
        lower.contains("retry-after: 1") && lower.contains("connection: close"),
        "{from_standby}"
    );
    let mut s = std::net::TcpStream::connect(("127.0.0.1", p1)).unwrap();
    {
        use std::io::{Read, Write};
        write!(
            s,
            "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    }
    for c in [&mut leader, &mut standby] {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// `check` says whether the receiver can listen, and whether its token is set (never showing it).
#[test]
fn check_reports_the_listener_and_the_token() {
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = config(home.path(), port, "bearer_token_env = \"HT_CHECK_TOKEN\"");
    let o = cmd(home.path())
        .arg("-c")
        .arg(&cfg)
        .arg("check")
        .env("HT_CHECK_TOKEN", "tok-visible-nowhere")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text}");
    assert!(
        text.contains(&format!("listen on 127.0.0.1:{port}")),
        "{text}"
    );
    assert!(
        text.contains("set (never shown)") && !text.contains("tok-visible-nowhere"),
        "{text}"
    );
    let taken = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let o = cmd(home.path())
        .arg("-c")
        .arg(&cfg)
        .arg("check")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("cannot listen there") && text.contains("HT_CHECK_TOKEN is not set"),
        "{text}"
    );
    drop(taken);
}
