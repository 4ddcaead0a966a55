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
        // An ARN's account, and for IAM/STS principals the name after the resource type
        // (`user/alice`, `assumed-role/oncall/alice`): both can name a person or an account.
        r"|(?P<arn>\barn:aws[a-z\-]*:(?:iam|sts):[a-z0-9\-]*:(?:\d{12})?:(?:user|role|assumed-role|federated-user|group)/[^\s,;]+)",
        // IPv6: eight groups, or a compressed form with `::` between groups. Colon-separated
        // times (08:00:00) have neither shape.
        r"|(?P<ip6>\b(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}\b|\b(?:[0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,5}\b)",
        r"|(?P<ipdash>\bip-\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}\b)",
        r"|(?P<dash4>\b\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}\b)",
        // No leading `\b`: an address glued to a word (`host10.0.0.1`) is masked too.
        r"|(?P<ip>\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b)",
        r"|(?P<acct>\b\d{12}\b)",
        r"|(?P<user>(?i:\buser)(?:[\-_:=][A-Za-z0-9][A-Za-z0-9._\-]*|\d[A-Za-z0-9._\-]*))",
    ))
    .ok()
});

/// Cheap pre-check: everything the pattern matches contains a digit, an `@`, `::` or `user`.
fn may_match(s: &str) -> bool {
    let b = s.as_bytes();
    if b.iter().any(|c| c.is_ascii_digit() || *c == b'@') || s.contains("::") {
        return true;
    }
    b.windows(4).any(|w| w.eq_ignore_ascii_case(b"user"))
}

/// What a user id becomes under `--redact`.
pub const USER_MASK: &str = "user-***";

/// What a masked identifier was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Email,
    /// An IAM/STS principal ARN (`…:user/alice`): account and name both identify.
    PrincipalArn,
    Ip6,
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
            Kind::PrincipalArn => "arn:***",
            Kind::Ip6 => "x:x:x:x",
            Kind::IpDash => "ip-x-x-x-x",
            Kind::Dash4 => "x-x-x-x",
            Kind::Ip => "x.x.x.x",
            Kind::Account => "************",
            Kind::User => USER_MASK,
        }
    }
}

/// Mask personal and account identifiers in `s`.
pub fn redact(s: &str) -> Cow<'_, str> {
    redact_with(s, |k, orig| match k {
        // Keep the service and resource type readable: only the account and name are masked.
        Kind::PrincipalArn => mask_principal_arn(orig),
        _ => k.mask().to_string(),
    })
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
        } else if c.name("arn").is_some() {
            Kind::PrincipalArn
        } else if c.name("ip6").is_some() {
            Kind::Ip6
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

/// `arn:aws:iam::123456789012:user/alice` → `arn:aws:iam::************:user/***`.
fn mask_principal_arn(arn: &str) -> String {
    let mut parts: Vec<&str> = arn.splitn(6, ':').collect();
    let Some(resource) = parts.pop() else {
        return "arn:***".to_string();
    };
    let kind = resource.split('/').next().unwrap_or("");
    let account = parts.get(4).copied().unwrap_or("");
    let masked_account = if account.is_empty() {
        ""
    } else {
        "************"
    };
    format!(
        "{}:{masked_account}:{kind}/***",
        parts.get(..4).map(|p| p.join(":")).unwrap_or_default()
    )
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
        assert_eq!(
            redact("by arn:aws:iam::123456789012:user/alice.smith, then"),
            "by arn:aws:iam::************:user/***, then"
        );
        assert_eq!(
            redact("arn:aws:sts::123456789012:assumed-role/oncall/alice"),
            "arn:aws:sts::************:assumed-role/***"
        );
        assert_eq!(
            redact("from 2001:db8:85a3:0:0:8a2e:370:7334 and fe80::1ff:fe23:4567:890a"),
            "from x:x:x:x and x:x:x:x"
        );
        assert_eq!(redact("at 2001:db8::1 ok"), "at x:x:x:x ok");
        // Times, Rust paths and ids with colons stay.
        assert_eq!(redact("08:00:00 std::fmt"), "08:00:00 std::fmt");
        assert_eq!(redact("usage::input"), "usage::input");
    }

    #[test]
    fn text_cleans_then_redacts() {
        assert_eq!(text("a\x1b[31m10.1.2.3\x07", true), "ax.x.x.x");
        assert_eq!(text("a\x1b[31m10.1.2.3\x07", false), "a10.1.2.3");
    }
}
