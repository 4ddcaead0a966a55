//! The collector's end of the stream: the lease it holds or waits for, and the appends it makes
//! while leading (each entry with its fencing token), trimmed by length and by age.
use super::{clean_err, connect, ConnectError, StreamUrl, HEADER_EVERY};
use crate::model::update::Update;
use crate::record::format::Header;
use crate::record::writer::Redactor;
use redis::aio::MultiplexedConnection;
use redis::Value;
use std::time::{Duration, Instant};

/// How often the collector trims the stream by age.
const TRIM_EVERY: Duration = Duration::from_secs(10);
/// A leader that has not renewed its lease for this long is gone.
pub const LEASE_TTL: Duration = Duration::from_secs(5);
/// How often the leader renews and a standby tries: a standby takes over at most
/// `LEASE_TTL + LEASE_TICK` after the leader's last renewal.
pub const LEASE_TICK: Duration = Duration::from_secs(1);
/// Take the lease if nobody holds it; the new fencing token, or 0.
const ACQUIRE: &str = "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then \
    return redis.call('INCR', KEYS[2]) else return 0 end";
/// Extend the lease only while this collector still holds it; 1, or 0 when deposed.
const RENEW: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";
/// Give the lease up on a clean exit, so a standby need not wait for it to lapse.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then \
    return redis.call('DEL', KEYS[1]) else return 0 end";

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
            Some(r) => crate::record::redact_header(r, header).map_err(|e| e.to_string())?,
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
            let line = crate::record::encode_line(t, u, self.redactor.as_ref())
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
            crate::record::encode_line(t, u, self.redactor.as_ref()).map_err(|e| e.to_string())?;
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
