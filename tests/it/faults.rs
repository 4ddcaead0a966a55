//! Fault injection, end to end: the real binary in a pseudo-terminal, all four sources live
//! against the local test servers, each behind a fault-injecting proxy (`support::fault_proxy`).
//!
//! One dashboard run goes through:
//! 1. **down at start** — every endpoint refuses connections when the dashboard starts; each
//!    source shows its failing state, then recovers on its own once the endpoints come up;
//! 2. **every fault on every source**, the four sources in parallel: down mid-run and back,
//!    answers slower than the source's timeout, 500 and 503 storms, 429s, malformed JSON/CBOR,
//!    a 50 MB body; then the real test server killed and restarted. For each, the source's line
//!    must show a failing state with an age, then `ok` again without help;
//! 3. throughout, key-to-frame latency is measured: a view key is written to the terminal and
//!    the time until the screen shows that view is taken from the terminal output as it is
//!    parsed. The table prints each fault's worst case against the 50 ms target (README,
//!    benches); the test asserts what holds on a loaded machine too: no key ever waits as long as
//!    any I/O could block, i.e. the UI never waits on a source;
//! 4. the process is alive at the end, quits 0 on `q`, and no panic text, raw OSC sequence or
//!    secret ever reached the terminal.
use crate::support;

use chrono::Utc;
use portable_pty::{native_pty_system, Child, CommandBuilder, PtySize};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use support::cloudwatch::{FakeCloudWatch, ListedMetric, MetricQuery};
use support::fault_proxy::{Fault, FaultProxy, Flavor};
use support::kube_api::{KubeApiServer, KubeconfigFile};
use support::langfuse_api::{LangfuseApiServer, Obs, Trace, SECRET_KEY};
use support::live::{self, ARN, MODEL};
use support::moto::Moto;

const AWS_SECRET: &str = "hybridtop-test-secret-do-not-show";
const COLS: u16 = 120;
const ROWS: u16 = 40;
/// The key-to-frame target, reported per fault (the README's figure; a busy machine may miss it).
const TARGET_LATENCY: Duration = Duration::from_millis(50);
/// What is asserted: a key answered within this never waited on I/O. It is shorter than the
/// sources' 2 s timeouts and every slow fault (5 s, 20 s), so a key that waited on a request
/// fails, yet far above any scheduling stall of a loaded test machine (~60 ms seen).
const NEVER_BLOCKED: Duration = Duration::from_millis(1500);

/// The source sections after `live::config_head`: intervals and timeouts short enough for
/// every fault to show within seconds.
const SOURCES_TOML: &str = r#"[aws]
region = "us-east-2"
cloudwatch_interval = "1s"
cost_explorer_interval = "1s"
timeout = "2s"
[kubernetes]
namespaces = ["agents"]
[langfuse]
interval = "1s"
timeout = "2s"
max_requests_per_minute = 600
[router]
backend = "configmap"
namespace = "agents"
name = "hybrid-router"
"#;

// ---- the test servers ----

fn cloudwatch() -> FakeCloudWatch {
    let cw = FakeCloudWatch::start(Arc::new(|q: &MetricQuery, _t: i64| {
        Some(match (q.metric.as_str(), q.stat.as_str()) {
            ("Invocations", "Sum") => 30.0,
            ("Latency", _) => 90.0,
            ("InputTokenCount", "Sum") => 24_000.0,
            ("OutputTokenCount", "Sum") => 9_000.0,
            _ => return None,
        })
    }));
    let mut listed = Vec::new();
    for m in ["Invocations", "SessionCount", "Latency"] {
        listed.push(ListedMetric::new(
            "AWS/Bedrock-AgentCore",
            m,
            &[("Resource", ARN)],
        ));
    }
    for m in ["Invocations", "InputTokenCount", "OutputTokenCount"] {
        listed.push(ListedMetric::new("AWS/Bedrock", m, &[("ModelId", MODEL)]));
    }
    cw.set_listed(listed);
    cw
}

fn kube() -> KubeApiServer {
    let s = KubeApiServer::start();
    live::seed_fleet(&s, &[("vllm-qwen3-a", "ip-10-0-1-23")]);
    s
}

fn langfuse() -> LangfuseApiServer {
    let s = LangfuseApiServer::start();
    let t0 = Utc::now() - chrono::Duration::seconds(60);
    s.add_trace(Trace {
        id: "eks-vllm-qwen3-a-00ff".into(),
        timestamp: t0,
        name: Some("agent-turn".into()),
        session_id: Some("hybrid-s-faults".into()),
        tags: vec!["path:eks-qwen3".into()],
        ..Trace::default()
    });
    s.add_obs(Obs {
        id: "obs-0".into(),
        trace_id: "eks-vllm-qwen3-a-00ff".into(),
        kind: "GENERATION".into(),
        start: t0,
        end: Some(t0 + chrono::Duration::milliseconds(120)),
        name: Some("generate".into()),
        model: Some("qwen3-4b".into()),
        ..Obs::default()
    });
    s
}

fn moto() -> Moto {
    let m = Moto::start();
    // moto hands out one seeded answer per distinct request: seed plenty (the month changes
    // nothing within a run, but a restart of the dashboard's client may vary the body).
    let one = live::month_to_date(&[
        ("Amazon Bedrock AgentCore", 10.0),
        ("Amazon Elastic Compute Cloud - Compute", 4.0),
    ]);
    m.seed_cost_and_usage(vec![one; 8]);
    m
}

/// The servers, each behind its proxy. Servers sit in `Mutex<Option<…>>` so a test can kill one
/// (drop it) and start a new one behind the same proxy.
struct World {
    cw: Mutex<Option<FakeCloudWatch>>,
    moto: Mutex<Option<Moto>>,
    kube: KubeApiServer,
    lf: Mutex<Option<LangfuseApiServer>>,
    proxies: BTreeMap<&'static str, FaultProxy>,
    _kc: KubeconfigFile,
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
}

const SOURCES: [&str; 4] = ["cloudwatch", "cost_explorer", "kubernetes", "langfuse"];

fn world(start: Fault) -> World {
    let cw = cloudwatch();
    let mo = moto();
    let kube = kube();
    let lf = langfuse();
    let mut proxies = BTreeMap::new();
    proxies.insert("cloudwatch", FaultProxy::start(&cw.url(), Flavor::Cbor));
    proxies.insert(
        "cost_explorer",
        FaultProxy::start(&mo.url(), Flavor::AwsJson),
    );
    proxies.insert("kubernetes", FaultProxy::start(&kube.url(), Flavor::Kube));
    proxies.insert("langfuse", FaultProxy::start(&lf.url(), Flavor::Langfuse));
    for p in proxies.values() {
        p.set(start.clone());
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let kc_yaml = std::fs::read_to_string(kube.kubeconfig().path)
        .expect("kubeconfig")
        .replace(&kube.url(), &proxies["kubernetes"].url());
    let kc = kube.kubeconfig_file(&kc_yaml);
    let config = live::config_head("faults") + SOURCES_TOML;
    std::fs::write(dir.path().join("config.toml"), config).expect("config");
    let env = live::env(
        dir.path(),
        live::Endpoints {
            kubeconfig: &kc.path,
            cloudwatch: proxies["cloudwatch"].url(),
            cost_explorer: proxies["cost_explorer"].url(),
            langfuse: proxies["langfuse"].url(),
        },
        AWS_SECRET,
    );
    World {
        cw: Mutex::new(Some(cw)),
        moto: Mutex::new(Some(mo)),
        kube,
        lf: Mutex::new(Some(lf)),
        proxies,
        _kc: kc,
        dir,
        env,
    }
}

impl World {
    /// Kill the real test server behind `source`'s proxy.
    fn kill(&self, source: &str) {
        match source {
            "kubernetes" => self.kube.stop(),
            "cloudwatch" => {
                self.proxies[source].set_upstream(None);
                drop(self.cw.lock().unwrap().take());
            }
            "cost_explorer" => {
                self.proxies[source].set_upstream(None);
                drop(self.moto.lock().unwrap().take());
            }
            "langfuse" => {
                self.proxies[source].set_upstream(None);
                drop(self.lf.lock().unwrap().take());
            }
            other => panic!("{other}"),
        }
    }

    /// Start it again (the kube server on its old port; the others fresh, re-seeded).
    fn restart(&self, source: &str) {
        match source {
            "kubernetes" => self.kube.restart(),
            "cloudwatch" => {
                let s = cloudwatch();
                self.proxies[source].set_upstream(Some(&s.url()));
                *self.cw.lock().unwrap() = Some(s);
            }
            "cost_explorer" => {
                let s = moto();
                self.proxies[source].set_upstream(Some(&s.url()));
                *self.moto.lock().unwrap() = Some(s);
            }
            "langfuse" => {
                let s = langfuse();
                self.proxies[source].set_upstream(Some(&s.url()));
                *self.lf.lock().unwrap() = Some(s);
            }
            other => panic!("{other}"),
        }
    }
}

// ---- the terminal ----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum View {
    Overview,
    Cost,
}

struct Probe {
    want: View,
    sent: Instant,
    got: Option<Duration>,
}

struct Screen {
    parser: vt100::Parser,
    text: String,
    frames: u64,
    probe: Option<Probe>,
    /// Things that must never reach the terminal, found in the raw output.
    bad: Vec<String>,
    tail: Vec<u8>,
}

/// Which view the screen shows, from text only that view draws.
fn view_of(text: &str) -> Option<View> {
    let overview = text.contains("Sources:") && text.contains("Routing");
    let cost = text.contains("Billed (Cost Explorer)");
    match (overview, cost) {
        (true, false) => Some(View::Overview),
        (false, true) => Some(View::Cost),
        _ => None,
    }
}

struct Term {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    screen: Arc<(Mutex<Screen>, Condvar)>,
}

fn spawn(w: &World) -> Term {
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: ROWS,
            cols: COLS,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("openpty");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_hybridtop"));
    cmd.arg("-c");
    cmd.arg(w.dir.path().join("config.toml"));
    cmd.arg("--log-file");
    cmd.arg(w.dir.path().join("hybridtop.log"));
    cmd.env_clear();
    for (k, v) in &w.env {
        cmd.env(k, v);
    }
    let child = pair.slave.spawn_command(cmd).expect("spawn");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let writer = pair.master.take_writer().expect("writer");
    let screen = Arc::new((
        Mutex::new(Screen {
            parser: vt100::Parser::new(ROWS, COLS, 0),
            text: String::new(),
            frames: 0,
            probe: None,
            bad: Vec::new(),
            tail: Vec::new(),
        }),
        Condvar::new(),
    ));
    let shared = screen.clone();
    let needles: Vec<(Vec<u8>, &str)> = vec![
        (b"panicked".to_vec(), "panic text"),
        (b"\x1b]".to_vec(), "an OSC sequence"),
        (SECRET_KEY.as_bytes().to_vec(), "the Langfuse secret key"),
        (AWS_SECRET.as_bytes().to_vec(), "the AWS secret key"),
    ];
    std::thread::spawn(move || {
        // This thread times the frames: it must not queue behind the test servers.
        // SAFETY: setpriority on this thread's own id; failure only leaves the priority as is.
        #[cfg(target_os = "linux")]
        #[allow(unsafe_code)] // libc has no safe wrapper for setpriority
        unsafe {
            libc::setpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t, -10);
        }
        let mut buf = [0u8; 65536];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let (lock, cv) = &*shared;
            let mut s = lock.lock().unwrap();
            let mut window = std::mem::take(&mut s.tail);
            window.extend_from_slice(&buf[..n]);
            for (needle, what) in &needles {
                if window.windows(needle.len()).any(|x| x == &needle[..]) {
                    let what = what.to_string();
                    if !s.bad.contains(&what) {
                        s.bad.push(what);
                    }
                }
            }
            let keep = window.len().saturating_sub(64);
            s.tail = window.split_off(keep);
            s.parser.process(&buf[..n]);
            s.text = s.parser.screen().contents();
            s.frames += 1;
            let view = view_of(&s.text);
            if let Some(p) = s.probe.as_mut() {
                if p.got.is_none() && view == Some(p.want) {
                    p.got = Some(p.sent.elapsed());
                }
            }
            cv.notify_all();
        }
    });
    // Keep the master open for the child's lifetime.
    std::mem::forget(pair.master);
    favour(&*child);
    Term {
        child,
        writer,
        screen,
    }
}

/// The machine is shared (a fuzzer, other agents' builds, moto's Python): give the dashboard's
/// session (its own scheduler autogroup: the pty made it a session leader) a larger CPU share,
/// so the latency measured is the dashboard's own — a UI loop that waited on the network would
/// still show it — and not the neighbours' load. Best effort: without the privilege the test
/// still runs and says so.
fn favour(child: &(dyn Child + Send + Sync)) {
    let Some(pid) = child.process_id() else {
        return;
    };
    let path = format!("/proc/{pid}/autogroup");
    match std::fs::write(&path, "-10") {
        Ok(()) => eprintln!("dashboard pid {pid}: scheduler autogroup nice -10"),
        Err(e) => eprintln!("dashboard pid {pid}: default priority ({path}: {e})"),
    }
}

impl Term {
    fn text(&self) -> String {
        self.screen.0.lock().unwrap().text.clone()
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn key(&mut self, k: &[u8]) {
        self.writer.write_all(k).expect("write key");
        self.writer.flush().expect("flush");
    }

    /// Write the key for `want` and time until the screen shows that view.
    fn probe(&mut self, want: View) -> Duration {
        let key: &[u8] = match want {
            View::Overview => b"1",
            View::Cost => b"4",
        };
        {
            let mut s = self.screen.0.lock().unwrap();
            s.probe = Some(Probe {
                want,
                sent: Instant::now(),
                got: None,
            });
        }
        self.key(key);
        let (lock, cv) = &*self.screen;
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut s = lock.lock().unwrap();
        loop {
            if let Some(got) = s.probe.as_ref().and_then(|p| p.got) {
                s.probe = None;
                return got;
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "the view did not change within 10 s of its key (UI frozen?):\n{}",
                s.text
            );
            s = cv.wait_timeout(s, deadline - now).unwrap().0;
        }
    }

    fn wait_for(&self, what: &str, timeout: Duration, f: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let t = self.text();
            if f(&t) {
                return t;
            }
            assert!(
                start.elapsed() < timeout,
                "{what}: not on screen after {timeout:?}:\n{t}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn bad(&self) -> Vec<String> {
        self.screen.0.lock().unwrap().bad.clone()
    }
}

/// `(state, age)` of a source from the Overview's source line, e.g. `("error", "4s")`.
fn source_state(text: &str, source: &str) -> Option<(String, String)> {
    let mut words = text
        .split_whitespace()
        .skip_while(|w| *w != "Sources:")
        .skip_while(|w| *w != source);
    words.next()?;
    let state = words.next()?.to_string();
    let age = words.next()?.to_string();
    Some((state, age))
}

/// The error text beside the source line (`cloudwatch: …`), as far as the screen shows it.
fn source_error(text: &str, source: &str) -> Option<String> {
    let from = text.find("Sources:")?;
    let rest = &text[from..];
    let at = rest.find(&format!("{source}: "))?;
    let err = &rest[at + source.len() + 2..];
    let end = err
        .find("  ")
        .into_iter()
        .chain(err.find('\n'))
        .min()
        .unwrap_or(err.len());
    Some(err[..end].trim().to_string())
}

fn failing(state: &str) -> bool {
    state == "error" || state == "stale"
}

// ---- the fault walk ----

/// One step for one source: make it fail, then undo it.
struct Step {
    name: String,
    inject: Box<dyn Fn(&World) + Send + Sync>,
    clear: Box<dyn Fn(&World) + Send + Sync>,
    /// How long the failing state may take to show (slow faults wait for the timeout; a
    /// CloudWatch fault waits for the next minute's fetch).
    detect_within: Duration,
    /// Go straight on to the next step without clearing this one (the source keeps failing):
    /// CloudWatch calls GetMetricData once per settled minute, so its faults are chained while
    /// it retries rather than each waiting a minute for a call.
    chain: bool,
}

#[derive(Debug, Default, Clone)]
struct Outcome {
    shown: Option<(String, String)>,
    /// The error text beside it, as far as the screen shows it.
    error_text: Option<String>,
    detect: Option<Duration>,
    recover: Option<Duration>,
    faulted_requests: u64,
    error: Option<String>,
}

#[derive(Default)]
struct Board {
    /// (source, step) currently injected or recovering.
    active: BTreeMap<&'static str, String>,
    /// Latency samples per "source: step".
    samples: BTreeMap<String, Vec<Duration>>,
    outcomes: Vec<(String, Outcome)>,
    done: usize,
}

fn proxy_step(source: &'static str, fault: Fault, detect_within: Duration) -> Step {
    let f = fault.clone();
    Step {
        name: fault.name(),
        inject: Box::new(move |w: &World| w.proxies[source].set(f.clone())),
        clear: Box::new(move |w: &World| w.proxies[source].set(Fault::Pass)),
        detect_within,
        chain: false,
    }
}

fn steps(source: &'static str) -> Vec<Step> {
    let d = Duration::from_secs;
    // Slower than each source's timeout: AWS 2 s per attempt (3 attempts), Langfuse 2 s, the
    // Kubernetes API 15 s.
    let slow = if source == "kubernetes" { d(20) } else { d(5) };
    let mut v = vec![
        proxy_step(source, Fault::Down, d(30)),
        proxy_step(source, Fault::Status(500), d(30)),
        proxy_step(source, Fault::Status(503), d(30)),
        proxy_step(source, Fault::TooMany(1), d(30)),
        proxy_step(source, Fault::Slow(slow), d(40)),
        proxy_step(source, Fault::Malformed, d(30)),
        proxy_step(source, Fault::Huge, d(40)),
    ];
    v.push(Step {
        name: "server killed".into(),
        inject: Box::new(move |w: &World| {
            w.proxies[source].set(Fault::Pass);
            w.kill(source)
        }),
        clear: Box::new(move |w: &World| w.restart(source)),
        detect_within: d(30),
        chain: false,
    });
    if source == "cloudwatch" {
        // Two rounds, each starting at a minute's fetch: down, 500, 503, 429 | slow,
        // malformed, 50 MB, killed.
        for (i, st) in v.iter_mut().enumerate() {
            st.chain = !matches!(i, 3 | 7);
            if matches!(i, 0 | 4) {
                st.detect_within = d(80);
            }
        }
    }
    v
}

fn run_steps(
    term: &Mutex<String>,
    w: &World,
    board: &Mutex<Board>,
    source: &'static str,
    steps: Vec<Step>,
) {
    let state =
        |deadline: Instant, want: &dyn Fn(&str) -> bool| -> Result<(String, String), String> {
            loop {
                let text = term.lock().unwrap().clone();
                if let Some((s, age)) = source_state(&text, source) {
                    if want(&s) {
                        return Ok((s, age));
                    }
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "{source}: state is {:?}:\n{text}",
                        source_state(&text, source)
                    ));
                }
                std::thread::sleep(Duration::from_millis(25));
            }
        };
    let mut chained = false;
    for step in steps {
        let label = format!("{source}: {}", step.name);
        let mut out = Outcome::default();
        let proxy = &w.proxies[source];
        let before = proxy.faulted();
        board.lock().unwrap().active.insert(source, label.clone());
        let t0 = Instant::now();
        (step.inject)(w);
        let deadline = t0 + step.detect_within;
        if chained {
            // Already failing: this fault counts once the source has met it.
            while proxy.faulted() == before && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(25));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        match state(deadline, &|s| failing(s)) {
            Ok(shown) => {
                out.detect = Some(t0.elapsed());
                out.shown = Some(shown);
                out.error_text = source_error(&term.lock().unwrap(), source);
            }
            Err(e) => out.error = Some(format!("no failing state: {e}")),
        }
        // Let the fault go on a little: the dashboard must stay live under it. A source whose
        // open connection the fault cut (a watch) shows it before asking again: give its retry
        // (a second's backoff) up to 3 s more to meet the fault too.
        std::thread::sleep(Duration::from_millis(600));
        let retry_by = Instant::now() + Duration::from_secs(3);
        while proxy.faulted() == before && Instant::now() < retry_by {
            std::thread::sleep(Duration::from_millis(25));
        }
        out.faulted_requests = proxy.faulted() - before;
        if step.chain {
            chained = true;
        } else {
            chained = false;
            let t1 = Instant::now();
            (step.clear)(w);
            proxy.set(Fault::Pass);
            match state(t1 + Duration::from_secs(60), &|s| s == "ok") {
                Ok(_) => out.recover = Some(t1.elapsed()),
                Err(e) => {
                    out.error.get_or_insert(format!("did not recover: {e}"));
                }
            }
        }
        eprintln!(
            "  {label}: shown {:?} after {:?}, ok again after {:?}; error text {:?}{}",
            out.shown,
            out.detect,
            out.recover,
            out.error_text,
            out.error
                .as_ref()
                .map(|e| format!("\n    PROBLEM: {e}"))
                .unwrap_or_default()
        );
        let mut b = board.lock().unwrap();
        if !step.chain {
            b.active.remove(source);
        }
        b.outcomes.push((label, out));
    }
    board.lock().unwrap().done += 1;
}

/// Probe the latency over and over until `until` says stop; each sample is filed under every
/// step active at the time (and under `idle` when none is).
fn probe_while(t: &mut Term, board: &Mutex<Board>, idle: &str, until: impl Fn(&Board) -> bool) {
    loop {
        if until(&board.lock().unwrap()) {
            return;
        }
        for want in [View::Cost, View::Overview] {
            let labels: Vec<String> = {
                let b = board.lock().unwrap();
                if b.active.is_empty() {
                    vec![idle.to_string()]
                } else {
                    b.active.values().cloned().collect()
                }
            };
            let lat = t.probe(want);
            let mut b = board.lock().unwrap();
            for l in labels {
                b.samples.entry(l).or_default().push(lat);
            }
        }
        // Leave the Overview up a moment: the source lines are read from it.
        std::thread::sleep(Duration::from_millis(120));
    }
}

#[test]
fn every_fault_on_every_source_keeps_the_dashboard_live() {
    let started = Instant::now();
    // 1. Down at start.
    let w = world(Fault::Down);
    let mut t = spawn(&w);
    t.wait_for("first frame", Duration::from_secs(15), |s| {
        s.contains("Sources:")
    });
    let board = Mutex::new(Board::default());
    let overview = Arc::new(Mutex::new(String::new()));
    // A thread copies the latest Overview text for the source watchers (the prober flips views).
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let copier = {
        let (screen, overview, stop) = (t.screen.clone(), overview.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                {
                    let s = screen.0.lock().unwrap();
                    if view_of(&s.text) == Some(View::Overview) {
                        *overview.lock().unwrap() = s.text.clone();
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    board
        .lock()
        .unwrap()
        .active
        .insert("all", "all: down at start".into());
    let down_start = Instant::now();
    let all_failing = |text: &str| {
        SOURCES
            .iter()
            .all(|s| source_state(text, s).is_some_and(|(st, _)| failing(&st)))
    };
    // Every source says it is failing, while keys keep answering.
    probe_while(&mut t, &board, "idle", |_| {
        all_failing(&overview.lock().unwrap()) || down_start.elapsed() > Duration::from_secs(60)
    });
    let down_text = overview.lock().unwrap().clone();
    assert!(
        all_failing(&down_text),
        "not every source failing while down:\n{down_text}"
    );
    let down_detect = down_start.elapsed();
    // Up: every source recovers on its own.
    for p in w.proxies.values() {
        p.set(Fault::Pass);
    }
    let up = Instant::now();
    let all_ok = |text: &str| {
        SOURCES
            .iter()
            .all(|s| source_state(text, s).is_some_and(|(st, _)| st == "ok"))
    };
    probe_while(&mut t, &board, "idle", |_| {
        all_ok(&overview.lock().unwrap()) || up.elapsed() > Duration::from_secs(90)
    });
    let up_text = overview.lock().unwrap().clone();
    assert!(
        all_ok(&up_text),
        "not every source recovered after start-up outage:\n{up_text}"
    );
    let recovered = up.elapsed();
    board.lock().unwrap().active.clear();
    eprintln!(
        "down at start: every source failing after {:.1}s, all ok {:.1}s after the endpoints came up",
        down_detect.as_secs_f64(),
        recovered.as_secs_f64()
    );

    // 2. Every fault on every source, the sources in parallel.
    std::thread::scope(|scope| {
        for source in SOURCES {
            let (w, board, overview) = (&w, &board, &*overview);
            scope.spawn(move || run_steps(overview, w, board, source, steps(source)));
        }
        probe_while(&mut t, &board, "idle", |b| b.done == SOURCES.len());
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = copier.join();

    // 3. Report and judge.
    let b = board.lock().unwrap();
    let mut problems = Vec::new();
    eprintln!(
        "{:<34} {:>7} {:>8} {:>7} {:>9} {:>8}  shown",
        "fault", "samples", "max ms", "p50 ms", "detect s", "recover"
    );
    let mut labels: Vec<&String> = b.samples.keys().collect();
    labels.sort();
    for label in labels {
        let mut v = b.samples[label].clone();
        v.sort();
        let max = *v.last().expect("samples");
        let p50 = v[v.len() / 2];
        let o = b
            .outcomes
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, o)| o.clone())
            .unwrap_or_default();
        eprintln!(
            "{:<34} {:>7} {:>8.1} {:>7.1} {:>9} {:>8}  {}",
            label,
            v.len(),
            max.as_secs_f64() * 1000.0,
            p50.as_secs_f64() * 1000.0,
            o.detect
                .map(|d| format!("{:.1}", d.as_secs_f64()))
                .unwrap_or_default(),
            o.recover
                .map(|d| format!("{:.1}", d.as_secs_f64()))
                .unwrap_or_default(),
            o.shown
                .as_ref()
                .map(|(s, a)| format!("{s} {a}"))
                .unwrap_or_default(),
        );
        if max > TARGET_LATENCY {
            eprintln!(
                "  {label}: over the {} ms target (a busy machine; asserted bound {} ms)",
                TARGET_LATENCY.as_millis(),
                NEVER_BLOCKED.as_millis()
            );
        }
        if max > NEVER_BLOCKED {
            problems.push(format!(
                "{label}: a key waited {:.1} ms for its frame: the UI blocked on a source",
                max.as_secs_f64() * 1000.0,
            ));
        }
    }
    for (label, o) in &b.outcomes {
        if let Some(e) = &o.error {
            problems.push(format!("{label}: {e}"));
        }
        if o.faulted_requests == 0 && !label.ends_with(": down") {
            problems.push(format!("{label}: the proxy never served the fault"));
        }
        if !b.samples.contains_key(label) {
            problems.push(format!("{label}: no latency sample taken during it"));
        }
    }
    for (label, o) in &b.outcomes {
        if let Some((state, age)) = &o.shown {
            if age.is_empty() {
                problems.push(format!("{label}: {state} shown without an age"));
            }
        }
    }
    drop(b);

    // 4. Still alive; quits cleanly; nothing bad reached the terminal.
    assert!(t.alive(), "the dashboard died:\n{}", t.text());
    t.key(b"q");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = t.child.try_wait().expect("try_wait") {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "did not quit on q:\n{}",
            t.text()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    std::thread::sleep(Duration::from_millis(200));
    if !status.success() {
        problems.push(format!("exit status {status:?}"));
    }
    for bad in t.bad() {
        problems.push(format!("{bad} reached the terminal"));
    }
    eprintln!("wall time {:.1}s", started.elapsed().as_secs_f64());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
