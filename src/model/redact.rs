//! Redaction for screen shares and exports (`--redact`): masks what can name a person or an
//! account — e-mail addresses, AWS account ids (also inside ARNs), IPv4 addresses (also the
//! `ip-10-0-1-23` form of EKS node names) and `user…` ids. Span input/output are dropped by the
//! callers, not here.
use crate::model::sanitize;
use regex::{Captures, Regex};
use std::borrow::Cow;
use std::sync::LazyLock;

static PATTERN: LazyLock<Option<Regex>> = LazyLock::new(|| {
    // Alternatives are tried leftmost-first at each position, so the order matters: an e-mail
    // before the IP and digit rules that could eat part of it.
    Regex::new(concat!(
        r"(?P<email>[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)",
        r"|(?P<ipdash>\bip-\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}\b)",
        r"|(?P<dash4>\b\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}\b)",
        // No leading `\b`: an address glued to a word (`host10.0.0.1`) is masked too.
        r"|(?P<ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b)",
        r"|(?P<acct>\b\d{12}\b)",
        r"|(?P<user>(?i:\buser)(?:[\-_:=][A-Za-z0-9][A-Za-z0-9._\-]*|\d[A-Za-z0-9._\-]*))",
    ))
    .ok()
});

/// Cheap pre-check: everything the pattern matches contains a digit, an `@` or `user`.
fn may_match(s: &str) -> bool {
    let b = s.as_bytes();
    if b.iter().any(|c| c.is_ascii_digit() || *c == b'@') {
        return true;
    }
    b.windows(4).any(|w| w.eq_ignore_ascii_case(b"user"))
}

/// What a masked identifier was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Email,
    /// `ip-10-0-1-23` (EKS node names).
    IpDash,
    /// `10-0-1-23`.
    Dash4,
    Ip,
    /// A 12-digit AWS account id (also inside ARNs).
    Account,
    User,
}

impl Kind {
    /// The fixed mask shown in place of an identifier of this kind.
    pub fn mask(self) -> &'static str {
        match self {
            Kind::Email => "***@***",
            Kind::IpDash => "ip-x-x-x-x",
            Kind::Dash4 => "x-x-x-x",
            Kind::Ip => "x.x.x.x",
            Kind::Account => "************",
            Kind::User => "user-***",
        }
    }
}

/// Mask personal and account identifiers in `s`.
pub fn redact(s: &str) -> Cow<'_, str> {
    redact_with(s, |k, _| k.mask().to_string())
}

/// Replace each identifier `redact` would mask by `f(kind, original)`. Recordings use this to
/// mask with a keyed pseudonym, so two different node names stay two nodes on replay.
pub fn redact_with(s: &str, mut f: impl FnMut(Kind, &str) -> String) -> Cow<'_, str> {
    if !may_match(s) {
        return Cow::Borrowed(s);
    }
    let Some(re) = PATTERN.as_ref() else {
        // The pattern is a constant and compiles; should it ever not, fail closed.
        return Cow::Owned("[redacted]".to_string());
    };
    re.replace_all(s, |c: &Captures<'_>| {
        let kind = if c.name("email").is_some() {
            Kind::Email
        } else if c.name("ipdash").is_some() {
            Kind::IpDash
        } else if c.name("dash4").is_some() {
            Kind::Dash4
        } else if c.name("ip").is_some() {
            Kind::Ip
        } else if c.name("acct").is_some() {
            Kind::Account
        } else {
            Kind::User
        };
        f(kind, &c[0])
    })
}

/// Every remote string on its way into the snapshot: control characters stripped, then masked
/// when redaction is on.
pub fn text(s: &str, redact_on: bool) -> String {
    let clean = sanitize::clean(s);
    if redact_on {
        redact(&clean).into_owned()
    } else {
        clean.into_owned()
    }
}

pub fn opt_text(s: Option<&str>, redact_on: bool) -> Option<String> {
    s.map(|s| text(s, redact_on))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_identifiers() {
        assert_eq!(
            redact("mail alice.b+x@example.co.uk now"),
            "mail ***@*** now"
        );
        assert_eq!(
            redact("arn:aws:bedrock-agentcore:us-east-2:123456789012:runtime/hybrid_haiku-AbC123"),
            "arn:aws:bedrock-agentcore:us-east-2:************:runtime/hybrid_haiku-AbC123"
        );
        assert_eq!(redact("account 123456789012."), "account ************.");
        assert_eq!(redact("ip-10-0-1-23"), "ip-x-x-x-x");
        assert_eq!(
            redact("ip-10-0-1-23.us-east-2.compute.internal"),
            "ip-x-x-x-x.us-east-2.compute.internal"
        );
        assert_eq!(
            redact("dial tcp 10.0.3.7:443: refused"),
            "dial tcp x.x.x.x:443: refused"
        );
        assert_eq!(
            redact("session of user-8812 and USER_abc"),
            "session of user-*** and user-***"
        );
        assert_eq!(redact("user42 said"), "user-*** said");
        // Not over-eager.
        assert_eq!(redact("users and username stay"), "users and username stay");
        assert_eq!(redact("eks-qwen3 p95 240 ms"), "eks-qwen3 p95 240 ms");
        assert_eq!(redact("2026-11-25T08:00:00Z"), "2026-11-25T08:00:00Z");
        assert!(matches!(redact("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn text_cleans_then_redacts() {
        assert_eq!(text("a\x1b[31m10.1.2.3\x07", true), "ax.x.x.x");
        assert_eq!(text("a\x1b[31m10.1.2.3\x07", false), "a10.1.2.3");
    }
}
