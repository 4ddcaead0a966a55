//! The weights editor and review dialog: an overlay on whatever view is open. It shows the
//! proposal, its cost and capacity effect, and the guard's word before anything is written.
use super::paint::{panel, put, put_right, Bare, Ctx, Focus};
use super::state::WeightsUi;
use super::text::{usd, width};
use crate::action::Action;
use crate::model::editor::Stage;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

pub fn draw(buf: &mut Buffer, body: Rect, cx: &Ctx, w: &WeightsUi) {
    let (st, g) = (cx.st, cx.g);
    let ed = &w.editor;
    let rows = w.preview.paths.len() as u16;
    let notes = w.preview.notes.len().min(3) as u16;
    let height = (rows + 10 + notes + u16::from(ed.changed_underneath.is_some())).min(body.height);
    let width_ = body.width.saturating_sub(4).min(86);
    let area = Rect::new(
        body.x + (body.width - width_) / 2,
        body.y + body.height.saturating_sub(height) / 2,
        width_,
        height,
    );
    super::paint::clear_overlay(buf, area, st.text);
    let title = match (&ed.stage, ed.is_undo) {
        (Stage::Editing, _) => format!("Router weights · {}", target(w)),
        (_, true) => format!("Undo last change · {}", target(w)),
        (_, false) => format!("Review change · {}", target(w)),
    };
    let inner = panel(buf, area, &title, Focus::Always, Bare::Boxed, cx).inner;
    if inner.height == 0 || inner.width < 20 {
        return;
    }
    let mut y = inner.y;
    let bottom = inner.bottom();
    let x = inner.x + 1;
    let wdt = inner.width.saturating_sub(2);
    let label_w = wdt.saturating_sub(50).clamp(8, 22);
    // Header.
    let head = format!(
        "{:<lw$} {:>5} {:>5} {:>5}  {:>30}",
        "path",
        "now",
        "new",
        "Δ",
        "modelled $/month now → new",
        lw = label_w as usize
    );
    put(buf, x, y, wdt, &head, st.table_header, g);
    y += 1;
    for (i, p) in w.preview.paths.iter().enumerate() {
        if y >= bottom {
            return;
        }
        let selected = ed.stage == Stage::Editing && i == ed.selected;
        let delta = i64::from(p.to) - i64::from(p.from);
        let d = if delta == 0 {
            "·".to_string()
        } else {
            format!("{delta:+}")
        };
        let money = format!(
            "{} → {}",
            usd(p.usd_month_now, 0, g.none),
            usd(p.usd_month_after, 0, g.none)
        );
        let marker = if selected { g.select } else { " " };
        let label = super::paint::fit(&p.label, label_w.saturating_sub(2) as usize, g);
        let line = format!(
            "{marker} {label:<lw$} {:>4}% {:>4}% {d:>5}  {money:>30}",
            p.from,
            p.to,
            lw = label_w.saturating_sub(2) as usize
        );
        let style = if selected {
            st.text.patch(st.selection)
        } else if delta != 0 {
            st.accent
        } else {
            st.text
        };
        put(buf, x, y, wdt, &line, style, g);
        y += 1;
    }
    if y < bottom {
        let change = match (w.preview.total_now, w.preview.total_after) {
            (Some(a), Some(b)) => {
                let d = b - a;
                let sign = if d >= 0.0 { "+" } else { "-" };
                format!(
                    "{} → {} ({sign}{}/month)",
                    usd(Some(a), 0, g.none),
                    usd(Some(b), 0, g.none),
                    usd(Some(d.abs()), 0, g.none)
                )
            }
            _ => format!("{} (cost unknown)", g.none),
        };
        let line = format!(
            "{:<lw$} moves {:>2} points   {change}",
            "  total",
            ed.points_moved(),
            lw = label_w as usize
        );
        put(buf, x, y, wdt, &line, st.title, g);
        y += 1;
    }
    if y < bottom {
        // The observed figure is for reference: the delta above is the model's alone, so a
        // change that moves nothing costs nothing.
        let line = format!(
            "  observed now {}/month, from metrics (not part of the change)",
            usd(w.preview.total_observed, 0, g.none),
        );
        put(buf, x, y, wdt, &line, st.dim, g);
        y += 1;
    }
    for e in &w.preview.eks {
        if y >= bottom {
            return;
        }
        let ok = e.pods_needed <= e.ready_pods && e.pods_needed_now <= e.ready_pods;
        let (mark, style) = if ok { (g.ok, st.ok) } else { (g.warn, st.warn) };
        let ready = format!(
            "{}: {} ready pod{}",
            e.id,
            e.ready_pods,
            if e.ready_pods == 1 { "" } else { "s" }
        );
        let line = if e.changed {
            format!(
                "{mark} {ready}, the new share needs {} (the current {})",
                e.pods_needed, e.pods_needed_now
            )
        } else {
            format!(
                "{mark} {ready}, the current share needs {}",
                e.pods_needed_now
            )
        };
        put(buf, x, y, wdt, &line, style, g);
        y += 1;
    }
    for n in w.preview.notes.iter().take(3) {
        if y >= bottom {
            return;
        }
        put(buf, x, y, wdt, &format!("{} {n}", g.warn), st.warn, g);
        y += 1;
    }
    if let Some(now) = &ed.changed_underneath {
        if y < bottom {
            let line = format!(
                "{} the router changed since this opened: now {}",
                g.warn,
                now.to_text()
            );
            put(buf, x, y, wdt, &line, st.crit, g);
            y += 1;
        }
    }
    // Reason, message and keys sit at the bottom of the box.
    let keys_y = bottom.saturating_sub(1);
    let msg_y = keys_y.saturating_sub(1);
    let reason_y = msg_y.saturating_sub(1);
    if ed.stage != Stage::Editing && reason_y >= y {
        let cursor = if ed.reason_editing { g.cursor } else { "" };
        let shown = if ed.reason.is_empty() && !ed.reason_editing {
            "(none — r to add)".to_string()
        } else {
            format!("{}{cursor}", ed.reason)
        };
        let style = if ed.reason_editing {
            st.filter
        } else {
            st.text
        };
        let used = put(buf, x, reason_y, wdt, "reason: ", st.dim, g);
        put(
            buf,
            x + used,
            reason_y,
            wdt.saturating_sub(used),
            &shown,
            style,
            g,
        );
    }
    if msg_y >= y {
        let (text, style) = if w.applying {
            ("applying…".to_string(), st.info)
        } else if let Some(m) = &ed.message {
            let style = if matches!(ed.stage, Stage::ConfirmForce { .. }) {
                st.crit
            } else {
                st.warn
            };
            (format!("{} {m}", g.warn), style)
        } else {
            (String::new(), st.text)
        };
        put(buf, x, msg_y, wdt, &text, style, g);
    }
    let keys = key_hints(cx, w);
    if width(&keys) <= wdt as usize {
        put_right(buf, x, keys_y, wdt, &keys, st.key, g);
    } else {
        put(buf, x, keys_y, wdt, &keys, st.key, g);
    }
}

/// The dialog's key line, from the keymap (`Action::ALL`'s editor, review and reason rows).
fn key_hints(cx: &Ctx, w: &WeightsUi) -> String {
    let km = &cx.ui.keymap;
    let k = |a: Action| km.label(a);
    let kh = |a: Action| format!("{} {}", km.label(a), a.hint());
    if w.editor.reason_editing {
        return format!("type the reason  {}", kh(Action::ReasonDone));
    }
    match w.editor.stage {
        Stage::Editing => format!(
            "{}/{} {}  {}/{} {} {}  {}  {}",
            k(Action::EditorDown),
            k(Action::EditorUp),
            Action::EditorDown.hint(),
            k(Action::EditorMore),
            k(Action::EditorLess),
            w.step,
            Action::EditorMore.hint(),
            kh(Action::EditorReview),
            kh(Action::EditorCancel),
        ),
        Stage::Review => format!(
            "{}  {}  {}",
            kh(Action::ReviewApply),
            kh(Action::ReviewBack),
            kh(Action::ReviewReason)
        ),
        Stage::ConfirmForce { .. } => format!(
            "{} force it  {}",
            k(Action::ReviewApply),
            kh(Action::ReviewBack)
        ),
    }
}

fn target(w: &WeightsUi) -> String {
    match &w.target {
        Some(t) => format!("{} {t}", w.backend),
        None => w.backend.clone(),
    }
}
