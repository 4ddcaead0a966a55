//! OTLP/HTTP trace requests (protobuf or JSON) into the observations the correlation engine
//! joins: pure, so every mapping rule is unit-tested without a socket.
//!
//! - session: `session.id`, else `langfuse.session.id`;
//! - path: the first `[paths.otlp]` whose `services` holds the resource's `service.name`, else
//!   whose `models` entry is contained in `gen_ai.request.model` (the span then carries the
//!   reserved tag `hybridtop.path={id}` and its path's side);
//! - parent and children: the span tree (`parentSpanId`); the declared parent reference: the
//!   attribute named by `correlation.parent_metadata_key` (or `langfuse.observation.metadata.`
//!   + it);
//! - errors: span status `ERROR` (its message as the status message);
//! - tokens and cost: `gen_ai.usage.input_tokens`/`output_tokens` and `gen_ai.usage.cost`.
//!
//! Every string is sanitised and bounded here, before it can reach a screen.
use crate::config::Config;
use crate::domain::path::{PathId, Side};
use crate::model::sanitize::clean_owned;
use crate::model::update::{Level, Observation};
use chrono::{DateTime, Utc};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, KeyValue};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use prost::Message;

/// Longest text kept from a span (names, messages, ids of sessions and users).
const MAX_TEXT: usize = 512;
use crate::model::correlation::PATH_TAG;

/// How a request body is encoded (its `Content-Type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// `application/x-protobuf` or `application/json` (parameters ignored); anything else is
    /// refused with 415.
    pub fn from_content_type(ct: Option<&str>) -> Option<Encoding> {
        let base = ct?.split(';').next()?.trim().to_ascii_lowercase();
        match base.as_str() {
            "application/x-protobuf" | "application/protobuf" => Some(Encoding::Protobuf),
            "application/json" => Some(Encoding::Json),
            _ => None,
        }
    }
}

/// The rules a span is mapped by, from the config once.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    paths: Vec<PathRule>,
    parent_key: String,
}

#[derive(Clone, Debug)]
struct PathRule {
    id: PathId,
    kind: Side,
    services: Vec<String>,
    models: Vec<String>,
}

impl Rules {
    pub fn from_config(cfg: &Config) -> Rules {
        Rules {
            paths: cfg
                .paths
                .iter()
                .filter_map(|p| {
                    let o = p.otlp.as_ref()?;
                    Some(PathRule {
                        id: p.id.clone(),
                        kind: p.kind,
                        services: o.services.clone(),
                        models: o.models.iter().filter(|m| !m.is_empty()).cloned().collect(),
                    })
                })
                .collect(),
            parent_key: cfg.correlation.parent_metadata_key.clone(),
        }
    }

    fn path(&self, service: Option<&str>, model: Option<&str>) -> Option<&PathRule> {
        if let Some(s) = service {
            if let Some(p) = self
                .paths
                .iter()
                .find(|p| p.services.iter().any(|x| x == s))
            {
                return Some(p);
            }
        }
        let m = model?.to_ascii_lowercase();
        self.paths
            .iter()
            .find(|p| p.models.iter().any(|x| m.contains(&x.to_ascii_lowercase())))
    }
}

/// Why a body was refused (400).
#[derive(Debug, PartialEq, Eq)]
pub struct BadRequest(pub String);

/// What one request held: the observations, and spans left out (bad ids or times).
#[derive(Debug, Default)]
pub struct Decoded {
    pub observations: Vec<Observation>,
    pub rejected: u64,
}

pub fn decode(body: &[u8], enc: Encoding, rules: &Rules) -> Result<Decoded, BadRequest> {
    let req = match enc {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(body)
            .map_err(|e| BadRequest(format!("not an OTLP protobuf trace request: {e}")))?,
        Encoding::Json => serde_json::from_slice::<ExportTraceServiceRequest>(body)
            .map_err(|e| BadRequest(format!("not an OTLP JSON trace request: {e}")))?,
    };
    Ok(map(req, rules))
}

fn text(s: &str) -> String {
    let mut t = clean_owned(s);
    if t.len() > MAX_TEXT {
        let mut cut = MAX_TEXT;
        while !t.is_char_boundary(cut) {
            cut -= 1;
        }
        t.truncate(cut);
    }
    t
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a any_value::Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn attr_str(attrs: &[KeyValue], key: &str) -> Option<String> {
    match attr(attrs, key)? {
        any_value::Value::StringValue(s) if !s.is_empty() => Some(text(s)),
        any_value::Value::IntValue(i) => Some(i.to_string()),
        _ => None,
    }
}

fn attr_u64(attrs: &[KeyValue], key: &str) -> Option<u64> {
    match attr(attrs, key)? {
        any_value::Value::IntValue(i) => u64::try_from(*i).ok(),
        any_value::Value::DoubleValue(d) if d.is_finite() && *d >= 0.0 => Some(*d as u64),
        any_value::Value::StringValue(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn attr_f64(attrs: &[KeyValue], key: &str) -> Option<f64> {
    let v = match attr(attrs, key)? {
        any_value::Value::DoubleValue(d) => *d,
        any_value::Value::IntValue(i) => *i as f64,
        any_value::Value::StringValue(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (v.is_finite() && v >= 0.0).then_some(v)
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        s.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
    }
    s
}

fn time(nanos: u64) -> Option<DateTime<Utc>> {
    let n = i64::try_from(nanos).ok()?;
    (n > 0).then(|| DateTime::from_timestamp_nanos(n))
}

pub fn map(req: ExportTraceServiceRequest, rules: &Rules) -> Decoded {
    let mut out = Decoded::default();
    for rs in req.resource_spans {
        let resource = rs.resource.map(|r| r.attributes).unwrap_or_default();
        let service = attr_str(&resource, "service.name");
        for ss in rs.scope_spans {
            for span in ss.spans {
                // W3C ids: 16-byte trace, 8-byte span; anything else is not a span we can join.
                if span.trace_id.len() != 16 || span.span_id.len() != 8 {
                    out.rejected += 1;
                    continue;
                }
                let Some(start) = time(span.start_time_unix_nano) else {
                    out.rejected += 1;
                    continue;
                };
                let a = &span.attributes;
                let model = attr_str(a, "gen_ai.request.model")
                    .or_else(|| attr_str(a, "gen_ai.response.model"));
                let path = rules.path(service.as_deref(), model.as_deref());
                let parent_ref = attr_str(a, &rules.parent_key).or_else(|| {
                    attr_str(
                        a,
                        &format!("langfuse.observation.metadata.{}", rules.parent_key),
                    )
                });
                let (level, status_message) = match span.status {
                    Some(s) if s.code == StatusCode::Error as i32 => (
                        Level::Error,
                        Some(text(&s.message)).filter(|m| !m.is_empty()),
                    ),
                    _ => (Level::Default, None),
                };
                out.observations.push(Observation {
                    id: hex(&span.span_id),
                    trace_id: hex(&span.trace_id),
                    session_id: attr_str(a, "session.id")
                        .or_else(|| attr_str(a, "langfuse.session.id")),
                    parent_observation_id: (span.parent_span_id.len() == 8)
                        .then(|| hex(&span.parent_span_id)),
                    name: text(&span.name),
                    start,
                    end: time(span.end_time_unix_nano).filter(|e| *e >= start),
                    model,
                    tags: path
                        .map(|p| vec![format!("{PATH_TAG}{}", p.id)])
                        .unwrap_or_default(),
                    parent_ref,
                    level,
                    status_message,
                    input_tokens: attr_u64(a, "gen_ai.usage.input_tokens"),
                    output_tokens: attr_u64(a, "gen_ai.usage.output_tokens"),
                    cost_usd: attr_f64(a, "gen_ai.usage.cost"),
                    side: path.map(|p| p.kind),
                    input: None,
                    output: None,
                    html_path: None,
                    user_id: attr_str(a, "user.id").or_else(|| attr_str(a, "langfuse.user.id")),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::AnyValue;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

    fn kv(k: &str, v: any_value::Value) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    fn s(v: &str) -> any_value::Value {
        any_value::Value::StringValue(v.into())
    }

    fn rules() -> Rules {
        let cfg = Config::from_toml(
            r#"
[[paths]]
id = "eks-qwen3"
kind = "eks"
[paths.otlp]
services = ["kagent-qwen3"]
[[paths]]
id = "agentcore-haiku"
kind = "agentcore"
[paths.otlp]
models = ["haiku"]
"#,
            "t.toml",
        )
        .unwrap();
        Rules::from_config(&cfg)
    }

    fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: vec![kv("service.name", s(service))],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    spans,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    fn span(id: u8, parent: Option<u8>, attrs: Vec<KeyValue>) -> Span {
        Span {
            trace_id: vec![7; 16],
            span_id: vec![id; 8],
            parent_span_id: parent.map(|p| vec![p; 8]).unwrap_or_default(),
            name: "agent.turn\u{1b}]0;owned\u{7}".into(),
            start_time_unix_nano: 1_764_061_200_000_000_000,
            end_time_unix_nano: 1_764_061_200_250_000_000,
            attributes: attrs,
            ..Default::default()
        }
    }

    #[test]
    fn spans_map_to_observations_by_the_rules() {
        let req = request(
            "kagent-qwen3",
            vec![
                span(
                    1,
                    None,
                    vec![kv("session.id", s("hybrid-s-1")), kv("parent", s("ac-s-1"))],
                ),
                Span {
                    status: Some(Status {
                        code: StatusCode::Error as i32,
                        message: "boom\u{202e}".into(),
                    }),
                    ..span(
                        2,
                        Some(1),
                        vec![
                            kv("langfuse.session.id", s("hybrid-s-1")),
                            kv("gen_ai.request.model", s("qwen3-4b")),
                            kv("gen_ai.usage.input_tokens", any_value::Value::IntValue(400)),
                            kv(
                                "gen_ai.usage.output_tokens",
                                any_value::Value::IntValue(150),
                            ),
                            kv("gen_ai.usage.cost", any_value::Value::DoubleValue(0.003)),
                        ],
                    )
                },
            ],
        );
        let d = map(req, &rules());
        assert_eq!(d.rejected, 0);
        let [root, child] = &d.observations[..] else {
            panic!("{:?}", d.observations)
        };
        assert_eq!(root.id, "0101010101010101");
        assert_eq!(root.trace_id, "07".repeat(16));
        assert_eq!(root.session_id.as_deref(), Some("hybrid-s-1"));
        assert_eq!(root.parent_ref.as_deref(), Some("ac-s-1"));
        assert_eq!(root.tags, vec!["hybridtop.path=eks-qwen3".to_string()]);
        assert_eq!(root.side, Some(Side::Eks));
        assert!(!root.name.contains('\u{1b}') && root.name.starts_with("agent.turn"));
        assert_eq!((root.end.unwrap() - root.start).num_milliseconds(), 250);
        assert_eq!(
            child.parent_observation_id.as_deref(),
            Some("0101010101010101")
        );
        assert_eq!(child.level, Level::Error);
        assert!(child
            .status_message
            .as_deref()
            .is_some_and(|m| m.starts_with("boom") && !m.contains('\u{202e}')));
        assert_eq!(
            (child.input_tokens, child.output_tokens),
            (Some(400), Some(150))
        );
        assert_eq!(child.cost_usd, Some(0.003));
        // A model names the path when the service does not.
        let d = map(
            request(
                "other",
                vec![span(
                    3,
                    None,
                    vec![kv("gen_ai.request.model", s("claude-HAIKU-4-5"))],
                )],
            ),
            &rules(),
        );
        assert_eq!(d.observations[0].side, Some(Side::Agentcore));
        assert_eq!(
            d.observations[0].tags,
            vec!["hybridtop.path=agentcore-haiku".to_string()]
        );
        // Neither: no path, no side (the trace-id rules may still decide).
        let d = map(request("other", vec![span(4, None, vec![])]), &rules());
        assert!(d.observations[0].tags.is_empty() && d.observations[0].side.is_none());
    }

    #[test]
    fn bad_ids_and_times_are_rejected_and_bodies_decode_both_ways() {
        let bad = vec![
            Span {
                trace_id: vec![1; 3],
                ..span(1, None, vec![])
            },
            Span {
                start_time_unix_nano: 0,
                ..span(2, None, vec![])
            },
            span(3, None, vec![]),
        ];
        let req = request("x", bad);
        let body = req.encode_to_vec();
        let d = decode(&body, Encoding::Protobuf, &rules()).unwrap();
        assert_eq!((d.observations.len(), d.rejected), (1, 2));
        assert!(decode(b"\xff\xff\xff", Encoding::Protobuf, &rules()).is_err());
        // OTLP/JSON: hex ids, nanoseconds as strings, camelCase.
        let json = br#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"kagent-qwen3"}}]},
            "scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331",
            "name":"turn","kind":2,"startTimeUnixNano":"1764061200000000000","endTimeUnixNano":"1764061200500000000",
            "attributes":[{"key":"session.id","value":{"stringValue":"hybrid-s-9"}}],"status":{"code":2,"message":"bad"}}]}]}]}"#;
        let d = decode(json, Encoding::Json, &rules()).unwrap();
        let o = &d.observations[0];
        assert_eq!(
            (o.id.as_str(), o.trace_id.as_str()),
            ("b7ad6b7169203331", "0af7651916cd43dd8448eb211c80319c")
        );
        assert_eq!(
            (o.session_id.as_deref(), o.level),
            (Some("hybrid-s-9"), Level::Error)
        );
        assert_eq!(o.side, Some(Side::Eks));
        assert!(decode(b"{\"resourceSpans\": 5}", Encoding::Json, &rules()).is_err());
        assert_eq!(
            Encoding::from_content_type(Some("application/json; charset=utf-8")),
            Some(Encoding::Json)
        );
        assert_eq!(Encoding::from_content_type(Some("text/plain")), None);
    }
}
