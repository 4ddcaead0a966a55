//! moto (`moto_server`, from PyPI) as the Cost Explorer endpoint: started on a free loopback
//! port per test, seeded through `POST /moto-api/static/ce/cost-and-usage-results`, with its
//! request recorder on so tests can count the requests the dashboard really sent.
//!
//! `tests/run.sh` finds a working `moto_server` on PATH or installs one into a venv under
//! `target/`, and exports its path as `HYBRIDTOP_MOTO_SERVER`. When neither is available the
//! tests fail with instructions — they never skip silently.
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    pub addr: SocketAddr,
    child: Child,
    /// moto's working directory; its recorder file lives here, one per instance.
    _dir: tempfile::TempDir,
}

const HOW_TO_GET: &str = "moto_server is needed for the Cost Explorer tests: run the suite with \
`bash tests/run.sh` (it installs moto into target/moto-venv when moto_server is not on PATH), or \
`pip install 'moto[server]'`, or set HYBRIDTOP_MOTO_SERVER to a moto_server executable";

/// The moto_server to run: `HYBRIDTOP_MOTO_SERVER`, else `target/moto-venv/bin/moto_server`,
/// else `moto_server` on PATH.
pub fn moto_server_path() -> PathBuf {
    if let Some(p) = std::env::var_os("HYBRIDTOP_MOTO_SERVER").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/moto-venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("moto_server")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Moto {
    /// Start moto_server on a free port and wait until it answers. Panics with instructions
    /// when moto is not installed.
    pub fn start() -> Moto {
        let exe = moto_server_path();
        let mut last_err = String::new();
        for _ in 0..3 {
            let port = free_port();
            let dir = tempfile::tempdir().expect("temp dir");
            let child = Command::new(&exe)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .current_dir(dir.path())
                .env("MOTO_ENABLE_RECORDING", "True")
                .env("MOTO_RECORDER_FILEPATH", dir.path().join("moto_recording"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            let mut child = match child {
                Ok(c) => c,
                Err(e) => panic!("cannot run {} ({e}). {HOW_TO_GET}", exe.display()),
            };
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    last_err = format!("{} exited with {status}", exe.display());
                    break;
                }
                if let Ok((200, _)) = http(addr, "GET", "/moto-api/data.json", None) {
                    let m = Moto {
                        addr,
                        child,
                        _dir: dir,
                    };
                    m.post("/moto-api/recorder/start-recording", "");
                    return m;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
            if last_err.is_empty() {
                last_err = format!("{} did not answer on {addr} within 30 s", exe.display());
            }
        }
        panic!("{last_err}. {HOW_TO_GET}");
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn post(&self, path: &str, body: &str) -> (u16, String) {
        http(self.addr, "POST", path, Some(body)).expect("moto answers")
    }

    /// Queue GetCostAndUsage answers: each new distinct request body takes the next one.
    pub fn seed_cost_and_usage(&self, results: Vec<Value>) {
        let body = serde_json::json!({ "results": results }).to_string();
        let (status, text) = self.post("/moto-api/static/ce/cost-and-usage-results", &body);
        assert_eq!(status, 201, "seeding moto: {text}");
    }

    /// GetCostAndUsage requests moto has received (from its recorder).
    pub fn cost_and_usage_requests(&self) -> Vec<Value> {
        let (status, text) = http(
            self.addr,
            "GET",
            "/moto-api/recorder/download-recording",
            None,
        )
        .expect("moto answers");
        assert_eq!(status, 200, "{text}");
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| {
                v["headers"]["X-Amz-Target"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("GetCostAndUsage"))
            })
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 exchange (the tests need no HTTP client crate for three calls).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}
