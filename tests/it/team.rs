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
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("published "));
    // Silent for three heartbeats: the collector reads as stale, with an alert that says so.
    std::thread::sleep(Duration::from_secs(16));
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
                    .starts_with("collector stale")),
        "{}",
        v["alerts"]
    );
}

#[test]
fn redaction_before_publishing_acl_viewers_and_hostile_entries() {
    let redis = RedisServer::start();
    let home = tempfile::tempdir().unwrap();
    let url = redis.url("redacted");
    let mut c = collect(
        home.path(),
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
    attach_until(home.path(), &url, |v| {
        v["fleet"]["pods"].as_array().is_some_and(|p| !p.is_empty())
    });
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
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("wrong-pw") && err.contains("***"), "{err}");

    // Hostile and malformed entries are skipped or sanitised; the viewer goes on.
    let hostile = serde_json::json!({"t": 1, "u": {"kind": "health", "source": "langfuse",
        "state": "error", "last_success": null,
        "error": "boom \u{1b}]0;owned\u{7}\u{202e} \u{9b}2J"}})
    .to_string();
    for entry in [
        vec![b"XADD".as_slice(), b"redacted", b"*", b"line", b"{not json"],
        vec![b"XADD".as_slice(), b"redacted", b"*", b"other", b"x"],
        vec![
            b"XADD".as_slice(),
            b"redacted",
            b"*",
            b"line",
            hostile.as_bytes(),
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
    for c in screen.chars() {
        assert!(
            !(matches!(c, '\u{202a}'..='\u{202e}') || c.is_control() && c != '\n'),
            "{c:?} reached the screen"
        );
    }
}
