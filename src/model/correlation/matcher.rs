//! Matchers: the correlation rules as regexes, with literal fast paths for the shapes the
//! strategy document uses (`hybrid-{session}`, `ac-{session}-{ts}`).
use super::*;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    /// `^PREFIX(?P<session>.+)$`
    PrefixRest,
    /// `^PREFIX(?P<session>.+)-(?P<ts>\d+)$`
    PrefixDashDigits,
    /// Anything else: the regex, after a literal prefix check.
    General,
}

/// A correlation rule. Recognises the seed's pattern shapes and answers them with string
/// operations (no regex run); anything else runs the regex, but only after a cheap check of the
/// pattern's literal prefix (an OpenTelemetry 32-hex trace id fails `ac-` at the first byte).
#[derive(Clone, Debug)]
pub struct Matcher {
    pub(super) re: Option<Regex>,
    pub(super) prefix: String,
    pub(super) shape: Shape,
    pub(super) has_session: bool,
}

/// The literal text a `^`-anchored pattern must start with ("" when unsure).
pub(super) fn literal_prefix(pat: &str) -> String {
    let Some(rest) = pat.strip_prefix('^') else {
        return String::new();
    };
    if pat.contains('|') {
        return String::new();
    }
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(&c) = chars.peek() {
        if "\\.+*?()|[]{}^$#".contains(c) || c.is_whitespace() {
            break;
        }
        out.push(c);
        chars.next();
    }
    // A quantifier after the run makes its last character optional.
    if matches!(chars.peek(), Some('?') | Some('*') | Some('{')) {
        out.pop();
    }
    out
}

impl Matcher {
    pub fn new(re: Regex) -> Matcher {
        let pat = re.as_str().to_string();
        // (`re` is moved into the matcher below.)
        let prefix = literal_prefix(&pat);
        let has_session = re.capture_names().any(|n| n == Some("session"));
        let rest_forms = [
            format!("^{prefix}(?P<session>.+)$"),
            format!("^{prefix}(?<session>.+)$"),
        ];
        let dash_forms = [
            format!("^{prefix}(?P<session>.+)-(?P<ts>\\d+)$"),
            format!("^{prefix}(?<session>.+)-(?<ts>\\d+)$"),
        ];
        let shape = if !prefix.is_empty() && rest_forms.contains(&pat) {
            Shape::PrefixRest
        } else if !prefix.is_empty() && dash_forms.contains(&pat) {
            Shape::PrefixDashDigits
        } else {
            Shape::General
        };
        Matcher {
            re: Some(re),
            prefix,
            shape,
            has_session,
        }
    }

    /// Matches nothing (rules that failed to compile).
    pub(super) fn never() -> Matcher {
        Matcher {
            re: None,
            prefix: String::new(),
            shape: Shape::General,
            has_session: false,
        }
    }

    /// A matcher for `^{prefix}(?P<session>.+)$`.
    pub(super) fn prefix_rest(prefix: &str) -> Option<Matcher> {
        let re = Regex::new(&format!("^{}(?P<session>.+)$", regex::escape(prefix))).ok()?;
        Some(Matcher {
            re: Some(re),
            prefix: prefix.to_string(),
            shape: Shape::PrefixRest,
            has_session: true,
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(super) fn regex_session<'a>(&self, s: &'a str) -> Option<&'a str> {
        if !self.has_session {
            return None;
        }
        self.re
            .as_ref()?
            .captures(s)
            .and_then(|c| c.name("session"))
            .map(|m| m.as_str())
            .filter(|m| !m.is_empty())
    }

    /// The `session` group, if `s` matches (an empty capture counts as no match).
    #[inline]
    pub fn session<'a>(&self, s: &'a str) -> Option<&'a str> {
        let rest = s.strip_prefix(self.prefix.as_str())?;
        // `.` skips newlines and `\d` is Unicode-aware: leave such input to the regex itself.
        let simple = rest.is_ascii() && !rest.contains('\n');
        match self.shape {
            Shape::PrefixRest if simple => (!rest.is_empty()).then_some(rest),
            Shape::PrefixDashDigits if simple => {
                let (sess, ts) = rest.rsplit_once('-')?;
                (!sess.is_empty() && !ts.is_empty() && ts.bytes().all(|b| b.is_ascii_digit()))
                    .then_some(sess)
            }
            _ => self.regex_session(s),
        }
    }

    #[inline]
    pub fn is_match(&self, s: &str) -> bool {
        if !s.starts_with(self.prefix.as_str()) {
            return false;
        }
        match self.shape {
            Shape::PrefixRest | Shape::PrefixDashDigits if self.has_session => {
                self.session(s).is_some()
            }
            _ => self.re.as_ref().is_some_and(|re| re.is_match(s)),
        }
    }
}
