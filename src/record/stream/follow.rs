//! The viewer's end of the stream: the window read back from the header before it, then
//! followed; entries of a deposed leader dropped; a range exported as an ordinary recording.
use super::{clean_err, connect, entries, id_ms, ConnectError, Entry, RawEntry, StreamUrl, PAGE};
use crate::record::format::{decode_record, Header, Record};
use redis::aio::MultiplexedConnection;
use redis::Value;
use std::path::Path;
use std::time::Duration;

/// How far back a viewer or an export looks for the header (and keyframe) to start from: two
/// header periods, so one is there whenever the collector was publishing.
const HEADER_LOOKBACK: Duration = Duration::from_secs(2 * 30);
/// At most this many pages are read looking for it.
const HEADER_LOOKBACK_PAGES: usize = 50;

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

    /// A new connection after a failure (Redis restarted, a failover): following goes on after
    /// the last entry read.
    pub async fn reconnect(&mut self) -> Result<(), ConnectError> {
        self.con = connect(&self.url).await?;
        Ok(())
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
        let mut rec: Option<crate::record::Recorder> = None;
        loop {
            let (n, items) = self.page(&start, &end).await?;
            for item in items {
                match (item, rec.as_mut()) {
                    (Item::Header(h), None) => {
                        rec = Some(crate::record::Recorder::create(path, &h).map_err(|e| {
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
            Entry::Header(h) => match crate::record::parse_header(Path::new(&self.url.shown), &h) {
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
