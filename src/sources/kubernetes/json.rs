//! Reading untyped API JSON without panicking: every accessor returns nothing (or an empty
//! list) for a missing field or one of the wrong type.
use serde_json::Value;

/// Longest reason / message kept from the API (messages can be whole stack traces).
pub const MAX_REASON: usize = 80;
pub const MAX_MESSAGE: usize = 300;
/// Most list entries (triggers, conditions, metrics) kept per object.
pub const MAX_ITEMS: usize = 32;

static NULL: Value = Value::Null;

pub fn obj<'a>(v: &'a Value, key: &str) -> &'a Value {
    v.get(key).unwrap_or(&NULL)
}

pub fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub fn string(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

pub fn boolean(v: &Value, key: &str) -> Option<bool> {
    v.get(key).and_then(Value::as_bool)
}

/// An integer field; a huge unsigned value saturates rather than disappearing.
pub fn int(v: &Value, key: &str) -> Option<i64> {
    let x = v.get(key)?;
    x.as_i64()
        .or_else(|| x.as_u64().map(|u| i64::try_from(u).unwrap_or(i64::MAX)))
}

/// A non-negative count as u32 (negative → 0, too large → u32::MAX).
pub fn count(v: &Value, key: &str) -> Option<u32> {
    int(v, key).map(|n| u32::try_from(n.max(0)).unwrap_or(u32::MAX))
}

/// At most `max` characters, with an ellipsis when cut (cut on a char boundary).
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => {
            let mut out = s[..i].to_string();
            out.push('…');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accessors_tolerate_wrong_types() {
        let v = json!({"a": "x", "n": 5, "big": u64::MAX, "neg": -3, "l": [1], "b": true});
        assert_eq!(string(&v, "a").as_deref(), Some("x"));
        assert_eq!(string(&v, "n"), None);
        assert_eq!(int(&v, "big"), Some(i64::MAX));
        assert_eq!(count(&v, "neg"), Some(0));
        assert_eq!(count(&v, "big"), Some(u32::MAX));
        assert_eq!(arr(&v, "l").len(), 1);
        assert!(arr(&v, "a").is_empty());
        assert_eq!(boolean(&v, "b"), Some(true));
        assert!(obj(&v, "zz").is_null());
        assert_eq!(clip("héllo", 2), "hé…");
        assert_eq!(clip("hi", 2), "hi");
    }
}
