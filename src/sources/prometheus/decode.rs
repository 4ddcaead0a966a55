//! The Prometheus HTTP API's answers, decoded: `/api/v1/query` (vector, scalar, matrix) and
//! `/api/v1/label/__name__/values`. Pure; values are strings (`"1.5"`, `"NaN"`, `"+Inf"`), and a
//! value that is not a finite number decodes to `None`, never 0.
use crate::model::sanitize;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The envelope every API answer shares.
#[derive(Debug, Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct QueryData {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Value,
}

#[derive(Debug, Deserialize)]
struct VectorItem {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: (Value, String),
}

#[derive(Debug, Deserialize)]
struct MatrixItem {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<(Value, String)>,
}

/// One series of an instant query: its labels and its value (`None`: NaN or ±Inf).
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    pub value: Option<f64>,
}

/// Why an answer could not be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// `"status":"error"`: Prometheus's own `errorType` and `error`.
    Api { error_type: String, error: String },
    /// Not the API's JSON at all.
    Malformed(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Api { error_type, error } => {
                write!(f, "Prometheus answered {error_type}: {error}")
            }
            DecodeError::Malformed(why) => write!(f, "not a Prometheus API answer: {why}"),
        }
    }
}

/// A value as Prometheus writes it; `None` unless finite.
pub fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

fn short(s: &str) -> String {
    let c = sanitize::clean(s);
    c.chars().take(300).collect()
}

fn envelope(body: &[u8]) -> Result<Value, DecodeError> {
    let env: Envelope = serde_json::from_slice(body).map_err(|e| {
        DecodeError::Malformed(format!(
            "{e} (body starts {:?})",
            short(&String::from_utf8_lossy(&body[..body.len().min(80)]))
        ))
    })?;
    if env.status != "success" {
        return Err(DecodeError::Api {
            error_type: short(env.error_type.as_deref().unwrap_or("error")),
            error: short(env.error.as_deref().unwrap_or("(no message)")),
        });
    }
    env.data
        .ok_or_else(|| DecodeError::Malformed("success without data".into()))
}

fn clean_labels(m: BTreeMap<String, String>) -> BTreeMap<String, String> {
    m.into_iter()
        .map(|(k, v)| {
            (
                sanitize::clean(&k).into_owned(),
                sanitize::clean(&v).into_owned(),
            )
        })
        .collect()
}

/// An `/api/v1/query` answer as samples. A matrix gives each series' newest value; a scalar one
/// sample without labels. An empty result is an empty list.
pub fn query(body: &[u8]) -> Result<Vec<Sample>, DecodeError> {
    let data: QueryData = serde_json::from_value(envelope(body)?)
        .map_err(|e| DecodeError::Malformed(e.to_string()))?;
    let bad = |e: serde_json::Error| DecodeError::Malformed(e.to_string());
    match data.result_type.as_str() {
        "vector" => {
            let items: Vec<VectorItem> = serde_json::from_value(data.result).map_err(bad)?;
            Ok(items
                .into_iter()
                .map(|i| Sample {
                    labels: clean_labels(i.metric),
                    value: number(&i.value.1),
                })
                .collect())
        }
        "matrix" => {
            let items: Vec<MatrixItem> = serde_json::from_value(data.result).map_err(bad)?;
            Ok(items
                .into_iter()
                .map(|i| Sample {
                    labels: clean_labels(i.metric),
                    value: i.values.last().and_then(|v| number(&v.1)),
                })
                .collect())
        }
        "scalar" => {
            let v: (Value, String) = serde_json::from_value(data.result).map_err(bad)?;
            Ok(vec![Sample {
                labels: BTreeMap::new(),
                value: number(&v.1),
            }])
        }
        other => Err(DecodeError::Malformed(format!(
            "result type '{}' is not a number",
            short(other)
        ))),
    }
}

/// An `/api/v1/label/__name__/values` answer: metric names.
pub fn names(body: &[u8]) -> Result<Vec<String>, DecodeError> {
    let v: Vec<String> = serde_json::from_value(envelope(body)?)
        .map_err(|e| DecodeError::Malformed(e.to_string()))?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_values_nan_and_inf() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"pod":"a","namespace":"agents"},"value":[1700000000.5,"1.5"]},
            {"metric":{"pod":"b"},"value":[1700000000.5,"NaN"]},
            {"metric":{"pod":"c"},"value":[1700000000.5,"+Inf"]},
            {"metric":{"pod":"d"},"value":[1700000000.5,"-Inf"]}]}}"#;
        let s = query(body).unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].value, Some(1.5));
        assert_eq!(s[0].labels["pod"], "a");
        assert_eq!(s[1].value, None);
        assert_eq!(s[2].value, None);
        assert_eq!(s[3].value, None);
    }

    #[test]
    fn empty_result_is_empty_not_zero() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(query(body).unwrap(), vec![]);
    }

    #[test]
    fn error_json_names_type_and_message() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#;
        let e = query(body).unwrap_err();
        assert_eq!(
            e,
            DecodeError::Api {
                error_type: "bad_data".into(),
                error: "parse error at char 3".into()
            }
        );
        assert!(e.to_string().contains("bad_data"));
        // Control characters in a remote message are cleaned.
        let body = b"{\"status\":\"error\",\"errorType\":\"x\",\"error\":\"a\\u001b[2Jb\"}";
        assert!(!query(body).unwrap_err().to_string().contains('\u{1b}'));
    }

    #[test]
    fn matrix_takes_newest_and_scalar_has_no_labels() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"pod":"a"},"values":[[1,"1"],[2,"7"]]},
            {"metric":{"pod":"b"},"values":[]}]}}"#;
        let s = query(body).unwrap();
        assert_eq!(s[0].value, Some(7.0));
        assert_eq!(s[1].value, None);
        let body = br#"{"status":"success","data":{"resultType":"scalar","result":[1,"0.25"]}}"#;
        assert_eq!(query(body).unwrap()[0].value, Some(0.25));
        let body = br#"{"status":"success","data":{"resultType":"string","result":[1,"x"]}}"#;
        assert!(matches!(query(body), Err(DecodeError::Malformed(_))));
    }

    #[test]
    fn malformed_and_names() {
        assert!(matches!(query(b"<html>"), Err(DecodeError::Malformed(_))));
        assert!(matches!(
            query(b"{\"status\":\"success\"}"),
            Err(DecodeError::Malformed(_))
        ));
        let body = br#"{"status":"success","data":["up","vllm:kv_cache_usage_perc"]}"#;
        assert_eq!(names(body).unwrap(), vec!["up", "vllm:kv_cache_usage_perc"]);
    }
}
