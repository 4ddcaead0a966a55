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
use super::format::{decode_record, Header, Record};
use super::writer::Redactor;
use crate::model::update::Update;
use redis::aio::MultiplexedConnection;
use redis::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const DEFAULT_KEY: &str = "hybridtop";
/// Entries read per request (backfill pages and follow batches).
const PAGE: usize = 1_000;
/// How often the collector trims the stream by age.
const TRIM_EVERY: Duration = Duration::from_secs(10);
/// How often the collector re-publishes its header (within any window a viewer reads back).
pub const HEADER_EVERY: Duration = Duration::from_secs(30);
/// Longest wait for one answer from Redis (a blocking read's BLOCK is well inside it).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// A leader that has not renewed its lease for this long is gone.
pub const LEASE_TTL: Duration = Duration::from_secs(5);
/// How often the leader renews and a standby tries: a standby takes over at most
/// `LEASE_TTL + LEASE_TICK` after the leader's last renewal.
pub const LEASE_TICK: Duration = Duration::from_secs(1);
/// How far back a viewer or an export looks for the header (and keyframe) to start from: two
/// header periods, so one is there whenever the collector was publishing.
const HEADER_LOOKBACK: Duration = Duration::from_secs(2 * 30);
/// At most this many pages are read looking for it.
const HEADER_LOOKBACK_PAGES: usize = 50;

/// Take the lease if nobody holds it; the new fencing token, or 0.
const ACQUIRE: &str = "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then \
    return redis.call('INCR', KEYS[2]) else return 0 end";
/// Extend the lease only while this collector still holds it; 1, or 0 when deposed.
const RENEW: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
/// Give the lease up on a clean exit, so a standby need not wait for it to lapse.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    return redis.call('DEL', KEYS[1]) else return 0 end";

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

/// What a lease round changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseChange {
    /// Nothing: still leading, or still standing by (`holder` holds the lease).
    Unchanged,
    /// This collector now leads with this fencing token.
    Elected(u64),
    /// Another collector took the lease while this one was not renewing it.
    Deposed,
}

/// The collector's end: holds (or waits for) the lease and appends updates to the stream.
pub struct Publisher {
    con: MultiplexedConnection,
    url: StreamUrl,
    maxlen: u64,
    retention: Duration,
    redactor: Option<Redactor>,
    last_trim: Option<Instant>,
    header: Option<String>,
    last_header: Option<Instant>,
    /// This collector's lease value: host, process and a random part.
    me: String,
    /// The fencing token while leading.
    fence: Option<u64>,
    pub published: u64,
}

impl Publisher {
    pub async fn connect(
        url: &StreamUrl,
        maxlen: u64,
        retention: Duration,
        redact: bool,
    ) -> Result<Publisher, ConnectError> {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        Ok(Publisher {
            con: connect(url).await?,
            url: url.clone(),
            maxlen,
            retention,
            redactor: redact.then(Redactor::new),
            last_trim: None,
            header: None,
            last_header: None,
            me: format!(
                "{}:{}:{:08x}",
                crate::model::sanitize::clean_owned(&host),
                std::process::id(),
                // Only tells two collectors on one host apart; not a secret.
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0)
            ),
            fence: None,
            published: 0,
        })
    }

    /// The fencing token while this collector leads.
    pub fn leading(&self) -> Option<u64> {
        self.fence
    }

    /// This collector's name in the lease.
    pub fn me(&self) -> &str {
        &self.me
    }

    /// Renew the lease while leading, or try to take it while standing by.
    pub async fn contend(&mut self) -> Result<LeaseChange, String> {
        let ttl = u64::try_from(LEASE_TTL.as_millis()).unwrap_or(5_000);
        match self.fence {
            Some(_) => {
                let kept: i64 = redis::Script::new(RENEW)
                    .key(self.url.lease_key())
                    .arg(&self.me)
                    .arg(ttl)
                    .invoke_async(&mut self.con)
                    .await
                    .map_err(|e| self.err("renewing the lease", &e))?;
                if kept == 1 {
                    Ok(LeaseChange::Unchanged)
                } else {
                    self.fence = None;
                    Ok(LeaseChange::Deposed)
                }
            }
            None => {
                let token: u64 = redis::Script::new(ACQUIRE)
                    .key(self.url.lease_key())
                    .key(self.url.fence_key())
                    .arg(&self.me)
                    .arg(ttl)
                    .invoke_async(&mut self.con)
                    .await
                    .map_err(|e| self.err("taking the lease", &e))?;
                if token == 0 {
                    return Ok(LeaseChange::Unchanged);
                }
                self.fence = Some(token);
                Ok(LeaseChange::Elected(token))
            }
        }
    }

    /// Who holds the lease (for a standby's message).
    pub async fn holder(&mut self) -> Option<String> {
        redis::cmd("GET")
            .arg(self.url.lease_key())
            .query_async::<Option<String>>(&mut self.con)
            .await
            .ok()
            .flatten()
            .map(|h| crate::model::sanitize::clean_owned(&h))
    }

    /// Give the lease up (clean exit): a standby takes over at its next try.
    pub async fn release(&mut self) {
        if self.fence.take().is_some() {
            let _: Result<i64, _> = redis::Script::new(RELEASE)
                .key(self.url.lease_key())
                .arg(&self.me)
                .invoke_async(&mut self.con)
                .await;
        }
    }

    /// Set the header viewers build their state from (redacted like a recording's); it is
    /// published with each keyframe.
    pub fn set_header(&mut self, header: &Header) -> Result<(), String> {
        let header = match &self.redactor {
            Some(r) => super::writer::redact_header(r, header).map_err(|e| e.to_string())?,
            None => header.clone(),
        };
        self.header = Some(serde_json::to_string(&header).map_err(|e| e.to_string())?);
        Ok(())
    }

    /// Whether the header and keyframe are due again (every `HEADER_EVERY`).
    pub fn keyframe_due(&self) -> bool {
        self.last_header.is_none_or(|l| l.elapsed() >= HEADER_EVERY)
    }

    /// The header, then the updates that rebuild the held state, in one round trip.
    pub async fn publish_keyframe(&mut self, t: i64, updates: &[Update]) -> Result<(), String> {
        let (Some(fence), Some(header)) = (self.fence, self.header.clone()) else {
            return Ok(());
        };
        self.last_header = Some(Instant::now());
        let mut pipe = redis::pipe();
        self.add_to(&mut pipe, "header", header.into_bytes(), fence);
        for u in updates {
            let line = super::writer::encode_line(t, u, self.redactor.as_ref())
                .map_err(|e| e.to_string())?;
            self.add_to(&mut pipe, "line", line, fence);
        }
        pipe.query_async::<Value>(&mut self.con)
            .await
            .map(|_| ())
            .map_err(|e| self.err("XADD", &e))
    }

    fn add_to(&self, pipe: &mut redis::Pipeline, field: &str, value: Vec<u8>, fence: u64) {
        pipe.cmd("XADD")
            .arg(&self.url.key)
            .arg("MAXLEN")
            .arg("~")
            .arg(self.maxlen)
            .arg("*")
            .arg(field)
            .arg(value)
            .arg("fence")
            .arg(fence)
            .ignore();
    }

    fn err(&self, what: &str, e: &redis::RedisError) -> String {
        format!("Redis {}: {what}: {}", self.url.shown, clean_err(e))
    }

    /// Append one update, applied at model time `t` (ms); nothing while standing by.
    pub async fn publish(&mut self, t: i64, u: &Update) -> Result<(), String> {
        let Some(fence) = self.fence else {
            return Ok(());
        };
        let line =
            super::writer::encode_line(t, u, self.redactor.as_ref()).map_err(|e| e.to_string())?;
        let mut pipe = redis::pipe();
        self.add_to(&mut pipe, "line", line, fence);
        pipe.query_async::<Value>(&mut self.con)
            .await
            .map_err(|e| self.err("XADD", &e))?;
        self.published += 1;
        if self.last_trim.is_none_or(|l| l.elapsed() >= TRIM_EVERY) {
            self.last_trim = Some(Instant::now());
            let now_ms = chrono::Utc::now().timestamp_millis();
            let keep = i64::try_from(self.retention.as_millis()).unwrap_or(i64::MAX);
            let min_id = format!("{}-0", now_ms.saturating_sub(keep).max(0));
            redis::cmd("XTRIM")
                .arg(&self.url.key)
                .arg("MINID")
                .arg("~")
                .arg(min_id)
                .query_async::<Value>(&mut self.con)
                .await
                .map_err(|e| self.err("XTRIM", &e))?;
        }
        Ok(())
    }
}

/// One valid stream entry.
enum Item {
    Record(Box<Record>),
    Header(Box<Header>),
}

/// The viewer's end: reads the stream back, then follows it.
pub struct Follower {
    con: MultiplexedConnection,
    url: StreamUrl,
    /// The last entry id read (`$`-like start once the backfill is done).
    last_id: String,
    /// Entries that were not valid recording lines.
    pub skipped: u64,
    /// Entries from a deposed leader (a fencing token below one already seen), ignored.
    pub deposed: u64,
    /// The highest fencing token seen: the current leader's.
    pub fence: u64,
    /// The newest collector header read.
    pub header: Option<Header>,
}

impl Follower {
    pub async fn connect(url: &StreamUrl) -> Result<Follower, ConnectError> {
        Ok(Follower {
            con: connect(url).await?,
            url: url.clone(),
            last_id: "0-0".into(),
            skipped: 0,
            deposed: 0,
            fence: 0,
            header: None,
        })
    }

    /// One page of entries from `start` (an id, `(id` exclusive) to `end`, oldest first.
    async fn page(&mut self, start: &str, end: &str) -> Result<(usize, Vec<Item>), String> {
        let v: Value = redis::cmd("XRANGE")
            .arg(&self.url.key)
            .arg(start)
            .arg(end)
            .arg("COUNT")
            .arg(PAGE)
            .query_async(&mut self.con)
            .await
            .map_err(|e| format!("Redis {}: XRANGE: {}", self.url.shown, clean_err(&e)))?;
        let raw = entries(&v);
        let n = raw.len();
        let items = raw.into_iter().filter_map(|r| self.take(r)).collect();
        Ok((n, items))
    }

    /// Every entry from the newest header at or before `from_ms` (wall time of the collector's
    /// Redis) on, in pages: the header's keyframe first, then the window.
    pub async fn backfill(&mut self, from_ms: i64) -> Result<Vec<Record>, String> {
        let mut out = Vec::new();
        let mut start = match self.header_before(from_ms).await? {
            Some(id) => id,
            None => format!("{}-0", from_ms.max(0)),
        };
        loop {
            let (n, items) = self.page(&start, "+").await?;
            out.extend(items.into_iter().filter_map(|i| match i {
                Item::Record(r) => Some(*r),
                Item::Header(_) => None,
            }));
            if n < PAGE {
                return Ok(out);
            }
            // Exclusive start after the last id read.
            start = format!("({}", self.last_id);
        }
    }

    /// The id of the newest header entry in the `HEADER_LOOKBACK` before `ms` (headers come
    /// every `HEADER_EVERY`). XRANGE only: a viewer's ACL user may read nothing else.
    async fn header_before(&mut self, ms: i64) -> Result<Option<String>, String> {
        let lookback = i64::try_from(HEADER_LOOKBACK.as_millis()).unwrap_or(i64::MAX);
        let mut start = format!("{}-0", ms.saturating_sub(lookback).max(0));
        let end = format!("{}", ms.max(0));
        let mut found = None;
        for _ in 0..HEADER_LOOKBACK_PAGES {
            let v: Value = redis::cmd("XRANGE")
                .arg(&self.url.key)
                .arg(&start)
                .arg(&end)
                .arg("COUNT")
                .arg(PAGE)
                .query_async(&mut self.con)
                .await
                .map_err(|e| format!("Redis {}: XRANGE: {}", self.url.shown, clean_err(&e)))?;
            let raw = entries(&v);
            if let Some(h) = raw
                .iter()
                .rev()
                .find(|r| matches!(r.entry, Entry::Header(_)))
            {
                found = Some(h.id.clone());
            }
            match raw.last() {
                Some(r) if raw.len() == PAGE => start = format!("({}", r.id),
                _ => break,
            }
        }
        Ok(found)
    }

    /// The id and time (ms) of the oldest entry still in the stream.
    pub async fn first_ms(&mut self) -> Result<Option<i64>, String> {
        let v: Value = redis::cmd("XRANGE")
            .arg(&self.url.key)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(1)
            .query_async(&mut self.con)
            .await
            .map_err(|e| format!("Redis {}: XRANGE: {}", self.url.shown, clean_err(&e)))?;
        Ok(entries(&v).first().and_then(|r| id_ms(&r.id)))
    }

    /// Write the entries of `[from_ms, to_ms]` as an ordinary recording at `path` (never over
    /// an existing file). It starts at the newest header at or before `from_ms`, so its first
    /// lines are the header and the keyframe that make the state complete.
    pub async fn export(
        &mut self,
        from_ms: i64,
        to_ms: i64,
        path: &Path,
    ) -> Result<ExportStats, String> {
        let mut start = match self.header_before(from_ms).await? {
            Some(id) => id,
            None => format!("{}-0", from_ms.max(0)),
        };
        let end = format!("{}", to_ms.max(0));
        let mut stats = ExportStats::default();
        let mut rec: Option<super::Recorder> = None;
        loop {
            let (n, items) = self.page(&start, &end).await?;
            for item in items {
                match (item, rec.as_mut()) {
                    (Item::Header(h), None) => {
                        rec = Some(super::Recorder::create(path, &h).map_err(|e| {
                            if e.kind() == std::io::ErrorKind::AlreadyExists {
                                format!(
                                    "{}: the file exists; recordings are never overwritten",
                                    path.display()
                                )
                            } else {
                                format!("{}: {e}", path.display())
                            }
                        })?);
                    }
                    (Item::Header(_), Some(_)) => {}
                    (Item::Record(r), Some(w)) => {
                        w.record(chrono::DateTime::from_timestamp_millis(r.t), r.update);
                        stats.records += 1;
                    }
                    (Item::Record(_), None) => stats.before_header += 1,
                }
            }
            if n < PAGE {
                break;
            }
            start = format!("({}", self.last_id);
        }
        stats.skipped = self.skipped;
        stats.deposed = self.deposed;
        match rec {
            Some(w) => {
                let written = w.finish().map_err(|e| format!("{}: {e}", path.display()))?;
                stats.records = written.records;
                Ok(stats)
            }
            None => Err(format!(
                "{}: no collector header in stream '{}' between those times (nothing written)",
                self.url.shown, self.url.key
            )),
        }
    }

    /// New entries after the last one read, waiting up to `block` for some.
    pub async fn follow(&mut self, block: Duration) -> Result<Vec<Record>, String> {
        let v: Value = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(PAGE)
            .arg("BLOCK")
            .arg(u64::try_from(block.as_millis()).unwrap_or(u64::MAX).max(1))
            .arg("STREAMS")
            .arg(&self.url.key)
            .arg(&self.last_id)
            .query_async(&mut self.con)
            .await
            .map_err(|e| format!("Redis {}: XREAD: {}", self.url.shown, clean_err(&e)))?;
        let mut out = Vec::new();
        // [[key, [[id, [field, value, …]], …]]] (RESP2), or nil on timeout.
        if let Value::Array(streams) = &v {
            for s in streams {
                if let Value::Array(kv) = s {
                    if let Some(es) = kv.get(1) {
                        for r in entries(es) {
                            if let Some(Item::Record(rec)) = self.take(r) {
                                out.push(*rec);
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    fn take(&mut self, raw: RawEntry) -> Option<Item> {
        self.last_id = raw.id;
        // An entry below the highest token seen comes from a leader that has been replaced.
        let fence = raw.fence.unwrap_or(0);
        if fence < self.fence {
            self.deposed += 1;
            return None;
        }
        self.fence = fence;
        match raw.entry {
            Entry::Line(l) => match decode_record(&l) {
                Ok(r) => Some(Item::Record(Box::new(r))),
                Err(_) => {
                    self.skipped += 1;
                    None
                }
            },
            Entry::Header(h) => match super::reader::parse_header(Path::new(&self.url.shown), &h) {
                Ok(h) => {
                    self.header = Some(h.clone());
                    Some(Item::Header(Box::new(h)))
                }
                Err(_) => {
                    self.skipped += 1;
                    None
                }
            },
            Entry::Other => {
                self.skipped += 1;
                None
            }
        }
    }
}

/// What an export wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExportStats {
    pub records: u64,
    /// Lines before the first header (its config unknown), left out.
    pub before_header: u64,
    pub skipped: u64,
    pub deposed: u64,
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
