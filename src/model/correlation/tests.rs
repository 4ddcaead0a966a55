// Test-only: the parent declares this module under #[cfg(test)].
use super::*;
use super::{analysis::*, matcher::*};
use crate::config::Config;
use chrono::TimeZone;
use proptest::prelude::*;

pub(crate) fn t(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_800_000_000_000 + ms)
        .single()
        .unwrap()
}

fn rules() -> CorrelationRules {
    let mut cfg = Config::demo();
    cfg.correlation.retention = Duration::from_secs(3600);
    cfg.correlation.max_sessions = 10_000;
    cfg.correlation_rules().unwrap()
}

fn engine() -> Correlator {
    Correlator::new(&rules(), &Config::demo().paths)
}

/// A blank observation; fill in what a case needs.
pub(crate) fn obs(id: &str, trace: &str, start: i64) -> Observation {
    Observation {
        id: id.into(),
        trace_id: trace.into(),
        session_id: None,
        parent_observation_id: None,
        name: format!("span {id}"),
        start: t(start),
        end: Some(t(start + 10)),
        model: None,
        tags: vec![],
        parent_ref: None,
        level: Level::Default,
        status_message: None,
        input_tokens: None,
        output_tokens: None,
        cost_usd: None,
        side: None,
        input: None,
        output: None,
        html_path: None,
        user_id: None,
    }
}

/// AgentCore observation of session `s`.
pub(crate) fn ac(id: &str, s: &str, start: i64) -> Observation {
    let mut o = obs(id, &format!("ac-{s}-{}", 1_700_000_000 + start), start);
    o.session_id = Some(format!("hybrid-{s}"));
    o.tags = vec!["path:agentcore-sonnet".into()];
    o
}

/// EKS observation of session `s`, optionally declaring the AgentCore parent.
pub(crate) fn eks(id: &str, s: &str, start: i64, parent: bool) -> Observation {
    let mut o = obs(id, &format!("eks-vllm-qwen3-abc-{:x}", start + 4096), start);
    o.session_id = Some(format!("hybrid-{s}"));
    o.model = Some("Qwen/Qwen3-4B".into());
    if parent {
        o.parent_ref = Some(format!("ac-{s}"));
    }
    o
}

const GRACE: i64 = 120_000;

#[test]
fn literal_prefixes() {
    assert_eq!(literal_prefix(r"^hybrid-(?P<session>.+)$"), "hybrid-");
    assert_eq!(literal_prefix(r"^ac-(?P<session>.+)-(?P<ts>\d+)$"), "ac-");
    assert_eq!(literal_prefix(r"^abc?(?P<session>.+)$"), "ab");
    assert_eq!(literal_prefix(r"^a\-b(?P<session>.+)$"), "a");
    assert_eq!(literal_prefix(r"^ac-x|^eks-(?P<session>.+)$"), "");
    assert_eq!(literal_prefix(r"(?i)^ac-(?P<session>.+)$"), "");
    assert_eq!(literal_prefix(r"sess-(?P<session>.+)"), "");
}

#[test]
fn matcher_shapes() {
    let r = rules();
    assert_eq!(Matcher::new(r.session_id.clone()).shape, Shape::PrefixRest);
    assert_eq!(
        Matcher::new(r.agentcore_trace.clone()).shape,
        Shape::PrefixDashDigits
    );
    assert_eq!(Matcher::new(r.eks_trace.clone()).shape, Shape::General);
    let m = Matcher::new(r.agentcore_trace.clone());
    assert_eq!(m.session("ac-s-42-1732521600"), Some("s-42"));
    assert_eq!(m.session("ac-s-42"), Some("s"));
    assert_eq!(m.session("ac-s-x"), None);
    assert_eq!(m.session("0af7651916cd43dd8448eb211c80319c"), None);
}

fn check_same(m: &Matcher, s: &str) -> Result<(), TestCaseError> {
    let re = m.re.as_ref().unwrap();
    let via_re = re
        .captures(s)
        .and_then(|c| c.name("session"))
        .map(|x| x.as_str())
        .filter(|x| !x.is_empty());
    prop_assert_eq!(m.session(s), via_re, "input {:?}", s);
    prop_assert_eq!(
        m.is_match(s),
        re.is_match(s) && (via_re.is_some() || !m.has_session),
        "input {:?}",
        s
    );
    Ok(())
}

proptest! {
    /// The literal fast paths answer exactly what the configured regexes answer.
    #[test]
    fn fast_paths_equal_regex(s in "(ac-|hybrid-|eks-|a|)[-a-z0-9٣\n]{0,12}") {
        let r = rules();
        for re in [r.session_id.clone(), r.agentcore_trace.clone(), r.eks_trace.clone()] {
            check_same(&Matcher::new(re), &s)?;
        }
        let custom = Regex::new(r"^sess:(?P<session>[a-z]+)/\d+$").unwrap();
        check_same(&Matcher::new(custom), &s)?;
    }
}

#[test]
fn session_key_precedence_and_sides() {
    let c = engine();
    let mut o = obs("1", "ac-s-1-99", 0);
    o.session_id = Some("hybrid-s-9".into());
    o.parent_ref = Some("ac-s-7".into());
    assert_eq!(c.session_key(&o), Some("s-9"), "sessionId first");
    o.session_id = Some("not-a-hybrid-id".into());
    assert_eq!(
        c.session_key(&o),
        Some("s-1"),
        "then the AgentCore trace id"
    );
    o.trace_id = "0af7651916cd43dd8448eb211c80319c".into();
    assert_eq!(c.session_key(&o), Some("s-7"), "then the parent reference");
    o.parent_ref = Some("ac-root".into());
    assert_eq!(c.session_key(&o), None, "ac-root is no session");
    // Sides: declared, then path kind, then trace pattern.
    let mut o = obs("2", "eks-pod-1-beef", 0);
    assert_eq!(c.side_of(&o), Some(Side::Eks));
    o.trace_id = "ac-s-1-5".into();
    assert_eq!(c.side_of(&o), Some(Side::Agentcore));
    o.model = Some("qwen3-4b-instruct".into());
    assert_eq!(
        c.side_of(&o),
        Some(Side::Eks),
        "path kind beats the trace pattern"
    );
    o.side = Some(Side::Agentcore);
    assert_eq!(c.side_of(&o), Some(Side::Agentcore), "declared side wins");
    o.trace_id = "0af7651916cd43dd8448eb211c80319c".into();
    o.side = None;
    o.model = None;
    assert_eq!(c.side_of(&o), None);
}

#[test]
fn path_attribution_tags_then_models() {
    let c = engine();
    let mut o = obs("1", "x", 0);
    o.model = Some("us.anthropic.CLAUDE-HAIKU-4-5".into());
    assert_eq!(c.attribute(&o), Some(1));
    o.tags = vec!["env:prod".into(), "path:agentcore-sonnet".into()];
    assert_eq!(c.attribute(&o), Some(2), "tags before models");
    o.tags = vec!["path:nope".into()];
    o.model = Some("gpt".into());
    assert_eq!(c.attribute(&o), None);
}

#[test]
fn escalation_handoffs_and_hybrid() {
    let mut c = engine();
    // s-1: EKS answers, escalates to Sonnet, back to EKS: 2 hand-offs, escalated.
    c.ingest(&eks("a", "s-1", 0, false));
    c.ingest(&ac("b", "s-1", 100));
    c.ingest(&eks("c", "s-1", 200, false));
    // s-2: AgentCore then EKS: hybrid, one hand-off, not escalated.
    c.ingest(&ac("d", "s-2", 0));
    c.ingest(&eks("e", "s-2", 50, false));
    // s-3: EKS only, no parent: not hybrid.
    c.ingest(&eks("f", "s-3", 0, false));
    c.ingest(&eks("g", "s-3", 10, false));
    // s-4: EKS only but declares an AgentCore parent that exists in time: hybrid, no orphan.
    c.ingest(&eks("h", "s-4", 0, true));
    c.ingest(&ac("i", "s-4", 5));
    let now = t(GRACE * 10);
    let get = |id: &str| c.summary(id, now).unwrap();
    let s1 = get("s-1");
    assert!(s1.hybrid && s1.escalated);
    assert_eq!(s1.handoffs, 2);
    assert_eq!(s1.sides, [Side::Agentcore, Side::Eks]);
    assert_eq!(
        s1.paths,
        [PathId::from("eks-qwen3"), PathId::from("agentcore-sonnet")]
    );
    assert_eq!(s1.spans, 3);
    assert_eq!(s1.duration_ms, 210.0);
    let s2 = get("s-2");
    assert!(s2.hybrid && !s2.escalated);
    assert_eq!(s2.handoffs, 1);
    let s3 = get("s-3");
    assert!(!s3.hybrid && !s3.escalated);
    assert_eq!(s3.handoffs, 0);
    assert_eq!(s3.sides, [Side::Eks]);
    let s4 = get("s-4");
    assert!(s4.hybrid && s4.escalated && s4.orphan_spans == 0);
    let counts = c.counts(now, Duration::from_secs(3600));
    assert_eq!(counts.total, 4);
    assert_eq!(counts.hybrid, 3);
    assert_eq!(counts.escalated, 2);
    assert_eq!(counts.handoffs, 4);
    assert_eq!(counts.orphaned, 0);
    assert_eq!(counts.context_loss_rate, Some(0.0));
    // Detail markers.
    let d = c.detail("s-1", now, false).unwrap();
    let marks: Vec<(bool, bool)> = d.spans.iter().map(|s| (s.handoff, s.escalation)).collect();
    assert_eq!(marks, [(false, false), (true, true), (true, false)]);
    assert_eq!(d.spans[1].start_ms, 100.0);
}

#[test]
fn orphan_grace_boundary() {
    // Parent appears exactly at the deadline: not an orphan.
    let mut c = engine();
    c.ingest(&eks("e", "s-1", 1_000, true));
    c.ingest(&ac("a", "s-1", 1_000 + GRACE));
    assert_eq!(c.summary("s-1", t(1_000 + GRACE)).unwrap().orphan_spans, 0);
    // One millisecond later: an orphan — but only once now has reached the deadline.
    let mut c = engine();
    c.ingest(&eks("e", "s-1", 1_000, true));
    c.ingest(&ac("a", "s-1", 1_001 + GRACE));
    assert_eq!(
        c.summary("s-1", t(999 + GRACE)).unwrap().orphan_spans,
        0,
        "pending"
    );
    assert_eq!(c.summary("s-1", t(1_000 + GRACE)).unwrap().orphan_spans, 1);
    // No parent at all.
    let mut c = engine();
    c.ingest(&eks("e", "s-2", 0, true));
    let rows = c.rows(t(10), false);
    assert_eq!(rows.rows[0].orphan_spans, 0);
    assert_eq!(rows.valid_until_ms, t(GRACE).timestamp_millis());
    let now = t(GRACE);
    let d = c.detail("s-2", now, false).unwrap();
    assert_eq!(d.spans[0].orphan_parent.as_deref(), Some("ac-s-2"));
    let n = c.counts(now, Duration::from_secs(300));
    assert_eq!((n.hybrid, n.orphaned), (1, 1));
    assert_eq!(n.context_loss_rate, Some(1.0));
    // A parent that arrives late (ingested after the deadline) but started in time clears it.
    c.ingest(&ac("late", "s-2", GRACE - 1));
    assert_eq!(c.summary("s-2", t(GRACE * 3)).unwrap().orphan_spans, 0);
    // An AgentCore observation's own parent reference (ac-root or same side) is no declaration.
    let mut c = engine();
    let mut a = ac("x", "s-5", 0);
    a.parent_ref = Some("ac-root".into());
    c.ingest(&a);
    let mut b = ac("y", "s-5", 1);
    b.parent_ref = Some("ac-s-6".into());
    c.ingest(&b);
    let s = c.summary("s-5", t(GRACE * 2)).unwrap();
    assert!(!s.hybrid && s.orphan_spans == 0);
}

#[test]
fn cross_session_parent() {
    let mut c = engine();
    let mut e = eks("e", "s-1", 0, false);
    e.parent_ref = Some("ac-s-9".into());
    c.ingest(&e);
    assert_eq!(c.summary("s-1", t(GRACE)).unwrap().orphan_spans, 1);
    c.ingest(&ac("p", "s-9", 10));
    assert_eq!(c.summary("s-1", t(GRACE)).unwrap().orphan_spans, 0);
}

#[test]
fn dedupe_and_replacement() {
    let mut c = engine();
    let mut o = eks("e", "s-1", 0, false);
    o.end = None;
    assert!(c.ingest(&o));
    assert!(!c.ingest(&o), "exact re-delivery changes nothing");
    assert_eq!(c.span_count(), 1);
    o.end = Some(t(500));
    o.cost_usd = Some(0.25);
    assert!(c.ingest(&o), "a later copy replaces");
    let s = c.summary("s-1", t(0)).unwrap();
    assert_eq!((s.spans, s.duration_ms, s.cost_usd), (1, 500.0, Some(0.25)));
    // The copy moves to another session: the first one disappears.
    o.session_id = Some("hybrid-s-2".into());
    c.ingest(&o);
    assert!(c.summary("s-1", t(0)).is_none());
    assert_eq!(c.summary("s-2", t(0)).unwrap().spans, 1);
    assert_eq!(c.session_count(), 1);
    // …and then loses its session: it is counted as unsessioned, once.
    o.session_id = None;
    o.trace_id = "0af7651916cd43dd8448eb211c80319c".into();
    c.ingest(&o);
    c.ingest(&o);
    assert_eq!(c.session_count(), 0);
    assert_eq!(c.unsessioned_since(i64::MIN), 1);
    assert_eq!(c.span_count(), 0);
}

/// Roots-first polls leave input/output out; a waterfall read whole brings them. A later poll's
/// copy (no io, say with its end time) replaces the span but keeps the io; an identical one
/// is a duplicate.
#[test]
fn a_re_read_without_io_keeps_the_io_already_held() {
    let mut c = engine();
    let mut o = eks("e", "s-1", 0, false);
    assert!(c.ingest(&o));
    let mut whole = o.clone();
    whole.input = Some("question".into());
    whole.output = Some("answer".into());
    assert!(c.ingest(&whole), "the io arrives");
    assert!(!c.ingest(&o), "the poll's copy without io changes nothing");
    o.end = Some(t(900));
    assert!(c.ingest(&o), "a real change replaces…");
    let d = c.detail("s-1", t(0), false).unwrap();
    assert_eq!(d.spans[0].duration_ms, Some(900.0));
    assert_eq!(
        d.spans[0].input.as_deref(),
        Some("question"),
        "…keeping the io"
    );
    assert_eq!(d.spans[0].output.as_deref(), Some("answer"));
    assert_eq!(c.span_count(), 1);
}

#[test]
fn owned_and_borrowed_ingest_agree() {
    let items = vec![
        eks("a", "s-1", 0, true),
        ac("b", "s-1", 50),
        eks("c", "s-2", 70, true),
    ];
    let mut x = engine();
    let mut y = engine();
    for o in &items {
        x.ingest(o);
    }
    y.ingest_batch(items);
    let now = t(GRACE * 2);
    assert_eq!(x.rows(now, false).rows, y.rows(now, false).rows);
    assert_eq!(x.detail("s-1", now, false), y.detail("s-1", now, false));
}

#[test]
fn hostile_strings_are_cleaned_and_redacted() {
    let mut c = engine();
    let mut o = eks("id\x1b[2J", "s-1", 0, false);
    o.session_id = Some("hybrid-alice@example.com\x1b]0;owned\x07".into());
    o.name = "tool\u{202E}cod.exe\x07".into();
    o.status_message = Some("connect 10.1.2.3 \x1b[31mfailed".into());
    o.input = Some("secret prompt from user-42".into());
    o.model = Some("qwen3-4b".into());
    c.ingest(&o);
    let rows = c.rows(t(0), false);
    let sid = rows.rows[0].session_id.clone();
    assert_eq!(sid, "alice@example.com");
    let d = c.detail(&sid, t(0), false).unwrap();
    assert_eq!(d.spans[0].name, "toolcod.exe");
    assert_eq!(d.spans[0].id, "id");
    assert_eq!(
        d.spans[0].status_message.as_deref(),
        Some("connect 10.1.2.3 failed")
    );
    assert!(d.spans[0].input.is_some());
    let red = c.rows(t(0), true);
    assert_eq!(red.rows[0].session_id, "***@***");
    let d = c.detail("***@***", t(0), true).unwrap();
    assert_eq!(d.session_id, "***@***");
    assert_eq!(
        d.spans[0].status_message.as_deref(),
        Some("connect x.x.x.x failed")
    );
    assert_eq!(d.spans[0].input, None);
    assert_eq!(d.spans[0].output, None);
}

#[test]
fn span_cap_keeps_earliest_regardless_of_order() {
    let mut cfg = Config::demo();
    cfg.correlation.max_spans_per_session = 3;
    let r = cfg.correlation_rules().unwrap();
    let items: Vec<Observation> = (0..6)
        .map(|i| eks(&format!("o{i}"), "s", i * 10, false))
        .collect();
    let mut fwd = Correlator::new(&r, &cfg.paths);
    let mut rev = Correlator::new(&r, &cfg.paths);
    for o in &items {
        fwd.ingest(o);
    }
    for o in items.iter().rev() {
        rev.ingest(o);
    }
    let ids = |c: &Correlator| -> Vec<String> {
        c.detail("s", t(0), false)
            .unwrap()
            .spans
            .into_iter()
            .map(|s| s.id)
            .collect()
    };
    assert_eq!(ids(&fwd), ["o0", "o1", "o2"]);
    assert_eq!(ids(&rev), ids(&fwd));
    assert_eq!(fwd.span_count(), 3);
    assert_eq!(rev.span_count(), 3);
}

#[test]
fn retention_and_max_sessions() {
    let mut cfg = Config::demo();
    cfg.correlation.max_sessions = 10;
    cfg.correlation.retention = Duration::from_secs(60);
    let r = cfg.correlation_rules().unwrap();
    let mut c = Correlator::new(&r, &cfg.paths);
    for i in 0..50 {
        c.ingest(&ac(&format!("o{i}"), &format!("s{i}"), i * 1000));
        assert!(
            c.session_count() <= 10 + 1,
            "slack of max_sessions / 8, at least 1"
        );
    }
    c.enforce_bounds();
    assert_eq!(c.session_count(), 10);
    // The newest survive.
    assert!(c.summary("s49", t(0)).is_some());
    assert!(c.summary("s39", t(0)).is_none());
    assert_eq!(c.span_count(), 10);
    // The cap pushed out sessions active up to s39's 39.01 s: a window reaching back that far
    // is short of them, one starting after is whole.
    assert_eq!(c.capped_since(t(39_000).timestamp_millis()), Some(10));
    assert_eq!(c.capped_since(t(39_011).timestamp_millis()), None);
    // Retention: idle for more than 60 s → gone.
    c.sweep(t(40_010 + 60_000));
    assert_eq!(
        c.session_count(),
        10,
        "s40 ended at 40.01 s: exactly 60 s idle is kept"
    );
    c.sweep(t(30_000));
    assert_eq!(c.session_count(), 10, "sweep time never goes backwards");
    c.sweep(t(49_010 + 60_001));
    assert_eq!(c.session_count(), 0);
    assert_eq!(c.span_count(), 0);
    // Observations older than the retention horizon are refused.
    assert!(!c.ingest(&ac("old", "s-old", 0)));
    assert_eq!(c.stats().dropped_old, 1);
}

/// A small hybrid-ish observation set with unique ids.
fn arb_set() -> impl Strategy<Value = Vec<Observation>> {
    proptest::collection::vec(
        (0u8..6, 0u8..6, 0i64..400_000, any::<bool>(), 0u8..3),
        1..40,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (sess, kind, start, parent, lvl))| {
                let s = format!("s-{sess}");
                let id = format!("o{i}");
                // OpenTelemetry shapes: 32-hex trace ids shared by several spans of a session,
                // only some of which match a path (side inherited from the trace).
                let otel = |eks: bool| {
                    let tr = u128::from(sess) * 4 + u128::from(eks) * 2 + (start % 2) as u128;
                    let mut o = obs(&id, &format!("{tr:032x}"), start);
                    o.session_id = Some(format!("hybrid-{s}"));
                    o
                };
                let mut o = match kind {
                    4 => {
                        let mut o = otel(parent);
                        o.model = Some(
                            if parent {
                                "qwen3-4b"
                            } else {
                                "claude-sonnet-4-5"
                            }
                            .into(),
                        );
                        o
                    }
                    5 => {
                        let mut o = otel(parent);
                        if parent {
                            o.parent_ref = Some(format!("ac-{s}"));
                        }
                        o
                    }
                    0 => ac(&id, &s, start),
                    1 => eks(&id, &s, start, parent),
                    2 => {
                        // No sessionId: keyed by the parent reference, side from the trace.
                        let mut o = obs(&id, "eks-pod-ab-12", start);
                        o.parent_ref = Some(format!("ac-{s}"));
                        o
                    }
                    _ => obs(&id, "0af7651916cd43dd8448eb211c80319c", start),
                };
                o.level = [Level::Default, Level::Warning, Level::Error][lvl as usize];
                o.cost_usd = Some(0.001 * (i as f64));
                o
            })
            .collect()
    })
}

fn summarise(c: &Correlator, now: DateTime<Utc>) -> (Vec<SessionRow>, SessionCounts, u64) {
    (
        c.rows(now, false).rows,
        c.counts(now, Duration::from_secs(600)),
        c.unsessioned_since(i64::MIN),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Any interleaving of the same observation set, with duplicates, gives the same summary.
    #[test]
    fn order_and_duplicates_do_not_matter(
        set in arb_set(),
        perm_seed in any::<u64>(),
        dups in proptest::collection::vec(any::<prop::sample::Index>(), 0..20),
        now_off in 0i64..600_000,
    ) {
        use rand::seq::SliceRandom;
        use rand::SeedableRng;
        let mut stream: Vec<Observation> = set.clone();
        for d in &dups {
            stream.push(set[d.index(set.len())].clone());
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(perm_seed);
        stream.shuffle(&mut rng);
        let mut a = engine();
        for o in &set { a.ingest(o); }
        let mut b = engine();
        // Mixed delivery: some borrowed, some owned in batches.
        let (first, rest) = stream.split_at(stream.len() / 2);
        for o in first { b.ingest(o); }
        b.ingest_batch(rest.to_vec());
        let now = t(now_off);
        prop_assert_eq!(summarise(&a, now), summarise(&b, now));
        prop_assert_eq!(a.span_count(), b.span_count());
        for r in &a.rows(now, false).rows {
            prop_assert_eq!(a.detail(&r.session_id, now, false), b.detail(&r.session_id, now, false));
        }
    }

    /// Bounds hold whatever arrives and whenever sweeps run.
    #[test]
    fn retention_bounds_hold(
        batches in proptest::collection::vec(
            proptest::collection::vec((0u16..200, 0i64..3_000_000, any::<bool>()), 0..60), 1..8),
        max_sessions in 1usize..20,
        max_spans in 1usize..6,
        retention_s in 1u64..900,
    ) {
        let mut cfg = Config::demo();
        cfg.correlation.max_sessions = max_sessions;
        cfg.correlation.max_spans_per_session = max_spans;
        cfg.correlation.retention = Duration::from_secs(retention_s);
        let r = cfg.correlation_rules().unwrap();
        let mut c = Correlator::new(&r, &cfg.paths);
        let mut n = 0;
        let mut now = 0i64;
        for batch in batches {
            let items: Vec<Observation> = batch.into_iter().map(|(s, start, side)| {
                n += 1;
                let sid = format!("s{}", s % 40);
                if side { ac(&format!("o{}", n % 150), &sid, start) } else { eks(&format!("o{}", n % 150), &sid, start, true) }
            }).collect();
            c.ingest_batch(items);
            prop_assert!(c.session_count() <= max_sessions);
            prop_assert!(c.max_spans_in_a_session() <= max_spans);
            now += 400_000;
            c.sweep(t(now));
            prop_assert!(c.session_count() <= max_sessions);
            let cut = t(now).timestamp_millis() - (retention_s as i64) * 1000;
            let rows = c.rows(t(now), false);
            prop_assert!(rows.last_activity_ms.iter().all(|&l| l >= cut));
            // Every kept span is findable by id and nothing else is.
            let spans: usize = rows.rows.iter().map(|r| r.spans as usize).sum();
            prop_assert_eq!(spans, c.span_count());
        }
    }
}

#[test]
fn packed_texts_round_trip() {
    let t = Texts::build([
        (Some("id-1"), MAX_ID),
        (Some(""), MAX_FIELD),
        (None, MAX_FIELD),
        (Some("naïve name"), MAX_FIELD),
        (None, MAX_FIELD),
        (Some(&"é".repeat(400)), MAX_STATUS),
        (None, MAX_PAYLOAD),
        (Some("out"), MAX_PAYLOAD),
        (None, MAX_FIELD),
        (Some("ac-s-1"), MAX_FIELD),
        (Some("user-7"), MAX_FIELD),
    ]);
    assert_eq!(t.get(F_ID), Some("id-1"));
    assert_eq!(t.get(F_TRACE), Some(""), "present but empty");
    assert_eq!(t.get(F_POBS), None);
    assert_eq!(t.get(F_NAME), Some("naïve name"));
    assert_eq!(t.get(F_MODEL), None);
    // Cut at a char boundary within the cap.
    assert_eq!(t.get(F_STATUS).map(str::len), Some(512));
    assert_eq!(t.get(F_INPUT), None);
    assert_eq!(t.get(F_OUTPUT), Some("out"));
    assert_eq!(t.get(F_PARENT), Some("ac-s-1"));
    assert_eq!(t.get(F_USER), Some("user-7"));
}

#[test]
fn id_hash_spreads_without_collisions() {
    let seed = 12345;
    let mut seen = std::collections::HashSet::new();
    for i in 0..200_000u64 {
        for id in [
            format!("{i:x}-{}", i % 9),
            format!("obs-{i}"),
            format!("{i}"),
        ] {
            seen.insert((hash_str(seed, &id), id));
        }
    }
    let hashes: std::collections::HashSet<u64> = seen.iter().map(|(h, _)| *h).collect();
    assert_eq!(hashes.len(), seen.len());
    assert_ne!(hash_str(1, "a"), hash_str(2, "a"), "keyed");
    assert_ne!(hash_str(1, ""), hash_str(1, "\0"));
}

#[test]
fn state_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Correlator>();
    check::<crate::model::state::State>();
}

/// Over OpenTelemetry only the generation matches a path: the trace's other spans (root, the
/// tool call that declares the AgentCore parent) take its side, whatever the arrival order.
#[test]
fn unsided_spans_inherit_their_traces_side() {
    let eks_trace = "0af7651916cd43dd8448eb211c80319c";
    let ac_trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mk = |id: &str, trace: &str, start: i64| {
        let mut o = obs(id, trace, start);
        o.session_id = Some("hybrid-s-otel".into());
        o
    };
    let mut root = mk("e-root", eks_trace, 0);
    root.end = Some(t(900));
    let mut gen = mk("e-gen", eks_trace, 10);
    gen.model = Some("qwen3-4b".into());
    gen.parent_observation_id = Some("e-root".into());
    let mut call = mk("e-call", eks_trace, 300);
    call.parent_ref = Some("ac-s-otel".into());
    call.parent_observation_id = Some("e-root".into());
    let ac_root = mk("a-root", ac_trace, 320);
    let mut ac_gen = mk("a-gen", ac_trace, 330);
    ac_gen.model = Some("us.anthropic.claude-sonnet-4-5".into());
    let all = [root, gen, call, ac_root, ac_gen];
    let now = t(GRACE + 10_000);
    let mut expected = None;
    for order in [[0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 3, 0, 4, 1]] {
        let mut c = engine();
        for i in order {
            c.ingest(&all[i]);
        }
        let row = c.summary("s-otel", now).unwrap();
        assert_eq!(row.sides, vec![Side::Agentcore, Side::Eks]);
        assert!(row.hybrid && row.escalated, "{row:?}");
        assert_eq!(row.handoffs, 1);
        assert_eq!(
            row.orphan_spans, 0,
            "the AgentCore root is the declared parent"
        );
        let d = c.detail("s-otel", now, false).unwrap();
        let sides: Vec<_> = d.spans.iter().map(|s| s.side).collect();
        assert_eq!(
            sides,
            vec![
                Some(Side::Eks),
                Some(Side::Eks),
                Some(Side::Eks),
                Some(Side::Agentcore),
                Some(Side::Agentcore)
            ]
        );
        assert!(d.spans.iter().all(|s| s.path.is_some()));
        match &expected {
            None => expected = Some((row, d)),
            Some(e) => assert_eq!(e, &(row, d)),
        }
    }
    // Without the AgentCore trace the declaring span of unknown side makes an orphan.
    let mut c = engine();
    for o in &all[..3] {
        c.ingest(o);
    }
    let row = c.summary("s-otel", now).unwrap();
    assert!(row.hybrid && !row.escalated);
    assert_eq!(row.orphan_spans, 1);
}

#[test]
fn spans_stay_compact_and_keep_their_numbers() {
    // 1M retained spans must fit in 300 MB; the span record is most of it.
    assert!(
        std::mem::size_of::<Span>() <= 80,
        "{}",
        std::mem::size_of::<Span>()
    );
    let mut c = engine();
    let mut o = eks("e", "s-1", 0, false);
    o.end = Some(t(1_234));
    o.input_tokens = Some(7);
    o.output_tokens = Some(u64::MAX);
    o.cost_usd = Some(0.0004);
    c.ingest(&o);
    let d = c.detail("s-1", t(0), false).unwrap();
    let s = &d.spans[0];
    assert_eq!(s.duration_ms, Some(1_234.0));
    assert_eq!(s.input_tokens, Some(7));
    assert_eq!(s.output_tokens, Some(u64::from(u32::MAX - 1)), "saturates");
    assert_eq!(s.cost_usd, Some(0.0004));
    let mut none = eks("f", "s-2", 0, false);
    none.end = None;
    c.ingest(&none);
    let d = c.detail("s-2", t(0), false).unwrap();
    let s = &d.spans[0];
    assert_eq!(
        (s.duration_ms, s.input_tokens, s.cost_usd),
        (None, None, None)
    );
}
