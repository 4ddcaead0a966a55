//! Team mode (issue 18, first part), with a real Redis: a collector publishes the demo to a
//! stream; viewers attach with nothing but the URL — the collector shows as a source with state
//! and age, the sources keep the names and states the collector saw, a redacted collector
//! publishes nothing sensitive, a viewer with a read-only ACL user works, hostile or malformed
//! entries are skipped, and a silent collector is unmistakable.
use crate::support::redis::RedisServer;
use serde_json::Value;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn cmd(home: &std::path::Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hybridtop"));
    c.args(args)
        .env_clear()
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("LANG", "C.UTF-8");
    c
}

fn collect(home: &std::path::Path, args: &[&str]) -> Child {
    cmd(home, args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[allow(unsafe_code)] // libc has no safe wrapper for kill
fn term(child: &mut Child) -> Output {
    // SAFETY: a signal to our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "collector did not end on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output_ref()
}

trait WaitOutput {
    fn wait_with_output_ref(&mut self) -> Output;
}

impl WaitOutput for Child {
    fn wait_with_output_ref(&mut self) -> Output {
        use std::io::Read;
        let status = self.wait().unwrap();
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        if let Some(mut o) = self.stdout.take() {
            let _ = o.read_to_end(&mut stdout);
        }
        if let Some(mut e) = self.stderr.take() {
            let _ = e.read_to_end(&mut stderr);
        }
        Output {
            status,
            stdout,
            stderr,
        }
    }
}

fn attach_json(home: &std::path::Path, url: &str) -> (Value, Output) {
    let o = cmd(home, &["snapshot", "--attach", url, "--format", "json"])
        .output()
        .unwrap();
    let v = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
    (v, o)
}

fn source<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no source {name}: {}", v["sources"]))
}

/// A collector started with `args`, once a viewer sees its fleet.
fn collecting(home: &std::path::Path, url: &str, args: &[&str]) -> Child {
    let c = collect(home, args);
    attach_until(home, url, |v| {
        v["fleet"]["pods"].as_array().is_some_and(|p| !p.is_empty())
    });
    c
}

/// Poll `snapshot --attach` until `ok` holds (at most 20 s).
fn attach_until(home: &std::path::Path, url: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (v, o) = attach_json(home, url);
        if ok(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "not within 20 s: {}\n{}",
            String::from_utf8_lossy(&o.stderr),
            serde_json::to_string(&v["sources"]).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn a_collector_publishes_and_viewers_attach_with_nothing_but_the_url() {
    let redis = RedisServer::start();
    let home = tempfile::tempdir().unwrap();
    let url = redis.url("incident");
    let mut c = collect(
        home.path(),
        &["collect", "--demo", "--seed", "7", "--publish", &url],
    );
    let v = attach_until(home.path(), &url, |v| {
        v["mode"] == "attach"
            && v["sources"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|s| s["name"] == "collector" && s["state"] == "ok")
            })
            && v["fleet"]["pods"].as_array().is_some_and(|p| !p.is_empty())
            // The collector's warm-up (a whole window simulated) may still be under way on a
            // loaded machine: wait for its traffic, asserted below.
            && v["paths"].as_array().is_some_and(|p| {
                p.iter()
                    .filter_map(|p| p["requests_per_minute"].as_f64())
                    .sum::<f64>()
                    > 50.0
            })
    });
    // The sources keep their own names and the states the collector saw.
    for name in ["cloudwatch", "kubernetes", "langfuse"] {
        assert_eq!(source(&v, name)["state"], "ok", "{name}");
    }
    assert!(source(&v, "collector")["age_seconds"].as_f64().unwrap() < 15.0);
    let rpm: f64 = v["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["requests_per_minute"].as_f64().unwrap())
        .sum();
    assert!(rpm > 50.0, "{rpm}");
    assert_eq!(v["read_only"], true);
    // A second viewer sees the same stream; the collector ends cleanly on SIGTERM.
    let (w, _) = attach_json(home.path(), &url);
    assert_eq!(w["mode"], "attach");
    let o = term(&mut c);
    // Two viewers of the same (now still) stream show the same numbers.
    let (a, _) = attach_json(home.path(), &url);
    let (b, _) = attach_json(home.path(), &url);
    let pods = |v: &Value| {
        v["fleet"]["pods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| format!("{}:{}:{}", p["name"], p["phase"], p["engine"]))
            .collect::<Vec<_>>()
    };
    assert!(!pods(&a).is_empty());
    assert_eq!(pods(&a), pods(&b));
    assert_eq!(a["router"], b["router"]);
    // Two snapshots a moment apart: the window moved by that moment, nothing else.
    let (sa, sb) = (
        a["sessions"]["total"].as_f64().unwrap(),
        b["sessions"]["total"].as_f64().unwrap(),
    );
    assert!(
        sa > 0.0 && (sa - sb).abs() <= 0.01 * sa + 1.0,
        "{sa} vs {sb}"
    );
    for (pa, pb) in a["paths"]
        .as_array()
        .unwrap()
        .iter()
        .zip(b["paths"].as_array().unwrap())
    {
        let (ra, rb) = (
            pa["requests_per_minute"].as_f64().unwrap(),
            pb["requests_per_minute"].as_f64().unwrap(),
        );
        assert!(
            (ra - rb).abs() <= 0.02 * ra.max(1.0),
            "{} {ra} vs {rb}",
            pa["id"]
        );
    }
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Structured logs: JSON lines on stderr, the last one with the count published.
    let log = String::from_utf8_lossy(&o.stderr);
    let last: Value = serde_json::from_str(log.lines().last().unwrap_or("")).unwrap_or_default();
    assert_eq!(last["message"], "collector stopped", "{log}");
    assert!(last["published"].as_u64().unwrap_or(0) > 100, "{log}");
    assert!(
        log.lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "{log}"
    );
    // Silent for two intervals (10 s): the collector reads as stale, with an alert that says so.
    std::thread::sleep(Duration::from_secs(11));
    let (v, _) = attach_json(home.path(), &url);
    assert_eq!(
        source(&v, "collector")["state"],
        "stale",
        "{}",
        v["sources"]
    );
    assert!(
        v["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["code"] == "source_stale"
                && a["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("collector silent for")),
        "{}",
        v["alerts"]
    );
}

#[test]
fn redaction_before_publishing_acl_viewers_and_hostile_entries() {
    let redis = RedisServer::start();
    let home = tempfile::tempdir().unwrap();
    let url = redis.url("redacted");
    let mut c = collecting(
        home.path(),
        &url,
        &[
            "--redact",
            "collect",
            "--demo",
            "--seed",
            "3",
            "--publish",
            &url,
        ],
    );
    let _ = term(&mut c);
    // Nothing sensitive entered Redis: node names and user ids are masked in the raw stream.
    let raw = redis.command(&[b"XRANGE", b"redacted", b"-", b"+"]);
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.contains("ip-x-x-x-x~"),
        "no masked node name in the stream"
    );
    assert!(!text.contains("ip-10-0-"), "a node name left unmasked");
    assert!(
        !text.contains("\"user_id\":\"u-"),
        "a user id left unmasked"
    );

    // A viewer whose ACL user may only read the stream.
    assert!(redis
        .command(&[
            b"ACL",
            b"SETUSER",
            b"viewer",
            b"on",
            b">viewer-secret",
            b"~redacted",
            b"+xrange",
            b"+xread",
            b"+xinfo",
            b"+ping",
            b"+hello",
            b"+client"
        ])
        .starts_with(b"+OK"));
    let acl = format!(
        "redis://viewer:viewer-secret@127.0.0.1:{}?stream=redacted",
        redis.port
    );
    let (v, o) = attach_json(home.path(), &acl);
    assert_eq!(
        v["mode"],
        "attach",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A wrong password is refused, and never printed.
    let bad = format!(
        "redis://viewer:wrong-pw@127.0.0.1:{}?stream=redacted",
        redis.port
    );
    let (_, o) = attach_json(home.path(), &bad);
    assert_eq!(
        o.status.code(),
        Some(2),
        "a refused password is the user's input: exit 2"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("wrong-pw") && err.contains("***"), "{err}");
    assert!(err.contains("refused the user or password"), "{err}");
    // Unreachable is not the user's input: exit 1.
    let (_, o) = attach_json(home.path(), "redis://127.0.0.1:1?stream=x");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Hostile and malformed entries are skipped or sanitised; the viewer goes on.
    // (Written with the current leader's fencing token, as anyone who can write the key could.)
    let hostile = serde_json::json!({"t": 1, "u": {"kind": "health", "source": "langfuse",
        "state": "error", "last_success": null,
        "error": "boom \u{1b}]0;owned\u{7}\u{202e} \u{9b}2J"}})
    .to_string();
    for entry in [
        vec![
            b"XADD".as_slice(),
            b"redacted",
            b"*",
            b"line",
            b"{not json",
            b"fence",
            b"1",
        ],
        vec![
            b"XADD".as_slice(),
            b"redacted",
            b"*",
            b"other",
            b"x",
            b"fence",
            b"1",
        ],
        vec![
            b"XADD".as_slice(),
            b"redacted",
            b"*",
            b"line",
            hostile.as_bytes(),
            b"fence",
            b"1",
        ],
    ] {
        assert!(!redis.command(&entry).is_empty());
    }
    let o = cmd(
        home.path(),
        &["snapshot", "--attach", &url, "--format", "text"],
    )
    .output()
    .unwrap();
    assert!(
        matches!(o.status.code(), Some(0) | Some(4)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let screen = String::from_utf8_lossy(&o.stdout);
    assert!(screen.contains("langfuse"), "{screen}");
    assert!(
        screen.contains("boom"),
        "the hostile entry was applied, sanitised: {screen}"
    );
    for c in screen.chars() {
        assert!(
            !(matches!(c, '\u{202a}'..='\u{202e}') || c.is_control() && c != '\n'),
            "{c:?} reached the screen"
        );
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[allow(unsafe_code)] // libc has no safe wrapper for kill
fn kill9(child: &mut Child) {
    // SAFETY: a signal to our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let _ = child.wait();
}

/// Two collectors on one stream: only the leader publishes; when it is killed the standby takes
/// over within two intervals (10 s), with a higher fencing token, and a follower never waits
/// longer than the takeover for new entries.
#[test]
fn a_standby_takes_over_when_the_leader_dies() {
    use hybridtop::record::stream::{parse_url, Follower};
    let redis = RedisServer::start();
    let home = tempfile::tempdir().unwrap();
    let url = redis.url("standby");
    let args = [
        "collect",
        "--demo",
        "--seed",
        "5",
        "--publish",
        url.as_str(),
    ];
    let mut leader = collect(home.path(), &args);
    let rt = rt();
    let u = parse_url(&url, None).unwrap();
    let mut f = rt.block_on(Follower::connect(&u)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while f.fence == 0 {
        assert!(Instant::now() < deadline, "the first collector never led");
        rt.block_on(f.follow(Duration::from_millis(500))).unwrap();
    }
    let first = f.fence;
    let mut standby = collect(home.path(), &args);
    // The standby runs but publishes nothing while the leader lives.
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        rt.block_on(f.follow(Duration::from_millis(500))).unwrap();
    }
    assert_eq!(
        f.fence, first,
        "the standby published while the leader lived"
    );
    kill9(&mut leader);
    let killed = Instant::now();
    let mut last_entry = Instant::now();
    let mut longest_gap = Duration::ZERO;
    while f.fence == first {
        assert!(
            killed.elapsed() < Duration::from_secs(10),
            "no takeover within two intervals"
        );
        if !rt
            .block_on(f.follow(Duration::from_millis(200)))
            .unwrap()
            .is_empty()
        {
            longest_gap = longest_gap.max(last_entry.elapsed());
            last_entry = Instant::now();
        }
    }
    let takeover = killed.elapsed();
    assert!(f.fence > first);
    // The new leader keeps publishing: no stall after the takeover.
    let until = Instant::now() + Duration::from_secs(4);
    let mut n = 0;
    while Instant::now() < until {
        n += rt
            .block_on(f.follow(Duration::from_millis(500)))
            .unwrap()
            .len();
    }
    assert!(n > 4, "{n} entries in 4 s after the takeover");
    assert!(
        takeover <= Duration::from_secs(7),
        "takeover took {takeover:?}"
    );
    // A viewer sees the collector healthy again, with the fleet (the new leader's keyframe).
    let v = attach_until(home.path(), &url, |v| {
        v["sources"].as_array().is_some_and(|s| {
            s.iter()
                .any(|s| s["name"] == "collector" && s["state"] == "ok")
        })
    });
    assert!(!v["fleet"]["pods"].as_array().unwrap().is_empty());
    let _ = term(&mut standby);
    eprintln!("takeover {takeover:?}, longest follower gap before it {longest_gap:?}");
}

/// A leader that stalls past its lease (GC pause, network partition) and wakes up to write again
/// carries an old fencing token: viewers ignore those entries, and the stale leader learns at
/// its next renewal that it was deposed.
#[test]
fn a_deposed_leaders_entries_are_ignored() {
    use hybridtop::config::Config;
    use hybridtop::model::snapshot::Mode;
    use hybridtop::model::update::Update;
    use hybridtop::record::stream::{parse_url, Follower, LeaseChange, Publisher};
    use hybridtop::record::Header;
    let redis = RedisServer::start();
    let u = parse_url(&redis.url("fenced"), None).unwrap();
    let rt = rt();
    let clock = |s: i64| Update::Clock {
        now: chrono::DateTime::from_timestamp(1_764_061_200 + s, 0).unwrap(),
    };
    rt.block_on(async {
        let day = Duration::from_secs(86_400);
        let header = Header::new(&Config::demo(), Mode::Demo, false, true);
        let mut a = Publisher::connect(&u, 10_000, day, false).await.unwrap();
        let mut b = Publisher::connect(&u, 10_000, day, false).await.unwrap();
        a.set_header(&header).unwrap();
        b.set_header(&header).unwrap();
        assert_eq!(a.contend().await.unwrap(), LeaseChange::Elected(1));
        assert_eq!(b.contend().await.unwrap(), LeaseChange::Unchanged);
        a.publish_keyframe(1, &[]).await.unwrap();
        a.publish(1, &clock(1)).await.unwrap();
        // A stalls; its lease lapses and B takes over.
        assert!(redis
            .command(&[b"DEL", b"{fenced}:lease"])
            .starts_with(b":1"));
        assert_eq!(b.contend().await.unwrap(), LeaseChange::Elected(2));
        b.publish_keyframe(2, &[]).await.unwrap();
        b.publish(2, &clock(2)).await.unwrap();
        // A wakes up and writes before it renews.
        a.publish(3, &clock(99)).await.unwrap();
        b.publish(4, &clock(4)).await.unwrap();
        let mut f = Follower::connect(&u).await.unwrap();
        let got: Vec<Update> = f
            .backfill(0)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.update)
            .collect();
        assert_eq!(got, vec![clock(1), clock(2), clock(4)]);
        assert_eq!((f.deposed, f.fence), (1, 2));
        assert_eq!(a.contend().await.unwrap(), LeaseChange::Deposed);
        assert_eq!(a.leading(), None);
        // Deposed, A publishes nothing more.
        a.publish(5, &clock(5)).await.unwrap();
        assert!(f
            .follow(Duration::from_millis(50))
            .await
            .unwrap()
            .is_empty());
    });
}

/// History without pressing record: `export` writes an ordinary recording, and `snapshot
/// --replay` takes the stream itself, at a time or a number of seconds.
#[test]
fn history_is_exported_and_replayed_from_the_stream() {
    let redis = RedisServer::start();
    let home = tempfile::tempdir().unwrap();
    let url = redis.url("history");
    let mut c = collecting(
        home.path(),
        &url,
        &["collect", "--demo", "--seed", "9", "--publish", &url],
    );
    let mid = chrono::Utc::now();
    std::thread::sleep(Duration::from_secs(3));
    let _ = term(&mut c);
    let file = home.path().join("incident.jsonl.zst");
    let o = cmd(
        home.path(),
        &["export", &url, "--from", "1h", "--to", "now", "-o"],
    )
    .arg(&file)
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrote "));
    // An ordinary recording: the file player reads it.
    let o = cmd(home.path(), &["snapshot", "--format", "json", "--replay"])
        .arg(&file)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["mode"], "replay");
    assert!(!v["fleet"]["pods"].as_array().unwrap().is_empty());
    // Never over an existing file; --from after --to is refused.
    let o = cmd(home.path(), &["export", &url, "--from", "1h", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = cmd(
        home.path(),
        &[
            "export", &url, "--from", "1m", "--to", "2h", "-o", "x.jsonl",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(2));
    // The stream itself, now, at a time, and at seconds from its oldest entry; the temporary
    // recordings go to this test's own TMPDIR.
    let tmp = home.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let at = mid.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for extra in [vec![], vec!["--at", at.as_str()], vec!["--at", "2"]] {
        let o = cmd(
            home.path(),
            &["snapshot", "--format", "json", "--replay", &url],
        )
        .env("TMPDIR", &tmp)
        .args(&extra)
        .output()
        .unwrap();
        let v: Value = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|_| panic!("{extra:?}: {}", String::from_utf8_lossy(&o.stderr)));
        assert_eq!(v["mode"], "replay", "{extra:?}");
        assert!(
            !v["fleet"]["pods"].as_array().unwrap().is_empty(),
            "{extra:?}"
        );
    }
    // No temporary recording is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// TLS: with the CA file the collector publishes and a viewer attaches over `rediss://`; without
/// it (the system's roots do not know this CA) the viewer gets a clear certificate error, and
/// `--redis-ca` on a plain `redis://` URL is refused as a mistake.
#[test]
fn tls_with_a_ca_file() {
    use crate::support::redis::TlsRedisServer;
    let redis = TlsRedisServer::start();
    let home = tempfile::tempdir().unwrap();
    let url = redis.url("tls");
    let ca = redis.ca_pem.to_str().unwrap().to_string();
    let mut c = collect(
        home.path(),
        &["--redis-ca", &ca, "collect", "--demo", "--publish", &url],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let o = cmd(
            home.path(),
            &[
                "--redis-ca",
                &ca,
                "snapshot",
                "--attach",
                &url,
                "--format",
                "json",
            ],
        )
        .output()
        .unwrap();
        let v: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        if v["fleet"]["pods"].as_array().is_some_and(|p| !p.is_empty()) {
            assert_eq!(v["mode"], "attach");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no data over TLS: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let (_, o) = attach_json(home.path(), &url);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot reach Redis") && err.to_lowercase().contains("cert"),
        "{err}"
    );
    let plain = format!("redis://127.0.0.1:{}", redis.port);
    let o = cmd(
        home.path(),
        &["--redis-ca", &ca, "snapshot", "--attach", &plain],
    )
    .output()
    .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = term(&mut c);
}

/// Viewers cost the sources nothing: twenty viewers whose environment points every source
/// (Kubernetes, CloudWatch, Cost Explorer, Langfuse, Prometheus) at a listener that counts
/// connections make none, while they read the collector's stream.
#[test]
fn twenty_viewers_make_no_source_requests() {
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let redis = RedisServer::start();
    let home = tempfile::tempdir().unwrap();
    let url = redis.url("viewers");
    let mut c = collecting(
        home.path(),
        &url,
        &["collect", "--demo", "--seed", "2", "--publish", &url],
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            h.fetch_add(1, Ordering::SeqCst);
            drop(s);
        }
    });
    let endpoint = format!("http://127.0.0.1:{port}");
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: {endpoint}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: t\n"
        ),
    )
    .unwrap();
    let config = home.path().join("viewer.toml");
    std::fs::write(
        &config,
        format!(
            "[prometheus]\nurl = \"{endpoint}\"\n[langfuse]\nhost = \"{endpoint}\"\n[aws]\nregion = \"us-east-2\"\n"
        ),
    )
    .unwrap();
    let viewers: Vec<Child> = (0..20)
        .map(|_| {
            cmd(
                home.path(),
                &["snapshot", "--attach", &url, "--format", "json"],
            )
            .arg("-c")
            .arg(&config)
            .env("KUBECONFIG", &kubeconfig)
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("LANGFUSE_BASE_URL", &endpoint)
            .env("LANGFUSE_PUBLIC_KEY", "pk")
            .env("LANGFUSE_SECRET_KEY", "sk")
            .env("AWS_ACCESS_KEY_ID", "AKID")
            .env("AWS_SECRET_ACCESS_KEY", "secret")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for mut v in viewers {
        let o = v.wait_with_output_ref();
        let j: Value = serde_json::from_slice(&o.stdout).unwrap_or(Value::Null);
        assert_eq!(
            j["mode"],
            "attach",
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(!j["fleet"]["pods"].as_array().unwrap().is_empty());
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "a viewer reached a source");
    let _ = term(&mut c);
}

/// Redis restarts under a viewer: following fails, a reconnect resumes, and new entries arrive.
#[test]
fn a_viewer_reconnects_after_redis_restarts() {
    use hybridtop::model::update::Update;
    use hybridtop::record::stream::{parse_url, Follower};
    let redis = RedisServer::start();
    let port = redis.port;
    let u = parse_url(&redis.url("restart"), None).unwrap();
    let line =
        |s: i64| format!(r#"{{"t":{s},"u":{{"kind":"clock","now":"2026-11-25T09:00:0{s}Z"}}}}"#);
    redis.command(&[b"XADD", b"restart", b"*", b"line", line(1).as_bytes()]);
    let rt = rt();
    rt.block_on(async {
        let mut f = Follower::connect(&u).await.unwrap();
        assert_eq!(f.backfill(0).await.unwrap().len(), 1);
        drop(redis);
        assert!(f.follow(Duration::from_millis(100)).await.is_err());
        let again = RedisServer::start_on(port);
        f.reconnect().await.unwrap();
        again.command(&[b"XADD", b"restart", b"*", b"line", line(2).as_bytes()]);
        let got = f.follow(Duration::from_millis(500)).await.unwrap();
        assert!(
            matches!(got.first().map(|r| &r.update), Some(Update::Clock { .. })),
            "{got:?}"
        );
    });
}
