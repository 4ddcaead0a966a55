//! Team mode's transport: the recording format over a Redis stream. A collector appends each
//! update it applies as one entry (field `line`: a recording line, redacted first when asked),
//! trimmed by length on every append and by age every few seconds. The header (the config the
//! data was shaped by) is an entry too (field `header`), re-published every
//! `HEADER_EVERY`, so a viewer needs nothing but XRANGE/XREAD on the one key: it reads the
//! window back (XRANGE) and then follows (XREAD BLOCK). Entries are decoded like recording
//! lines: a malformed or hostile one is skipped and counted, never a crash.
//!
//! Standby: collectors on one stream contend for a lease (`{KEY}:lease`, SET NX PX
//! `LEASE_TTL`, renewed every `LEASE_TICK` by compare-and-expire). Winning it takes a fencing
//! token (INCR `{KEY}:fence`) that every entry of that leader carries (field `fence`); a viewer
//! ignores entries whose token is below the highest it has seen, so a deposed leader that wakes
//! up and writes a few more lines is never shown. With the header, the leader re-publishes its
//! keyframe (`keyframe.rs`): a viewer or an export that starts at any header builds the whole
//! state.
//!
//! URL: `redis://[user[:password]@]host:port[/db][?stream=KEY]` (`rediss://`: TLS, with the
//! system's roots or a CA file); the key defaults to `hybridtop`, and the password may come
//! from `HYBRIDTOP_REDIS_PASSWORD` instead. The password never appears in a message
//! (`StreamUrl::shown`).
//!
//! Here: the URL, the connection and the entry format; `publish.rs` the collector's lease and
//! appends; `follow.rs` the viewer's reading back, following and exporting.
mod follow;
mod publish;

pub use follow::{ExportStats, Follower};
pub use publish::{LeaseChange, Publisher, LEASE_TICK, LEASE_TTL};

use redis::aio::MultiplexedConnection;
use redis::Value;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_KEY: &str = "hybridtop";
/// Entries read per request (backfill pages and follow batches).
const PAGE: usize = 1_000;
/// How often the collector re-publishes its header (within any window a viewer reads back).
pub const HEADER_EVERY: Duration = Duration::from_secs(30);
/// Longest wait for one answer from Redis (a blocking read's BLOCK is well inside it).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed stream URL.
#[derive(Clone)]
pub struct StreamUrl {
    /// What the Redis client connects to (the password included, never shown).
    client: String,
    pub key: String,
    /// The URL with any password masked, for messages.
    pub shown: String,
    /// PEM roots to trust instead of the system's (`rediss://` only).
    ca_file: Option<PathBuf>,
}

impl StreamUrl {
    /// Trust the CA certificates in `path` (PEM) instead of the system's roots.
    pub fn with_ca(mut self, path: Option<PathBuf>) -> Result<StreamUrl, String> {
        if path.is_some() && !self.client.starts_with("rediss://") {
            return Err(format!(
                "--redis-ca is for TLS: {} is not a rediss:// URL",
                self.shown
            ));
        }
        self.ca_file = path;
        Ok(self)
    }

    /// The lease and fence keys share the stream key's hash slot (`{KEY}:…`).
    fn lease_key(&self) -> String {
        format!("{{{}}}:lease", self.key)
    }

    fn fence_key(&self) -> String {
        format!("{{{}}}:fence", self.key)
    }
}

impl std::fmt::Debug for StreamUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StreamUrl({} key {})", self.shown, self.key)
    }
}

/// Parse `redis://…[?stream=KEY]`; `env_password` fills in a password the URL lacks.
pub fn parse_url(url: &str, env_password: Option<&str>) -> Result<StreamUrl, String> {
    let url = url.trim();
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("'{}' is not a redis:// or rediss:// URL", mask(url)))?;
    if scheme != "redis" && scheme != "rediss" {
        return Err(format!(
            "'{}': the scheme must be redis:// or rediss://",
            mask(url)
        ));
    }
    let (base, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let mut key = DEFAULT_KEY.to_string();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("stream", v)) if !v.is_empty() => key = v.to_string(),
            _ => {
                return Err(format!(
                    "'{}': unknown parameter '{}' (only stream=KEY)",
                    mask(url),
                    pair.split('=').next().unwrap_or(pair)
                ))
            }
        }
    }
    if base.is_empty() || base.starts_with('/') {
        return Err(format!("'{}' names no host", mask(url)));
    }
    let mut client = format!("{scheme}://{base}");
    // `user:password@`; a bare `user@` takes its password from the environment.
    let has_password = base
        .split_once('@')
        .is_some_and(|(auth, _)| auth.contains(':'));
    if let (false, Some(p)) = (has_password, env_password.filter(|p| !p.is_empty())) {
        let (user, host) = match base.split_once('@') {
            Some((u, h)) => (u, h),
            None => ("", base),
        };
        client = format!("{scheme}://{user}:{p}@{host}");
    }
    Ok(StreamUrl {
        client,
        key,
        shown: mask(&format!("{scheme}://{base}")),
        ca_file: None,
    })
}

/// The URL with the password (if any) replaced by `***`.
fn mask(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((auth, host)) => match auth.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => format!("{scheme}://{auth}@{host}"),
        },
        None => url.to_string(),
    }
}

/// Why a connection to Redis failed; `refused_credentials` when the server turned the user or
/// password down (the user's input is wrong: exit 2), not when it could not be reached.
#[derive(Debug, Clone)]
pub struct ConnectError {
    pub message: String,
    pub refused_credentials: bool,
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<ConnectError> for String {
    fn from(e: ConnectError) -> String {
        e.message
    }
}

impl From<String> for ConnectError {
    fn from(message: String) -> ConnectError {
        ConnectError {
            message,
            refused_credentials: false,
        }
    }
}

async fn connect(url: &StreamUrl) -> Result<MultiplexedConnection, ConnectError> {
    // rustls needs the process's one crypto provider (ring) before any TLS handshake.
    crate::kube_client::install_crypto_provider();
    let client = match &url.ca_file {
        None => redis::Client::open(url.client.as_str()),
        Some(path) => {
            let pem =
                std::fs::read(path).map_err(|e| format!("--redis-ca {}: {e}", path.display()))?;
            redis::Client::build_with_tls(
                url.client.as_str(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem),
                },
            )
        }
    }
    .map_err(|e| format!("{}: {}", url.shown, clean_err(&e)))?;
    // A blocking XREAD waits up to its BLOCK, and a page of a slow link takes its time: the
    // client's 500 ms default would call both a failure.
    let cfg = redis::AsyncConnectionConfig::new().set_response_timeout(Some(RESPONSE_TIMEOUT));
    client
        .get_multiplexed_async_connection_with_config(&cfg)
        .await
        .map_err(|e| {
            let refused = e.kind() == redis::ErrorKind::AuthenticationFailed
                || e.code().is_some_and(|c| c == "WRONGPASS" || c == "NOAUTH");
            ConnectError {
                message: if refused {
                    format!(
                        "Redis at {} refused the user or password: {} (check the URL's user, and the password in the URL or HYBRIDTOP_REDIS_PASSWORD)",
                        url.shown,
                        clean_err(&e)
                    )
                } else {
                    format!("cannot reach Redis at {}: {}", url.shown, clean_err(&e))
                },
                refused_credentials: refused,
            }
        })
}

/// A Redis error in words, without the URL (it could carry the password).
fn clean_err(e: &redis::RedisError) -> String {
    crate::model::sanitize::clean_owned(&e.to_string())
}

/// The milliseconds part of a stream id (`1764061200000-3`).
fn id_ms(id: &str) -> Option<i64> {
    id.split('-').next()?.parse().ok()
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// What one stream entry holds.
#[derive(Debug, PartialEq)]
enum Entry {
    Line(Vec<u8>),
    Header(Vec<u8>),
    Other,
}

#[derive(Debug)]
struct RawEntry {
    id: String,
    entry: Entry,
    fence: Option<u64>,
}

/// `[[id, [field, value, …]], …]` → the entries' id, `line` or `header`, and `fence`.
fn entries(v: &Value) -> Vec<RawEntry> {
    let Value::Array(items) = v else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|e| {
            let Value::Array(pair) = e else {
                return None;
            };
            let id = text(pair.first()?)?;
            let mut entry = Entry::Other;
            let mut fence = None;
            if let Some(Value::Array(fields)) = pair.get(1) {
                for kv in fields.chunks(2) {
                    let [k, Value::BulkString(v)] = kv else {
                        continue;
                    };
                    match text(k).as_deref() {
                        Some("line") if entry == Entry::Other => entry = Entry::Line(v.clone()),
                        Some("header") if entry == Entry::Other => entry = Entry::Header(v.clone()),
                        Some("fence") => {
                            fence = std::str::from_utf8(v).ok().and_then(|t| t.parse().ok())
                        }
                        _ => {}
                    }
                }
            }
            Some(RawEntry { id, entry, fence })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_keys_and_passwords() {
        let u = parse_url("redis://127.0.0.1:6379", None).unwrap();
        assert_eq!(
            (u.key.as_str(), u.shown.as_str()),
            ("hybridtop", "redis://127.0.0.1:6379")
        );
        let u = parse_url(
            "redis://viewer:s3cret@10.0.0.5:6380/2?stream=incidents",
            None,
        )
        .unwrap();
        assert_eq!(u.key, "incidents");
        assert_eq!(u.shown, "redis://viewer:***@10.0.0.5:6380/2");
        assert!(!format!("{u:?}").contains("s3cret"));
        let u = parse_url("rediss://viewer@cache:6379", Some("fromenv")).unwrap();
        assert_eq!(u.client, "rediss://viewer:fromenv@cache:6379");
        assert!(!u.shown.contains("fromenv"));
        for bad in ["http://x", "redis://", "redis://h?x=1", "nonsense"] {
            let e = parse_url(bad, None).unwrap_err();
            assert!(!e.is_empty(), "{bad}");
        }
        let e = parse_url("redis://u:pw@h?bad=1", None).unwrap_err();
        assert!(!e.contains("pw@"), "{e}");
    }

    #[test]
    fn entries_decode_the_line_field_and_skip_the_rest() {
        let v = Value::Array(vec![
            Value::Array(vec![
                Value::BulkString(b"1-0".to_vec()),
                Value::Array(vec![
                    Value::BulkString(b"line".to_vec()),
                    Value::BulkString(
                        br#"{"t":5,"u":{"kind":"clock","now":"2026-11-25T09:00:00Z"}}"#.to_vec(),
                    ),
                ]),
            ]),
            Value::Array(vec![
                Value::BulkString(b"2-0".to_vec()),
                Value::Array(vec![
                    Value::BulkString(b"other".to_vec()),
                    Value::BulkString(b"x".to_vec()),
                ]),
            ]),
        ]);
        let e = entries(&v);
        assert_eq!(e.len(), 2);
        assert!(matches!(e[0].entry, Entry::Line(_)) && e[1].entry == Entry::Other);
        assert_eq!((e[0].fence, id_ms(&e[1].id)), (None, Some(2)));
    }
}
