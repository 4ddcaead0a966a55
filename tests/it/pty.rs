//! The real binary in a pseudo-terminal: it draws, quits on `q`, and always leaves the terminal
//! as it found it — on quit, SIGTERM, SIGHUP and SIGQUIT, and while suspended (SIGTSTP, Ctrl-Z).
use portable_pty::{native_pty_system, Child, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Running {
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    output: Arc<Mutex<Vec<u8>>>,
    _home: tempfile::TempDir,
    cols: u16,
    rows: u16,
}

fn spawn(args: &[&str], cols: u16, rows: u16) -> Running {
    spawn_in(args, cols, rows, tempfile::tempdir().expect("tempdir"))
}

fn spawn_in(args: &[&str], cols: u16, rows: u16, home: tempfile::TempDir) -> Running {
    spawn_env(args, cols, rows, home, &[("LANG", "C.UTF-8")])
}

fn spawn_env(
    args: &[&str],
    cols: u16,
    rows: u16,
    home: tempfile::TempDir,
    env: &[(&str, &str)],
) -> Running {
    let pty = native_pty_system();
    let pair = pty
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("openpty");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_hybridtop"));
    cmd.args(args);
    cmd.env_clear();
    cmd.env("TERM", "xterm-256color");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.env("HOME", home.path());
    cmd.env("XDG_CONFIG_HOME", home.path().join("config"));
    cmd.env("XDG_STATE_HOME", home.path().join("state"));
    cmd.env("XDG_CACHE_HOME", home.path().join("cache"));
    let child = pair.slave.spawn_command(cmd).expect("spawn");
    drop(pair.slave);
    let mut reader = pair.master.try_clone_reader().expect("reader");
    let writer = pair.master.take_writer().expect("writer");
    let output = Arc::new(Mutex::new(Vec::new()));
    let out = output.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.lock().unwrap().extend_from_slice(&buf[..n]),
            }
        }
    });
    // Keep the master alive for the child's lifetime.
    std::mem::forget(pair.master);
    Running {
        child,
        writer,
        output,
        _home: home,
        cols,
        rows,
    }
}

impl Running {
    fn bytes(&self) -> Vec<u8> {
        self.output.lock().unwrap().clone()
    }
    fn screen(&self) -> String {
        let mut p = vt100::Parser::new(self.rows, self.cols, 0);
        p.process(&self.bytes());
        p.screen().contents()
    }
    fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let s = self.screen();
            if s.contains(needle) {
                return s;
            }
            assert!(
                start.elapsed() < timeout,
                "'{needle}' not on screen after {timeout:?}:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    fn wait_exit(&mut self, timeout: Duration) -> portable_pty::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                // Let the reader drain what was written last.
                std::thread::sleep(Duration::from_millis(200));
                return st;
            }
            assert!(
                start.elapsed() < timeout,
                "process did not exit within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    #[allow(unsafe_code)] // libc has no safe wrapper for kill
    fn signal(&self, sig: i32) {
        let pid = self.child.process_id().expect("pid") as i32;
        // SAFETY: sending a signal to our own child process.
        assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
    }
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

fn assert_restored(out: &[u8]) {
    let entered = rfind(out, b"\x1b[?1049h").expect("never entered the alternate screen");
    let left = rfind(out, b"\x1b[?1049l").expect("never left the alternate screen");
    assert!(left > entered, "alternate screen not left at the end");
    let shown = rfind(out, b"\x1b[?25h").expect("cursor never shown");
    if let Some(hidden) = rfind(out, b"\x1b[?25l") {
        assert!(shown > hidden, "cursor left hidden");
    }
    let begins = out.windows(8).filter(|w| *w == b"\x1b[?2026h").count();
    let ends = out.windows(8).filter(|w| *w == b"\x1b[?2026l").count();
    assert!(begins > 0, "frames are not wrapped in synchronized output");
    assert!(
        ends >= begins,
        "synchronized output left open ({begins} begins, {ends} ends)"
    );
}

#[test]
fn demo_draws_and_quits_cleanly_on_q() {
    let mut r = spawn(&["demo", "--seed", "3"], 80, 24);
    let screen = r.wait_for("DEMO", Duration::from_secs(15));
    assert!(
        screen.contains("eks-qwen3") || screen.contains("EKS"),
        "{screen}"
    );
    r.writer.write_all(b"q").unwrap();
    r.writer.flush().unwrap();
    let st = r.wait_exit(Duration::from_secs(10));
    assert!(st.success(), "exit status {st:?}");
    assert_restored(&r.bytes());
}

#[test]
fn sigterm_restores_the_terminal() {
    let mut r = spawn(&["demo"], 100, 30);
    r.wait_for("DEMO", Duration::from_secs(15));
    r.signal(libc::SIGTERM);
    r.wait_exit(Duration::from_secs(10));
    assert_restored(&r.bytes());
}

#[test]
fn sigquit_restores_the_terminal() {
    let mut r = spawn(&["demo"], 100, 30);
    r.wait_for("DEMO", Duration::from_secs(15));
    r.signal(libc::SIGQUIT);
    r.wait_exit(Duration::from_secs(10));
    assert_restored(&r.bytes());
}

/// The process's state letter in /proc (`T`: stopped).
fn proc_state(pid: u32) -> char {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // "pid (comm) S ...": the state follows the last ')'.
    stat.rsplit(')')
        .next()
        .and_then(|rest| rest.trim_start().chars().next())
        .unwrap_or('?')
}

fn wait_state(pid: u32, want: char, timeout: Duration) {
    let start = Instant::now();
    while proc_state(pid) != want {
        assert!(
            start.elapsed() < timeout,
            "process state {} (wanted {want})",
            proc_state(pid)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGTSTP (and Ctrl-Z) hand the terminal back before the process stops; SIGCONT (`fg`) takes
/// it again and redraws everything.
#[test]
fn sigtstp_and_ctrl_z_restore_the_terminal_and_sigcont_redraws() {
    let mut r = spawn(&["demo"], 100, 30);
    r.wait_for("DEMO", Duration::from_secs(15));
    let pid = r.child.process_id().expect("pid");
    for how in ["SIGTSTP", "ctrl-z"] {
        let before = r.bytes().len();
        if how == "SIGTSTP" {
            r.signal(libc::SIGTSTP);
        } else {
            r.writer.write_all(b"\x1a").unwrap();
            r.writer.flush().unwrap();
        }
        wait_state(pid, 'T', Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(200));
        let stopped = r.bytes()[before..].to_vec();
        assert!(
            rfind(&stopped, b"\x1b[?1049l").is_some(),
            "{how}: alternate screen kept"
        );
        assert!(
            rfind(&stopped, b"\x1b[?25h").is_some(),
            "{how}: cursor left hidden"
        );
        let mid = r.bytes().len();
        r.signal(libc::SIGCONT);
        let start = Instant::now();
        loop {
            let again = r.bytes()[mid..].to_vec();
            if rfind(&again, b"\x1b[?1049h").is_some()
                && String::from_utf8_lossy(&again).contains("DEMO")
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{how}: no redraw after SIGCONT"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    r.writer.write_all(b"q").unwrap();
    r.writer.flush().unwrap();
    assert!(r.wait_exit(Duration::from_secs(10)).success());
    assert_restored(&r.bytes());
}

#[test]
fn sighup_restores_the_terminal() {
    let mut r = spawn(&["demo"], 100, 30);
    r.wait_for("DEMO", Duration::from_secs(15));
    r.signal(libc::SIGHUP);
    r.wait_exit(Duration::from_secs(10));
    assert_restored(&r.bytes());
}

#[test]
fn hostile_trace_names_never_reach_the_terminal() {
    // context-loss carries trace names with OSC title, BEL and CSI sequences; at high speed the
    // incident is reached quickly, and the Traces view shows the names.
    let mut r = spawn(
        &["demo", "--scenario", "context-loss", "--speed", "200"],
        120,
        40,
    );
    r.wait_for("DEMO", Duration::from_secs(15));
    std::thread::sleep(Duration::from_secs(4));
    r.writer.write_all(b"2").unwrap();
    r.writer.flush().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    r.writer.write_all(b"q").unwrap();
    r.writer.flush().unwrap();
    r.wait_exit(Duration::from_secs(10));
    let out = r.bytes();
    assert!(!out.contains(&0x07), "BEL reached the terminal");
    assert!(
        rfind(&out, b"\x1b]").is_none(),
        "an OSC sequence reached the terminal"
    );
}

#[test]
fn too_small_terminal_says_so() {
    let mut r = spawn(&["demo"], 60, 20);
    r.wait_for("too small", Duration::from_secs(15));
    r.writer.write_all(b"q").unwrap();
    r.writer.flush().unwrap();
    let st = r.wait_exit(Duration::from_secs(10));
    assert!(st.success());
}

#[test]
fn weights_editor_applies_and_audits_in_demo() {
    let home = tempfile::tempdir().unwrap();
    let audit = home.path().join("state/hybridtop/audit.jsonl");
    let mut r = spawn_in(&["demo", "--seed", "7"], 120, 40, home);
    // The first frame comes before the simulator's warm-up lands: wait for the weights.
    r.wait_for("70%", Duration::from_secs(15));
    apply_two_steps_off_the_first_path(&mut r);
    let text = std::fs::read_to_string(&audit).expect("audit log written");
    // The pending record, then the result.
    let entries: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 2, "{text}");
    assert_eq!(entries[0]["result"], "pending");
    let entry = &entries[1];
    assert_eq!(entry["to"]["eks-qwen3"], 60);
    assert_eq!(entry["to"]["agentcore-haiku"], 27);
    assert_eq!(entry["to"]["agentcore-sonnet"], 13);
    assert_eq!(entry["result"], "applied");
    r.writer.write_all(b"q").unwrap();
    r.writer.flush().unwrap();
    assert!(r.wait_exit(Duration::from_secs(10)).success());
    assert_restored(&r.bytes());
}

#[test]
fn read_only_demo_refuses_the_editor() {
    let home = tempfile::tempdir().unwrap();
    let audit = home.path().join("state/hybridtop/audit.jsonl");
    let mut r = spawn_in(&["--read-only", "demo"], 120, 40, home);
    r.wait_for("READ-ONLY", Duration::from_secs(15));
    r.wait_for("70%", Duration::from_secs(15));
    r.writer.write_all(b"w").unwrap();
    r.writer.flush().unwrap();
    let screen = r.wait_for("read-only", Duration::from_secs(5));
    assert!(!screen.contains("Router weights"), "{screen}");
    // The refusal is audited, though nothing was proposed or sent.
    let start = Instant::now();
    let text = loop {
        let t = std::fs::read_to_string(&audit).unwrap_or_default();
        if !t.is_empty() || start.elapsed() > Duration::from_secs(5) {
            break t;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let entry: serde_json::Value =
        serde_json::from_str(text.lines().next().unwrap_or("{}")).unwrap();
    assert!(
        entry["result"]
            .as_str()
            .unwrap_or("")
            .starts_with("refused: read-only"),
        "{text}"
    );
    assert_eq!(entry["mode"], "demo");
    r.writer.write_all(b"q").unwrap();
    r.writer.flush().unwrap();
    assert!(r.wait_exit(Duration::from_secs(10)).success());
}

/// Every SGR sequence's parameters in the output.
fn sgr_params(out: &[u8]) -> Vec<String> {
    let mut v = Vec::new();
    let mut i = 0;
    while i + 1 < out.len() {
        if out[i] == 0x1b && out[i + 1] == b'[' {
            let mut j = i + 2;
            while j < out.len() && (out[j].is_ascii_digit() || out[j] == b';' || out[j] == b':') {
                j += 1;
            }
            if j < out.len() && out[j] == b'm' {
                v.push(String::from_utf8_lossy(&out[i + 2..j]).into_owned());
            }
            i = j;
        } else {
            i += 1;
        }
    }
    v
}

fn is_colour_param(p: &str) -> bool {
    // 30–49 (incl. 38/48 extended, 39/49 defaults), 58/59, 90–107.
    p.split([';', ':'])
        .filter_map(|x| x.parse::<u32>().ok())
        .any(|n| (30..=49).contains(&n) || n == 58 || n == 59 || (90..=107).contains(&n))
}

fn run_and_quit(mut r: Running) -> Vec<u8> {
    r.wait_for("70%", Duration::from_secs(15));
    for k in ["2", "3", "4", "5", "1"] {
        r.writer.write_all(k.as_bytes()).unwrap();
        r.writer.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }
    r.writer.write_all(b"q").unwrap();
    r.writer.flush().unwrap();
    assert!(r.wait_exit(Duration::from_secs(10)).success());
    r.bytes()
}

#[test]
fn no_color_sends_no_colour_and_still_marks_state() {
    let r = spawn_env(
        &["demo", "--scenario", "eks-node-loss"],
        100,
        30,
        tempfile::tempdir().unwrap(),
        &[("LANG", "C.UTF-8"), ("NO_COLOR", "1")],
    );
    let out = run_and_quit(r);
    let params = sgr_params(&out);
    assert!(!params.is_empty(), "no SGR at all: bold/reverse missing");
    let colours: Vec<&String> = params.iter().filter(|p| is_colour_param(p)).collect();
    assert!(
        colours.is_empty(),
        "colour SGR sent under NO_COLOR: {colours:?}"
    );
    // Selection and severity are still marked: reverse video or bold appears.
    assert!(
        params
            .iter()
            .any(|p| p.split(';').any(|x| x == "7" || x == "1")),
        "{params:?}"
    );
}

#[test]
fn ascii_mode_and_a_c_locale_send_only_ascii() {
    for (args, env) in [
        (vec!["--ascii", "demo"], vec![("LANG", "C.UTF-8")]),
        (vec!["demo"], vec![("LANG", "C")]),
    ] {
        let r = spawn_env(&args, 100, 30, tempfile::tempdir().unwrap(), &env);
        let out = run_and_quit(r);
        let high: Vec<u8> = out.iter().copied().filter(|b| *b > 0x7f).take(8).collect();
        assert!(
            high.is_empty(),
            "{args:?} {env:?}: bytes above 0x7F: {high:02x?}"
        );
    }
}

#[test]
fn mouse_is_off_by_default_and_restored_when_on() {
    let out = run_and_quit(spawn(&["demo"], 100, 30));
    assert!(
        rfind(&out, b"\x1b[?1000h").is_none(),
        "mouse captured without --mouse"
    );
    let out = run_and_quit(spawn(&["--mouse", "demo"], 100, 30));
    let on = rfind(&out, b"\x1b[?1000h").expect("--mouse enables capture");
    let off = rfind(&out, b"\x1b[?1000l").expect("mouse capture released");
    assert!(off > on);
}

#[test]
fn record_in_the_dashboard_then_replay_it() {
    // As a user would: record a demo with a weight change, quit, replay it in a terminal,
    // pause, seek, change speed, quit.
    let home = tempfile::tempdir().unwrap();
    let rec = home.path().join("incident.jsonl.zst");
    let rec_s = rec.to_str().unwrap().to_string();
    let mut r = spawn_in(
        &["--record", &rec_s, "demo", "--seed", "7", "--speed", "30"],
        120,
        40,
        home,
    );
    r.wait_for("70%", Duration::from_secs(15));
    for k in ["w", "-", "-", "\r"] {
        r.writer.write_all(k.as_bytes()).unwrap();
        r.writer.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }
    r.wait_for("Review change", Duration::from_secs(5));
    r.writer.write_all(b"y").unwrap();
    r.writer.flush().unwrap();
    r.wait_for("applied", Duration::from_secs(5));
    std::thread::sleep(Duration::from_secs(3));
    r.writer.write_all(b"q").unwrap();
    r.writer.flush().unwrap();
    assert!(r.wait_exit(Duration::from_secs(10)).success());
    let home = r._home;

    let mut p = spawn_in(&["replay", &rec_s], 120, 40, home);
    p.wait_for("REPLAY", Duration::from_secs(15));
    // The index is in: the end, and a marker where the weights changed.
    p.wait_for("recorded demo", Duration::from_secs(15));
    p.wait_for("◆", Duration::from_secs(5));
    // Paused with space, to the end with G (■), double speed, back a minute (still paused:
    // the state is rebuilt), then play.
    let keys: [(&[u8], &str); 5] = [
        (b" ", "‖ 1×"),
        (b"G", "■ 1×"),
        (b"+", "■ 2×"),
        (b"\x1b[D", "‖ 2×"),
        (b" ", "▶ 2×"),
    ];
    for (k, expect) in keys {
        p.writer.write_all(k).unwrap();
        p.writer.flush().unwrap();
        p.wait_for(expect, Duration::from_secs(10));
    }
    // After G and ←, the weights shown are the changed ones.
    p.wait_for("60%", Duration::from_secs(5));
    p.writer.write_all(b"q").unwrap();
    p.writer.flush().unwrap();
    assert!(p.wait_exit(Duration::from_secs(10)).success());
    assert_restored(&p.bytes());
}

/// A team-mode collector (`hybridtop ARGS…`, quiet) with its own home.
fn collector(home: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_hybridtop"));
    c.args(args)
        .env("HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    c.spawn().expect("collector")
}

/// In the weights editor: two steps off the first path, review, apply; waits for "applied".
fn apply_two_steps_off_the_first_path(r: &mut Running) {
    for k in ["w", "-", "-"] {
        r.writer.write_all(k.as_bytes()).unwrap();
        r.writer.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150));
    }
    r.wait_for("Router weights", Duration::from_secs(5));
    r.writer.write_all(b"\r").unwrap();
    r.writer.flush().unwrap();
    r.wait_for("Review change", Duration::from_secs(5));
    r.writer.write_all(b"y").unwrap();
    r.writer.flush().unwrap();
    r.wait_for("applied", Duration::from_secs(10));
}

/// Team mode: the TUI attached to a collector's stream draws the collector's data, says so in
/// the header, shows the collector as a source, and leaves the terminal as it found it.
#[test]
fn the_dashboard_attaches_to_a_collector() {
    let redis = crate::support::redis::RedisServer::start();
    let url = redis.url("pty");
    let home = tempfile::tempdir().expect("tempdir");
    let mut collector = collector(home.path(), &["collect", "--demo", "--publish", &url], &[]);
    // The first entries (the header and the warm-up window) land within a second or two.
    std::thread::sleep(Duration::from_secs(3));
    let mut r = spawn(&["--attach", &url], 120, 40);
    let screen = r.wait_for("VIA COLLECTOR", Duration::from_secs(15));
    assert!(screen.contains("LIVE"), "{screen}");
    r.wait_for("collector", Duration::from_secs(15));
    r.wait_for("EKS Qwen3-4B", Duration::from_secs(15));
    r.writer.write_all(b"q").unwrap();
    r.writer.flush().unwrap();
    assert!(r.wait_exit(Duration::from_secs(10)).success());
    assert_restored(&r.bytes());
    let _ = collector.kill();
    let _ = collector.wait();
}

/// A viewer with router credentials of its own changes weights through the router (the audit
/// log names the viewer, in mode `attach`); one whose credentials cannot reach the router is
/// read-only and says so.
#[test]
fn an_attached_viewer_changes_weights_with_its_own_credentials() {
    use crate::support::kube_api::{KubeApiServer, ResourceType};
    let redis = crate::support::redis::RedisServer::start();
    let url = redis.url("viewer-weights");
    let server = KubeApiServer::start();
    server.create(
        &ResourceType::configmaps(),
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "hybrid-router", "namespace": "agents"},
            "data": {"weights.json": r#"{"eks-qwen3": 70, "agentcore-haiku": 20, "agentcore-sonnet": 10}"#}}),
    );
    let kc = server.kubeconfig();
    let home = tempfile::tempdir().expect("tempdir");
    // The collector reads the router (a watch, with its own read-only credentials) and publishes
    // its weights; its header carries the `[router]` section the viewer then writes through.
    let collector_cfg = home.path().join("collector.toml");
    std::fs::write(
        &collector_cfg,
        "[general]\nenvironment = \"team-test\"\n\
         [[paths]]\nid = \"eks-qwen3\"\nkind = \"eks\"\nlabel = \"EKS Qwen3-4B\"\n\
         [[paths]]\nid = \"agentcore-haiku\"\nkind = \"agentcore\"\n\
         [[paths]]\nid = \"agentcore-sonnet\"\nkind = \"agentcore\"\n\
         [router]\nbackend = \"configmap\"\nnamespace = \"agents\"\nname = \"hybrid-router\"\n\
         [router.configmap]\nkey = \"weights.json\"\n",
    )
    .unwrap();
    let (cfg_arg, kc_arg) = (
        collector_cfg.to_str().unwrap().to_string(),
        kc.path.to_str().unwrap().to_string(),
    );
    let mut collector = collector(
        home.path(),
        &["-c", &cfg_arg, "collect", "--publish", &url],
        &[("KUBECONFIG", &kc_arg)],
    );
    std::thread::sleep(Duration::from_secs(3));
    let audit = home.path().join("audit.jsonl");
    let audit_arg = audit.to_str().unwrap().to_string();
    let kc_path = kc.path.to_str().unwrap().to_string();
    let viewer_home = tempfile::tempdir().expect("tempdir");
    // The viewer has no config of its own: the collector's `[router]`, the viewer's credentials.
    let mut r = spawn_env(
        &["--audit-log", &audit_arg, "--attach", &url],
        120,
        40,
        viewer_home,
        &[("LANG", "C.UTF-8"), ("KUBECONFIG", &kc_path)],
    );
    r.wait_for("VIA COLLECTOR", Duration::from_secs(15));
    r.wait_for("70%", Duration::from_secs(15));
    apply_two_steps_off_the_first_path(&mut r);
    let text = std::fs::read_to_string(&audit).expect("audit log written");
    let entries: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let me = String::from_utf8(
        std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let last = entries.last().expect("an audit entry");
    assert_eq!(last["result"], "applied", "{text}");
    assert_eq!(last["mode"], "attach", "{text}");
    assert_eq!(last["user"], me.trim(), "{text}");
    let cm = server
        .get(&ResourceType::configmaps(), "agents", "hybrid-router")
        .unwrap();
    let stored: serde_json::Value =
        serde_json::from_str(cm["data"]["weights.json"].as_str().unwrap()).unwrap();
    assert_eq!(stored["eks-qwen3"], 60, "{stored}");
    r.writer.write_all(b"q").unwrap();
    r.writer.flush().unwrap();
    assert!(r.wait_exit(Duration::from_secs(10)).success());

    // Credentials that reach no router: read-only, and the viewer says why.
    let mut r = spawn_env(
        &["--audit-log", &audit_arg, "--attach", &url],
        120,
        40,
        tempfile::tempdir().expect("tempdir"),
        &[
            ("LANG", "C.UTF-8"),
            ("KUBECONFIG", "/nonexistent/kubeconfig"),
        ],
    );
    r.wait_for("VIA COLLECTOR", Duration::from_secs(15));
    r.wait_for("read-only", Duration::from_secs(10));
    r.writer.write_all(b"q").unwrap();
    r.writer.flush().unwrap();
    assert!(r.wait_exit(Duration::from_secs(10)).success());
    let _ = collector.kill();
    let _ = collector.wait();
}

/// `hybridtop replay redis://…` reviews a collector's stream in the same player as a recording
/// (its last hour).
#[test]
fn a_stream_replays_in_the_recording_player() {
    let redis = crate::support::redis::RedisServer::start();
    let url = redis.url("replayed");
    let home = tempfile::tempdir().expect("tempdir");
    let mut collector = collector(
        home.path(),
        &["collect", "--demo", "--seed", "4", "--publish", &url],
        &[],
    );
    std::thread::sleep(Duration::from_secs(4));
    let _ = collector.kill();
    let _ = collector.wait();
    let mut r = spawn(&["replay", &url], 120, 40);
    let screen = r.wait_for("REPLAY", Duration::from_secs(15));
    assert!(screen.contains("READ-ONLY"), "{screen}");
    // The recorded data plays: the weights the demo collector published appear.
    r.wait_for("70%", Duration::from_secs(10));
    r.writer.write_all(b"q").unwrap();
    r.writer.flush().unwrap();
    assert!(r.wait_exit(Duration::from_secs(10)).success());
    assert_restored(&r.bytes());
}
