//! A real Prometheus server for tests: the `prometheus` binary (Debian's package; `tests/run.sh`
//! installs it) from `HYBRIDTOP_PROMETHEUS` or `PATH`, scraping the given targets every second
//! with `honor_labels: true`, its TSDB in a temporary directory, on a free loopback port. Ready
//! once `/-/ready` answers 200; killed on drop. Without the binary the tests fail, never skip.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Prometheus {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

/// The binary: `HYBRIDTOP_PROMETHEUS`, else `prometheus` on `PATH`.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("HYBRIDTOP_PROMETHEUS").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
        let c = dir.join("prometheus");
        if c.is_file() {
            return c;
        }
    }
    panic!(
        "the prometheus binary is needed (HYBRIDTOP_PROMETHEUS or PATH): \
         apt-get install -y prometheus, as tests/run.sh does"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A plain HTTP/1.0 GET on loopback: (status, body).
pub fn http_get(port: u16, path_and_query: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path_and_query} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
    )
    .ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf.split_once("\r\n\r\n").map(|x| x.1.to_string())?;
    Some((status, body))
}

impl Prometheus {
    /// Start scraping `targets` (`host:port`), with extra flags (e.g. `--query.max-samples=1`).
    pub fn start(targets: &[String], extra: &[&str]) -> Prometheus {
        let bin = binary();
        let dir = tempfile::tempdir().expect("tempdir");
        let list = targets
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ");
        let cfg = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: vllm\n    honor_labels: true\n    static_configs:\n      - targets: [{list}]\n"
        );
        let cfg_path = dir.path().join("prometheus.yml");
        std::fs::write(&cfg_path, cfg).expect("write prometheus.yml");
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log");
        let child = Command::new(&bin)
            .arg(format!("--config.file={}", cfg_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let p = Prometheus {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some((200, _)) = http_get(port, "/-/ready") {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready on {port}: {}",
                p.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// An instant query's raw JSON.
    pub fn query(&self, promql: &str) -> serde_json::Value {
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("query", promql)
            .finish();
        let (_, body) = http_get(self.port, &format!("/api/v1/query?{q}")).expect("query");
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
    }

    /// Poll until `promql` returns at least `series` series (at most `within`).
    pub fn wait_for_series(&self, promql: &str, series: usize, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            let v = self.query(promql);
            let n = v["data"]["result"].as_array().map_or(0, |a| a.len());
            let finite = v["data"]["result"].as_array().is_some_and(|a| {
                a.iter().all(|s| {
                    s["value"][1]
                        .as_str()
                        .is_some_and(|x| x.parse::<f64>().is_ok_and(f64::is_finite))
                })
            });
            if n >= series && finite {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no {series} series for {promql} within {within:?}: {v}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
