//! On-disk cache of Cost Explorer answers (XDG cache dir): Cost Explorer costs $0.01 a request
//! and updates a few times a day, so a restarted dashboard shows the cached figures at once —
//! with their age — and asks again only when they are older than `cost_explorer_interval`.
//!
//! One file per request key (profile, endpoint, grouping, metric, granularity); the exact period
//! and the day it was asked for are stored inside. Written atomically (temp file + rename). A file
//! that cannot be read back is ignored with a warning, never trusted.
use super::classify::Row;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CacheEntry {
    pub version: u32,
    pub key: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// The UTC day the request was made for (month-to-date is relative to it).
    pub today: NaiveDate,
    pub fetched_at: DateTime<Utc>,
    /// Pages (requests) the answer took.
    pub pages: u64,
    pub rows: Vec<Row>,
}

/// FNV-1a: stable across runs and platforms (std's hasher is not), for the file name.
fn fnv1a(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

pub fn path_for(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("cost-explorer-{:016x}.json", fnv1a(key)))
}

/// `Ok(None)` when there is no cache file; `Err` (a message naming the file) when it exists but
/// cannot be used.
pub fn load(path: &Path, key: &str) -> Result<Option<CacheEntry>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read cache file {}: {e}", path.display())),
    };
    let entry: CacheEntry = serde_json::from_str(&text)
        .map_err(|e| format!("ignoring corrupt cache file {}: {e}", path.display()))?;
    if entry.version != VERSION || entry.key != key {
        return Err(format!(
            "ignoring cache file {}: written for another request or version",
            path.display()
        ));
    }
    if entry.rows.iter().any(|r| !r.usd.is_finite()) {
        return Err(format!(
            "ignoring corrupt cache file {}: non-numeric amounts",
            path.display()
        ));
    }
    Ok(Some(entry))
}

pub fn store(path: &Path, entry: &CacheEntry) -> std::io::Result<()> {
    let text = serde_json::to_string(entry).map_err(std::io::Error::other)?;
    let tmp = path.with_extension(format!("json.tmp{}", std::process::id()));
    // The bill is nobody else's business either.
    std::io::Write::write_all(&mut crate::config::private::create(&tmp)?, text.as_bytes())?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str) -> CacheEntry {
        let d = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap();
        CacheEntry {
            version: VERSION,
            key: key.into(),
            start: d,
            end: d,
            today: d,
            fetched_at: DateTime::<Utc>::UNIX_EPOCH,
            pages: 1,
            rows: vec![Row {
                date: d,
                key: "Amazon Bedrock".into(),
                usd: 1.25,
            }],
        }
    }

    #[test]
    fn round_trip_missing_and_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let p = path_for(dir.path(), "k");
        assert_eq!(p, path_for(dir.path(), "k"), "stable name");
        assert_ne!(p, path_for(dir.path(), "k2"));
        assert_eq!(load(&p, "k"), Ok(None));
        store(&p, &entry("k")).unwrap();
        assert_eq!(load(&p, "k").unwrap().unwrap(), entry("k"));
        assert!(load(&p, "other").unwrap_err().contains("another request"));
        std::fs::write(&p, "{\"version\": 1, \"key\": \"k\", trunc").unwrap();
        let e = load(&p, "k").unwrap_err();
        assert!(
            e.contains("corrupt") && e.contains(&p.display().to_string()),
            "{e}"
        );
    }
}
