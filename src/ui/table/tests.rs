// Test-only: the parent declares this module under #[cfg(test)].
use super::layout::Layout;
use super::rows::{scroll_offset, sorted_window, window, Rows};
use super::*;
use crate::ui::paint::Ctx;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

#[test]
fn window_matches_two_pass_scrolling() {
    let items: Vec<u32> = (0..100).collect();
    for rows in [0usize, 1, 5, 10, 200] {
        for sel in [0usize, 3, 9, 10, 33, 49, 50, 99, 500] {
            let pred = |x: &u32| x.is_multiple_of(2);
            let w = window(&items, pred, rows, sel);
            let n = items.iter().filter(|x| pred(x)).count();
            assert_eq!(w.n, n);
            if n == 0 {
                continue;
            }
            let s = sel.min(n - 1);
            let off = scroll_offset(n, rows, s);
            assert_eq!((w.selected, w.offset), (s, off), "rows {rows} sel {sel}");
            let expect: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, x)| pred(x))
                .skip(off)
                .take(rows)
                .map(|(i, _)| i)
                .collect();
            assert_eq!(w.rows, expect, "rows {rows} sel {sel}");
        }
    }
}

use crate::ui::fixture::sample_snapshot;
use crate::ui::glyphs::Glyphs;
use crate::ui::state::UiState;
use crate::ui::theme::Theme;

/// A row of words, one per column, for layouts that measure their content.
struct Words([&'static str; 3]);

type W = Column<Words>;

fn with_ctx(tier: Tier, f: impl FnOnce(&Ctx)) {
    let snap = sample_snapshot();
    let ui = UiState::default();
    let theme = Theme::default();
    let cx = Ctx {
        snap: &snap,
        ui: &ui,
        st: &theme.styles,
        g: Glyphs::get(false),
        tier,
    };
    f(&cx);
}

fn widths<T>(l: &Layout<T>) -> Vec<(&'static str, u16)> {
    l.widths().collect()
}

const NODE_REASON: [Column<Words>; 3] = [
    W::text("name", Width::Fixed(10), |r, cx| {
        (r.0[0].into(), cx.st.text)
    }),
    W::text("node", Width::grow(6, 40), |r, cx| {
        (r.0[1].into(), cx.st.text)
    }),
    W::text("reason", Width::fill(6), |r, cx| {
        (r.0[2].into(), cx.st.text)
    }),
];

#[test]
fn a_filling_column_fits_the_table_exactly() {
    with_ctx(Tier::Standard, |cx| {
        let rows = [Words(["a", "b", "c"])];
        for w in [40u16, 77, 200] {
            let l = Layout::new(&NODE_REASON, Rect::new(3, 0, w, 1), true, cx, &rows);
            let sum: u16 = l.widths().map(|(_, w)| w + 1).sum();
            // The mark and its gap, then each column and the gap before the next.
            assert_eq!(2 + sum - 1, w, "{w}: {:?}", widths(&l));
        }
    });
}

#[test]
fn spare_width_goes_to_the_content_that_needs_it() {
    with_ctx(Tier::Standard, |cx| {
        let long_node = "ip-10-0-3-152.us-east-2.compute.internal";
        // The node is cut to its minimum no more while the reasons are short.
        let rows = [
            Words(["pod-a", long_node, ""]),
            Words(["pod-b", "ip-1", ""]),
        ];
        let l = Layout::new(&NODE_REASON, Rect::new(0, 0, 80, 1), false, cx, &rows);
        assert_eq!(widths(&l), [("name", 10), ("node", 40), ("reason", 28)]);
        // Both want more than there is: 44 cells shared out by what each still needs (34 and
        // 57), the odd cell to the larger remainder.
        let reason = "Unschedulable: 0/6 nodes available: insufficient nvidia.com/gpu";
        let rows = [Words(["pod-a", long_node, reason])];
        let l = Layout::new(&NODE_REASON, Rect::new(0, 0, 68, 1), false, cx, &rows);
        assert_eq!(widths(&l), [("name", 10), ("node", 22), ("reason", 34)]);
        // Never below the minimum, whatever the width.
        let l = Layout::new(&NODE_REASON, Rect::new(0, 0, 20, 1), false, cx, &rows);
        assert_eq!(widths(&l), [("name", 10), ("node", 6), ("reason", 6)]);
        // Headings count as content.
        let l = Layout::new(&NODE_REASON, Rect::new(0, 0, 80, 1), false, cx, &[]);
        assert_eq!(widths(&l), [("name", 10), ("node", 6), ("reason", 62)]);
    });
}

#[test]
fn shares_split_the_rest_in_order_within_bounds() {
    const BARS: [Column<Words>; 3] = [
        W::text("label", Width::Of(|w| w / 4), |r, cx| {
            (r.0[0].into(), cx.st.text)
        }),
        W::text(
            "bar",
            Width::Flex {
                min: 6,
                max: 30,
                share: 1,
            },
            |r, cx| (r.0[1].into(), cx.st.text),
        ),
        W::text("trend", Width::fill(0), |r, cx| (r.0[2].into(), cx.st.text)).gap_at_end(),
    ];
    with_ctx(Tier::Wide, |cx| {
        let rows = [Words(["x", "y", "z"])];
        // 60 cells: label 15, two gaps and the end's: 42 for the bar and the trend.
        let l = Layout::new(&BARS, Rect::new(0, 0, 60, 1), false, cx, &rows);
        assert_eq!(widths(&l), [("label", 15), ("bar", 21), ("trend", 21)]);
        // The odd cell to the first.
        let l = Layout::new(&BARS, Rect::new(0, 0, 61, 1), false, cx, &rows);
        assert_eq!(widths(&l), [("label", 15), ("bar", 22), ("trend", 21)]);
        let l = Layout::new(&BARS, Rect::new(0, 0, 160, 1), false, cx, &rows);
        assert_eq!(widths(&l), [("label", 40), ("bar", 30), ("trend", 87)]);
        let l = Layout::new(&BARS, Rect::new(0, 0, 20, 1), false, cx, &rows);
        assert_eq!(widths(&l), [("label", 5), ("bar", 6), ("trend", 6)]);
    });
}

#[test]
fn columns_show_in_their_tiers_and_from_their_widths() {
    const COLS: [Column<Words>; 3] = [
        W::text("a", Width::Fixed(3), |r, cx| (r.0[0].into(), cx.st.text)),
        W::text("b", Width::Fixed(3), |r, cx| (r.0[1].into(), cx.st.text)).only(Tier::Wide),
        W::text("c", Width::Fixed(3), |r, cx| (r.0[2].into(), cx.st.text))
            .tier(Tier::Compact, Width::None)
            .from(50),
    ];
    let names = |tier, w| {
        let mut out = Vec::new();
        with_ctx(tier, |cx| {
            let l = Layout::new(&COLS, Rect::new(0, 0, w, 1), false, cx, &[]);
            out = l.widths().map(|(n, _)| n).collect();
        });
        out
    };
    assert_eq!(names(Tier::Compact, 80), ["a"]);
    assert_eq!(names(Tier::Standard, 49), ["a"]);
    assert_eq!(names(Tier::Standard, 50), ["a", "c"]);
    assert_eq!(names(Tier::Wide, 50), ["a", "b", "c"]);
}

/// What the buffer shows on row `y` from `x` to the next blank.
fn word_at(buf: &Buffer, x: u16, y: u16) -> String {
    (x..buf.area.right())
        .map(|x| buf[(x, y)].symbol().to_string())
        .take_while(|s| s != " ")
        .collect()
}

#[test]
fn mouse_hits_land_on_the_column_and_row_drawn() {
    with_ctx(Tier::Standard, |cx| {
        let area = Rect::new(2, 1, 60, 6);
        let mut buf = Buffer::empty(Rect::new(0, 0, 64, 8));
        let rows = [
            Words(["alpha", "node-1", "ok"]),
            Words(["beta", "node-22", "CrashLoop"]),
        ];
        let l = Layout::new(&NODE_REASON, area, true, cx, &rows);
        l.head(&mut buf, area.y, cx, None, None);
        for (k, r) in rows.iter().enumerate() {
            l.row(&mut buf, area.y + 1 + k as u16, r, k == 1, cx);
        }
        for x in area.x..area.right() {
            if let Some(name) = l.col_at(x) {
                let (at, _) = l.span(name).unwrap();
                assert_eq!(word_at(&buf, at, area.y), name, "x {x}");
                assert!(x >= at, "x {x}");
            }
        }
        assert_eq!(l.col_at(area.x), None, "the selection mark");
        assert_eq!(l.col_at(area.x + 2), Some("name"));
        let (nx, _) = l.span("node").unwrap();
        assert_eq!(word_at(&buf, nx, area.y + 2), "node-22");
        assert_eq!(buf[(area.x, area.y + 2)].symbol(), cx.g.select);
        let win = window(&rows, |_| true, 4, 1);
        let at = Rows::new(area.y + 1, 4, &win);
        assert_eq!(
            (area.y..area.y + 6).map(|y| at.at(y)).collect::<Vec<_>>(),
            [None, Some(0), Some(1), None, None, None]
        );
    });
}

#[test]
fn the_sorted_column_carries_the_mark_shortened_to_fit() {
    const COLS: [Column<Words>; 2] = [
        W::text("ready", Width::Fixed(5), |r, cx| {
            (r.0[0].into(), cx.st.text)
        })
        .short("rdy")
        .sort(|a, b| a.0[0].cmp(b.0[0])),
        W::text("age", Width::Fixed(5), |r, cx| (r.0[1].into(), cx.st.text))
            .sort(|a, b| a.0[1].cmp(b.0[1])),
    ];
    with_ctx(Tier::Standard, |cx| {
        let mut buf = Buffer::empty(Rect::new(0, 0, 20, 1));
        let l = Layout::new(&COLS, buf.area, false, cx, &[]);
        l.head(&mut buf, 0, cx, Some("ready"), None);
        assert_eq!(word_at(&buf, 0, 0), "rdy↓");
        let mut buf = Buffer::empty(Rect::new(0, 0, 20, 1));
        l.head(&mut buf, 0, cx, Some("age"), None);
        assert_eq!(
            (word_at(&buf, 0, 0), word_at(&buf, 6, 0)),
            ("ready".into(), "age↓".into())
        );
    });
    let rows = [
        Words(["b", "2", ""]),
        Words(["a", "9", ""]),
        Words(["c", "1", ""]),
    ];
    let by = sort_of(&COLS, "age");
    let w = sorted_window(&rows, |_| true, by, 2, 0);
    assert_eq!(w.rows, [2, 0]);
    assert!(sort_of(&COLS, "name").is_none());
}
