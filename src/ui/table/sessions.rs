//! Session rows, drawn the same in the Traces list and the Overview's recent hybrid sessions.
use super::{position, Column, Text, Width};
use crate::model::snapshot::SessionRow;
use crate::ui::paint::{Ctx, Cursor, Tier};
use crate::ui::{parts, text};
use ratatui::buffer::Buffer;

type Session = Column<SessionRow>;

/// The Traces list's columns.
pub const LIST: [Column<SessionRow>; 10] = [
    Session::text("session", Width::grow(16, 36), |s, cx| {
        (s.session_id.as_str().into(), cx.st.text)
    }),
    Session::text("side", Width::Fixed(4), |s, cx| {
        let long = cx.tier == Tier::Wide;
        (parts::sides_text(&s.sides, long).into(), cx.st.text)
    })
    .tier(Tier::Wide, Width::Fixed(13)),
    Session::text("paths", Width::fill(8), paths),
    Session::text("spans", Width::Fixed(5), |s, cx| {
        (s.spans.to_string().into(), cx.st.text)
    })
    .right(),
    Session::text("dur", Width::Fixed(7), |s, cx| {
        (text::duration_ms(s.duration_ms).into(), cx.st.text)
    })
    .right(),
    Session::text("cost", Width::Fixed(8), |s, cx| {
        (text::usd(s.cost_usd, 4, cx.g.none).into(), cx.st.text)
    })
    .right(),
    Session::text("started", Width::Fixed(8), |s, cx| {
        (
            s.started_at.format("%H:%M:%S").to_string().into(),
            cx.st.dim,
        )
    })
    .right()
    .only(Tier::Wide),
    Session::text("ho", Width::Fixed(3), |s, cx| {
        (s.handoffs.to_string().into(), cx.st.text)
    })
    .right()
    .only(Tier::Wide),
    Session::text("err", Width::Fixed(3), |s, cx| {
        let style = if s.errors > 0 { cx.st.crit } else { cx.st.text };
        (s.errors.to_string().into(), style)
    })
    .right()
    .only(Tier::Wide),
    Session::draw("flags", Width::Fixed(12), |buf, (x, y, w), s, cx| {
        let mut c = Cursor { x, y, end: x + w };
        session_flags(buf, &mut c, s.escalated, s.orphan_spans, cx);
    }),
];

/// The Overview's recent hybrid sessions: the same, with no room for cost at 80 columns.
pub const RECENT: [Column<SessionRow>; 10] = {
    let mut cols = LIST;
    let cost = position(&LIST, "cost");
    cols[cost] = cols[cost].tier(Tier::Compact, Width::None);
    cols
};

fn paths<'a>(s: &'a SessionRow, cx: &Ctx) -> Text<'a> {
    let t = match s.paths.as_slice() {
        [one] => one.as_str().into(),
        many => {
            let mut t = String::with_capacity(many.len() * 16);
            for (i, p) in many.iter().enumerate() {
                if i > 0 {
                    t.push(',');
                }
                t.push_str(p.as_str());
            }
            t.into()
        }
    };
    (t, cx.st.dim)
}

/// `↑esc ?1orph` — escalation and orphans, each with a symbol and a word.
pub fn session_flags(buf: &mut Buffer, c: &mut Cursor, escalated: bool, orphans: u32, cx: &Ctx) {
    let (st, g) = (cx.st, cx.g);
    if escalated {
        c.text(buf, g.escalation, st.warn, g);
        c.text(buf, "esc", st.warn, g);
        c.skip(1);
    }
    if orphans > 0 {
        c.text(buf, g.orphan, st.crit, g);
        c.text(buf, &format!("{orphans}orph"), st.crit, g);
    }
}
