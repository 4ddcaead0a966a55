//! Team mode's transport: the recording format over a Redis stream. A collector appends each
//! update it applies as one entry (field `line`: a recording line, redacted first when asked),
//! trimmed by length on every append and by age every few seconds. The header (the config the
//! data was shaped by) is an entry too (field `header`), re-published every
//! `HEADER_EVERY`, so a viewer needs nothing but XRANGE/XREAD on the one key: it reads the
//! window back (XRANGE) and then follows (XREAD BLOCK). Entries are decoded like recording
//! lines: a malformed or hostile one is skipped and counted, never a crash.
//!
//! URL: `redis://[user[:password]@]host:port[/db][?stream=KEY]`; the key defaults to
//! `hybridtop`, and the password may come from `HYBRIDTOP_REDIS_PASSWORD` instead. The
//! password never appears in a message (`StreamUrl::shown`).
use super::format::{decode_record, Header, Record};
use super::writer::Redactor;
use crate::model::update::Update;
use redis::aio::MultiplexedConnection;
use redis::Value;
use std::time::{Duration, Instant};

pub const DEFAULT_KEY: &str = "hybridtop";
/// Entries read per request (backfill pages and follow batches).
const PAGE: usize = 1_000;
/// How often the collector trims the stream by age.
const TRIM_EVERY: Duration = Duration::from_secs(10);
/// How often the collector re-publishes its header (within any window a viewer reads back).
pub const HEADER_EVERY: Duration = Duration::from_secs(30);

/// A parsed stream URL.
#[derive(Clone)]
pub struct StreamUrl {
    /// What the Redis client connects to (the password included, never shown).
    client: String,
    pub key: String,
    /// The URL with any password masked, for messages.
    pub shown: String,
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

async fn connect(url: &StreamUrl) -> Result<MultiplexedConnection, String> {
    let client = redis::Client::open(url.client.as_str())
        .map_err(|e| format!("{}: {}", url.shown, clean_err(&e)))?;
    client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| format!("cannot reach Redis at {}: {}", url.shown, clean_err(&e)))
}

/// A Redis error in words, without the URL (it could carry the password).
fn clean_err(e: &redis::RedisError) -> String {
    crate::model::sanitize::clean_owned(&e.to_string())
}

/// The collector's end: appends updates to the stream.
pub struct Publisher {
    con: MultiplexedConnection,
    url: StreamUrl,
    maxlen: u64,
    retention: Duration,
    redactor: Option<Redactor>,
    last_trim: Option<Instant>,
    header: Option<String>,
    last_header: Option<Instant>,
    pub published: u64,
}

impl Publisher {
    pub async fn connect(
        url: &StreamUrl,
        maxlen: u64,
        retention: Duration,
        redact: bool,
    ) -> Result<Publisher, String> {
        Ok(Publisher {
            con: connect(url).await?,
            url: url.clone(),
            maxlen,
            retention,
            redactor: redact.then(Redactor::new),
            last_trim: None,
            header: None,
            last_header: None,
            published: 0,
        })
    }

    /// Publish the header viewers build their state from (redacted like a recording's); it is
    /// re-published every `HEADER_EVERY` from `publish`.
    pub async fn set_header(&mut self, header: &Header) -> Result<(), String> {
        let header = match &self.redactor {
            Some(r) => super::writer::redact_header(r, header).map_err(|e| e.to_string())?,
            None => header.clone(),
        };
        self.header = Some(serde_json::to_string(&header).map_err(|e| e.to_string())?);
        self.add_header().await
    }

    async fn add_header(&mut self) -> Result<(), String> {
        let Some(text) = self.header.clone() else {
            return Ok(());
        };
        self.last_header = Some(Instant::now());
        self.xadd("header", text.into_bytes()).await
    }

    async fn xadd(&mut self, field: &str, value: Vec<u8>) -> Result<(), String> {
        redis::cmd("XADD")
            .arg(&self.url.key)
            .arg("MAXLEN")
            .arg("~")
            .arg(self.maxlen)
            .arg("*")
            .arg(field)
            .arg(value)
            .query_async::<Value>(&mut self.con)
            .await
            .map(|_| ())
            .map_err(|e| format!("Redis {}: XADD: {}", self.url.shown, clean_err(&e)))
    }

    /// Append one update, applied at model time `t` (ms).
    pub async fn publish(&mut self, t: i64, u: &Update) -> Result<(), String> {
        let line =
            super::writer::encode_line(t, u, self.redactor.as_ref()).map_err(|e| e.to_string())?;
        self.xadd("line", line).await?;
        self.published += 1;
        if self
            .last_header
            .is_some_and(|l| l.elapsed() >= HEADER_EVERY)
        {
            self.add_header().await?;
        }
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
                .map_err(|e| format!("Redis {}: XTRIM: {}", self.url.shown, clean_err(&e)))?;
        }
        Ok(())
    }
}

/// The viewer's end: reads the stream back, then follows it.
pub struct Follower {
    con: MultiplexedConnection,
    url: StreamUrl,
    /// The last entry id read (`$`-like start once the backfill is done).
    last_id: String,
    /// Entries that were not valid recording lines.
    pub skipped: u64,
    /// The newest collector header read.
    pub header: Option<Header>,
}

impl Follower {
    pub async fn connect(url: &StreamUrl) -> Result<Follower, String> {
        Ok(Follower {
            con: connect(url).await?,
            url: url.clone(),
            last_id: "0-0".into(),
            skipped: 0,
            header: None,
        })
    }

    /// Every entry from `from_ms` (wall time of the collector's Redis) on, in pages.
    pub async fn backfill(&mut self, from_ms: i64) -> Result<Vec<Record>, String> {
        let mut out = Vec::new();
        let mut start = format!("{}-0", from_ms.max(0));
        loop {
            let v: Value = redis::cmd("XRANGE")
                .arg(&self.url.key)
                .arg(&start)
                .arg("+")
                .arg("COUNT")
                .arg(PAGE)
                .query_async(&mut self.con)
                .await
                .map_err(|e| format!("Redis {}: XRANGE: {}", self.url.shown, clean_err(&e)))?;
            let entries = entries(&v);
            let n = entries.len();
            for (id, line) in entries {
                self.take(id, line, &mut out);
            }
            if n < PAGE {
                return Ok(out);
            }
            // Exclusive start after the last id read.
            start = format!("({}", self.last_id);
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
                        for (id, line) in entries(es) {
                            self.take(id, line, &mut out);
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    fn take(&mut self, id: String, entry: Entry, out: &mut Vec<Record>) {
        self.last_id = id;
        match entry {
            Entry::Line(l) => match decode_record(&l) {
                Ok(r) => out.push(r),
                Err(_) => self.skipped += 1,
            },
            Entry::Header(h) => {
                match super::reader::parse_header(std::path::Path::new(&self.url.shown), &h) {
                    Ok(h) => self.header = Some(h),
                    Err(_) => self.skipped += 1,
                }
            }
            Entry::Other => self.skipped += 1,
        }
    }
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

/// `[[id, [field, value, …]], …]` → (id, the entry's `line` or `header`).
fn entries(v: &Value) -> Vec<(String, Entry)> {
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
            let entry = match pair.get(1) {
                Some(Value::Array(fields)) => fields
                    .chunks(2)
                    .find_map(|kv| match kv {
                        [k, Value::BulkString(v)] => match text(k).as_deref() {
                            Some("line") => Some(Entry::Line(v.clone())),
                            Some("header") => Some(Entry::Header(v.clone())),
                            _ => None,
                        },
                        _ => None,
                    })
                    .unwrap_or(Entry::Other),
                _ => Entry::Other,
            };
            Some((id, entry))
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
        assert!(matches!(e[0].1, Entry::Line(_)) && e[1].1 == Entry::Other);
    }
}
