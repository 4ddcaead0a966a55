//! Collector → viewer latency in team mode: follows a stream the way a viewer does (XREAD
//! BLOCK after the last id) and measures, per entry, the time from the collector's XADD (the
//! entry id is Redis's clock at the append, on this machine the same clock) to the entry
//! decoded in hand. `cargo run --release --example stream_latency -- redis://127.0.0.1:6379 60`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_macros)]
use redis::Value;

fn text(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or("redis://127.0.0.1:6379".into());
    let secs: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(60);
    let key = args.get(3).map(String::as_str).unwrap_or("hybridtop");
    let client = redis::Client::open(url.as_str()).unwrap();
    let cfg = redis::AsyncConnectionConfig::new()
        .set_response_timeout(Some(std::time::Duration::from_secs(5)));
    let mut con = client
        .get_multiplexed_async_connection_with_config(&cfg)
        .await
        .unwrap();
    let mut last = "$".to_string();
    let mut lat = Vec::new();
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        let v: Value = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(1000)
            .arg("BLOCK")
            .arg(400)
            .arg("STREAMS")
            .arg(key)
            .arg(&last)
            .query_async(&mut con)
            .await
            .unwrap();
        let Value::Array(streams) = v else { continue };
        for s in streams {
            let Value::Array(kv) = s else { continue };
            let Some(Value::Array(es)) = kv.get(1) else {
                continue;
            };
            for e in es {
                let Value::Array(pair) = e else { continue };
                let id = text(&pair[0]).unwrap();
                if let Some(Value::Array(fields)) = pair.get(1) {
                    if let (Some(k), Some(Value::BulkString(b))) = (fields.first(), fields.get(1)) {
                        if text(k).as_deref() == Some("line") {
                            std::hint::black_box(hybridtop::record::decode_record(b).ok());
                        }
                    }
                }
                let ms: i64 = id.split('-').next().unwrap().parse().unwrap();
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_micros() as i64;
                lat.push((now - ms * 1000) as f64 / 1000.0);
                last = id;
            }
        }
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| lat[((lat.len() as f64 - 1.0) * p) as usize];
    println!(
        "{} entries: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms (entry ids have ms resolution: +-1 ms)",
        lat.len(),
        q(0.5),
        q(0.95),
        q(0.99),
        lat[lat.len() - 1]
    );
}
