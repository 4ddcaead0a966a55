// Test-only: the parent declares this module under #[cfg(test)].
//! View tests: insta snapshots of `TestBackend` buffers with styles, themes, ASCII mode, resize.
use super::fixture::{live_fleet_trouble, sample_snapshot, snapshot_with_pods, OPEN_SESSION};
use super::state::{FleetPane, PodSort, Toast, ToastLevel, UiState, View};
use super::theme::{Styles, Theme, ThemeError};
use super::{buffer_text, buffer_to_styled_text, draw};
use crate::model::snapshot::Snapshot;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use ratatui::Terminal;

fn render(w: u16, h: u16, snap: &Snapshot, ui: &UiState, theme: &Theme) -> Buffer {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| draw(f, snap, ui, theme)).unwrap();
    term.backend().buffer().clone()
}

fn ui_for(view: View) -> UiState {
    UiState {
        view,
        ..UiState::default()
    }
}

fn dark() -> Theme {
    Theme::builtin("default").unwrap()
}

fn styled(w: u16, h: u16, ui: &UiState) -> String {
    buffer_to_styled_text(&render(w, h, &sample_snapshot(), ui, &dark()))
}

macro_rules! view_snapshots {
    ($($name:ident: $view:expr, $w:expr, $h:expr;)*) => {$(
        #[test]
        fn $name() {
            insta::assert_snapshot!(styled($w, $h, &ui_for($view)));
        }
    )*};
}

view_snapshots! {
    overview_80x24: View::Overview, 80, 24;
    overview_200x50: View::Overview, 200, 50;
    overview_120x40: View::Overview, 120, 40;
    traces_80x24: View::Traces, 80, 24;
    traces_200x50: View::Traces, 200, 50;
    fleet_80x24: View::Fleet, 80, 24;
    fleet_200x50: View::Fleet, 200, 50;
    cost_80x24: View::Cost, 80, 24;
    cost_200x50: View::Cost, 200, 50;
    help_80x24: View::Help, 80, 24;
    help_200x50: View::Help, 200, 50;
}

fn waterfall_ui() -> UiState {
    let mut ui = ui_for(View::Traces);
    ui.traces.selected = 2;
    ui.traces.open = Some(OPEN_SESSION.to_string());
    ui.traces.span_selected = 4;
    ui
}

#[test]
fn traces_waterfall_80x24() {
    insta::assert_snapshot!(styled(80, 24, &waterfall_ui()));
}

#[test]
fn traces_waterfall_200x50() {
    insta::assert_snapshot!(styled(200, 50, &waterfall_ui()));
}

/// `o`: the trace's Langfuse URL, whole, wrapped by width, over the waterfall.
#[test]
fn traces_url_popup_80x24() {
    let mut ui = waterfall_ui();
    let url =
        "https://us.cloud.langfuse.com/project/clproj123/traces/7f3c2a9e0b5d4e6fa1c2d3e4f5a6b7c8";
    ui.traces.url = Some(url.into());
    let buf = render(80, 24, &sample_snapshot(), &ui, &dark());
    // Wrapped, not truncated: the rows of the popup put back together give the URL.
    let text = buffer_text(&buf);
    let joined: String = text
        .lines()
        .filter_map(|l| {
            l.strip_prefix("│ ")
                .map(|r| r.trim_end().trim_end_matches('│').trim_end())
        })
        .filter(|l| {
            l.starts_with("https")
                || l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/.:-".contains(c))
        })
        .collect();
    assert!(joined.contains(url), "{text}");
    insta::assert_snapshot!(buffer_to_styled_text(&buf));
}

#[test]
fn traces_filter_prompt_80x24() {
    let mut ui = ui_for(View::Traces);
    ui.filter_editing = true;
    ui.traces.filter = "orph".into();
    insta::assert_snapshot!(styled(80, 24, &ui));
}

#[test]
fn fleet_scaledobjects_pane_with_toast_80x24() {
    let mut ui = ui_for(View::Fleet);
    ui.fleet.pane = FleetPane::ScaledObjects;
    ui.toast = Some(Toast {
        level: ToastLevel::Warn,
        message: "read-only: weights cannot be changed".into(),
    });
    insta::assert_snapshot!(styled(80, 24, &ui));
}

#[test]
fn too_small() {
    insta::assert_snapshot!(styled(79, 23, &ui_for(View::Overview)));
    let text = buffer_text(&render(
        60,
        10,
        &sample_snapshot(),
        &UiState::default(),
        &dark(),
    ));
    assert!(
        text.contains("terminal too small — need 80×24 (now 60×10)"),
        "{text}"
    );
}

#[test]
fn overview_ascii_80x24() {
    let mut ui = ui_for(View::Overview);
    ui.ascii = true;
    ui.paused = true;
    insta::assert_snapshot!(styled(80, 24, &ui));
}

#[test]
fn overview_monochrome_80x24() {
    let snap = sample_snapshot();
    let buf = render(
        80,
        24,
        &snap,
        &UiState::default(),
        &Theme::builtin("monochrome").unwrap(),
    );
    insta::assert_snapshot!(buffer_to_styled_text(&buf));
}

#[test]
fn overview_light_80x24() {
    let snap = sample_snapshot();
    let buf = render(
        80,
        24,
        &snap,
        &UiState::default(),
        &Theme::builtin("light").unwrap(),
    );
    insta::assert_snapshot!(buffer_to_styled_text(&buf));
}

// ---------------------------------------------------------------- themes

#[test]
fn builtin_themes_parse_and_define_every_style() {
    for name in Theme::builtin_names() {
        let theme = Theme::builtin(name).unwrap_or_else(|| panic!("{name} does not parse"));
        assert_eq!(&theme.name, name);
        let text = std::fs::read_to_string(format!("themes/{name}.toml")).unwrap();
        let table: toml::Table = text.parse().unwrap();
        let styles = table["styles"].as_table().unwrap();
        for style in Styles::NAMES {
            assert!(
                styles.contains_key(*style),
                "themes/{name}.toml lacks styles.{style}"
            );
        }
        // Loading by name goes through the same path.
        assert_eq!(
            Theme::load(name, std::path::Path::new("/nonexistent")).unwrap(),
            theme
        );
    }
    assert_eq!(Theme::default().name, "default");
}

#[test]
fn default_theme_uses_only_the_16_ansi_colours() {
    let t = Theme::builtin("default").unwrap();
    for (name, s) in t.styles.iter() {
        for c in [s.fg, s.bg].into_iter().flatten() {
            assert!(
                !matches!(c, Color::Rgb(..) | Color::Indexed(_)),
                "default theme style {name} uses {c:?}"
            );
        }
    }
}

#[test]
fn monochrome_has_no_colours() {
    let t = Theme::builtin("monochrome").unwrap();
    assert!(t.is_colourless());
    assert_eq!(Theme::for_environment(true), t);
    assert_eq!(Theme::for_environment(false).name, "default");
    // Selection and severity are still distinguishable by modifiers.
    assert!(!t.styles.selection.add_modifier.is_empty());
    assert!(!t.styles.crit.add_modifier.is_empty());
    assert!(!t.styles.badge_demo.add_modifier.is_empty());
    assert_ne!(t.styles.warn, t.styles.crit);
}

fn write_theme(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn bad_theme_files_give_precise_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let err = |name: &str, text: &str| -> String {
        write_theme(d, name, text);
        Theme::load(name, d).unwrap_err().to_string()
    };
    let e = err("mytheme", "[styles]\nwarn = { fg = \"purplish\" }\n");
    assert!(
        e.contains("mytheme.toml: styles.warn.fg: 'purplish' is not a colour"),
        "{e}"
    );
    let e = err("t2", "[styles]\nok = { bg = 300 }\n");
    assert!(
        e.contains("t2.toml: styles.ok.bg: 300 is not a colour"),
        "{e}"
    );
    let e = err("t3", "[styles]\nok = { fg = \"#12345\" }\n");
    assert!(
        e.contains("t3.toml: styles.ok.fg: '#12345' is not a colour"),
        "{e}"
    );
    let e = err("t4", "[styles]\nwran = { fg = \"red\" }\n");
    assert!(e.contains("t4.toml: styles.wran: unknown style"), "{e}");
    let e = err("t5", "[styles]\nwarn = { modifiers = [\"blink-ish\"] }\n");
    assert!(
        e.contains("t5.toml: styles.warn.modifiers[0]: 'blink-ish' is not a modifier"),
        "{e}"
    );
    let e = err("t6", "[styles\nwarn = 1\n");
    assert!(e.contains("t6.toml"), "{e}");
    let e = err("t7", "colour = \"red\"\n");
    assert!(e.contains("t7.toml: colour: unknown key"), "{e}");
    let e = err("t8", "[styles]\nwarn = \"red\"\n");
    assert!(e.contains("t8.toml: styles.warn: expected a table"), "{e}");
    let e = err("t9", "extends = \"t9\"\n");
    assert!(e.contains("t9.toml: extends"), "{e}");
    let e = Theme::load("no-such-theme", d).unwrap_err();
    assert!(matches!(e, ThemeError::NotFound { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("default, light, high-contrast, solarized-dark, colorblind, monochrome"),
        "{e}"
    );
}

#[test]
fn user_themes_load_by_name_path_and_extend() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = write_theme(
        d,
        "prod-red",
        "description = \"prod\"\nextends = \"default\"\n[styles]\naccent = { fg = \"#ff0000\", modifiers = [\"bold\"] }\ndim = { fg = 244 }\n",
    );
    let by_name = Theme::load("prod-red", d).unwrap();
    assert_eq!(by_name.name, "prod-red");
    assert_eq!(by_name.styles.accent.fg, Some(Color::Rgb(255, 0, 0)));
    assert_eq!(by_name.styles.dim.fg, Some(Color::Indexed(244)));
    // Everything else comes from `default`.
    assert_eq!(by_name.styles.warn, dark().styles.warn);
    let by_path = Theme::load(p.to_str().unwrap(), std::path::Path::new("/nonexistent")).unwrap();
    assert_eq!(by_path, by_name);
    let avail = Theme::available(d);
    assert_eq!(
        avail,
        vec![
            "default",
            "light",
            "high-contrast",
            "solarized-dark",
            "colorblind",
            "monochrome",
            "prod-red"
        ]
    );
}

// ---------------------------------------------------------------- rendering properties

fn every_ui() -> Vec<UiState> {
    let mut v: Vec<UiState> = View::ALL.iter().map(|v| ui_for(*v)).collect();
    v.push(waterfall_ui());
    let mut f = ui_for(View::Traces);
    f.filter_editing = true;
    f.traces.filter = "esc".into();
    v.push(f);
    let mut f = ui_for(View::Fleet);
    f.fleet.pane = FleetPane::ScaledObjects;
    f.fleet.filter = "vllm".into();
    f.toast = Some(Toast {
        level: ToastLevel::Error,
        message: "日本語のエラー: cafe\u{301}".into(),
    });
    v.push(f);
    v
}

#[test]
fn ascii_mode_draws_only_ascii() {
    let snap = sample_snapshot();
    for mut ui in every_ui() {
        ui.ascii = true;
        for (w, h) in [(80, 24), (120, 40), (200, 50), (60, 10)] {
            let buf = render(w, h, &snap, &ui, &dark());
            for cell in buf.content() {
                assert!(
                    cell.symbol().is_ascii(),
                    "{:?} at {w}x{h}: {:?}\n{}",
                    ui.view,
                    cell.symbol(),
                    buffer_text(&buf)
                );
            }
        }
    }
}

#[test]
fn monochrome_buffers_contain_no_colour() {
    let snap = sample_snapshot();
    let mono = Theme::builtin("monochrome").unwrap();
    for ui in every_ui() {
        for (w, h) in [(80, 24), (200, 50)] {
            let buf = render(w, h, &snap, &ui, &mono);
            for cell in buf.content() {
                assert_eq!(cell.fg, Color::Reset, "{:?} {w}x{h}", ui.view);
                assert_eq!(cell.bg, Color::Reset, "{:?} {w}x{h}", ui.view);
            }
        }
    }
}

#[test]
fn resize_sweep_never_panics() {
    let snap = sample_snapshot();
    let theme = dark();
    let mut sizes: Vec<(u16, u16)> = vec![(0, 0), (1, 1), (0, 24), (80, 0), (79, 24), (80, 23)];
    sizes.extend([
        (80, 24),
        (81, 25),
        (119, 35),
        (120, 36),
        (199, 39),
        (200, 40),
        (500, 200),
    ]);
    for w in (0..=230).step_by(13) {
        for h in (0..=70).step_by(9) {
            sizes.push((w, h));
        }
    }
    for mut ui in every_ui() {
        for ascii in [false, true] {
            ui.ascii = ascii;
            for &(w, h) in &sizes {
                let buf = render(w, h, &snap, &ui, &theme);
                // Nothing is drawn past the right edge: every row fits the width.
                for line in buffer_text(&buf).lines() {
                    assert!(super::text::width(line) <= w as usize, "{w}x{h}: {line}");
                }
            }
        }
    }
}

#[test]
fn large_fleet_scrolls_to_the_selection() {
    let snap = snapshot_with_pods(5_000);
    let mut ui = ui_for(View::Fleet);
    ui.fleet.selected = 4_000;
    let text = buffer_text(&render(120, 40, &snap, &ui, &dark()));
    assert!(text.contains("▶ vllm-qwen3-04000-abcde"), "{text}");
    assert!(text.contains("of 5000"), "{text}");
    // The selection is clamped to the last row.
    ui.fleet.selected = 99_999;
    let text = buffer_text(&render(80, 24, &snap, &ui, &dark()));
    assert!(text.contains("▶ vllm-qwen3-04999-uvwxy"), "{text}");
    // A filter counts matches over all pods.
    ui.fleet.filter = "crash".into();
    ui.fleet.selected = 0;
    let text = buffer_text(&render(80, 24, &snap, &ui, &dark()));
    assert!(text.contains("Pods (1000 of 5000)"), "{text}");
}

#[test]
fn header_badges_for_every_mode() {
    use crate::model::snapshot::Mode;
    let mut snap = sample_snapshot();
    snap.redacted = true;
    let ui = UiState {
        paused: true,
        ..UiState::default()
    };
    for (mode, words) in [
        (Mode::Demo, &[" DEMO ", "SIMULATED DATA"][..]),
        (Mode::Replay, &[" REPLAY ", "RECORDED DATA"][..]),
        (Mode::Live, &[" LIVE "][..]),
    ] {
        snap.mode = mode;
        let text = buffer_text(&render(80, 24, &snap, &ui, &dark()));
        let header = text.lines().next().unwrap();
        for w in words.iter().chain(&[
            "demo-us-east-2",
            "08:00:00 UTC",
            "READ-ONLY",
            "REDACTED",
            "PAUSED",
        ]) {
            assert!(header.contains(w), "{mode:?}: {header}");
        }
    }
}

#[test]
fn empty_snapshot_shows_dashes_not_zeros() {
    let mut snap = sample_snapshot();
    for p in &mut snap.paths {
        p.weight = None;
        p.latency_ms = Default::default();
        p.cost = Default::default();
        p.error_rate = None;
        p.ready_pods = None;
        p.desired_pods = None;
        p.history = Default::default();
        p.observed_share = 0.0;
        p.requests_per_minute = 0.0;
    }
    snap.fleet = Default::default();
    snap.sessions = Default::default();
    snap.cost = Default::default();
    snap.alerts.clear();
    snap.phase = Default::default();
    for s in &mut snap.sources {
        s.age_seconds = None;
        s.last_success = None;
    }
    for ui in every_ui() {
        for (w, h) in [(80, 24), (200, 50)] {
            render(w, h, &snap, &ui, &dark());
        }
    }
    let text = buffer_text(&render(80, 24, &snap, &UiState::default(), &dark()));
    assert!(text.contains("cloudwatch ok —"), "{text}");
    assert!(
        text.contains("no alerts") || !text.contains("CRIT"),
        "{text}"
    );
    assert!(
        text.contains("billed MTD — (no Cost Explorer data yet)"),
        "{text}"
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("EKS Qwen3-4B"))
        .unwrap();
    assert!(line.contains('—'), "{line}");
    let text = buffer_text(&render(80, 24, &snap, &ui_for(View::Traces), &dark()));
    assert!(text.contains("no sessions in the window yet"), "{text}");
}

#[test]
fn buffer_text_trims_and_skips_wide_char_tails() {
    let mut buf = Buffer::empty(ratatui::layout::Rect::new(0, 0, 8, 2));
    buf.set_string(0, 0, "日本x", ratatui::style::Style::default());
    assert_eq!(buffer_text(&buf), "日本x\n\n");
    let styled = buffer_to_styled_text(&buf);
    assert!(styled.starts_with("|日本x   |\n|        |\n"), "{styled}");
}

#[test]
fn traces_filter_matches_words_and_ids() {
    use super::traces::session_matches;
    let snap = sample_snapshot();
    let all = &snap.sessions.all;
    let count = |f: &str| all.iter().filter(|s| session_matches(s, f)).count();
    assert_eq!(count(""), 40);
    assert_eq!(count("escalated"), 1);
    assert_eq!(count("esc"), 1);
    assert_eq!(count("orphan"), 2);
    assert_eq!(count("7f3a21"), 1);
    assert!(count("sonnet") >= 8);
    assert_eq!(count("nothing-like-this"), 0);
}

// ---------------------------------------------------------------- live Kubernetes states

fn live_styled(w: u16, h: u16, ui: &UiState) -> String {
    buffer_to_styled_text(&render(w, h, &live_fleet_trouble(), ui, &dark()))
}

#[test]
fn fleet_live_trouble_80x24() {
    insta::assert_snapshot!(live_styled(80, 24, &ui_for(View::Fleet)));
}

#[test]
fn fleet_live_trouble_sorted_120x36() {
    let mut ui = ui_for(View::Fleet);
    ui.fleet.sort = PodSort::Restarts;
    insta::assert_snapshot!(live_styled(120, 36, &ui));
}

#[test]
fn overview_live_trouble_80x24() {
    insta::assert_snapshot!(live_styled(80, 24, &ui_for(View::Overview)));
}

#[test]
fn api_unreachable_keeps_the_age_of_the_data_visible() {
    let snap = live_fleet_trouble();
    for view in [View::Fleet, View::Overview] {
        for (w, h) in [(80, 24), (120, 36), (200, 50)] {
            let text = buffer_text(&render(w, h, &snap, &ui_for(view), &dark()));
            assert!(
                text.contains("last data 2m ago"),
                "{view:?} {w}x{h}\n{text}"
            );
        }
    }
    let text = buffer_text(&render(200, 50, &snap, &ui_for(View::Fleet), &dark()));
    assert!(
        text.contains(
            "✗ Kubernetes API unreachable at https://ABCDEF.gr7.us-east-2.eks.amazonaws.com"
        ),
        "{text}"
    );
    assert!(text.contains("forbidden: needs list and watch on pods in agents-canary"));
    assert!(text.contains("HPA keda-hpa-vllm-qwen3: AbleToScale=True ReadyForNewScale"));
    assert!(text.contains("ScalingLimited=True TooManyReplicas"));
    assert!(text.contains("Unschedulable: 0/4 nodes are available"));
}

fn pod_rows(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("vllm-qwen3-")))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_sort_orders_the_pods_and_marks_its_column() {
    let snap = sample_snapshot();
    let mut ui = ui_for(View::Fleet);
    let order = |ui: &UiState| pod_rows(&buffer_text(&render(200, 50, &snap, ui, &dark())));
    let by_name = order(&ui);
    assert_eq!(by_name.len(), 5);
    let mut seen = vec![by_name.clone()];
    let mut sort = PodSort::Name;
    for _ in 0..PodSort::ALL.len() - 1 {
        sort = sort.next();
        ui.fleet.sort = sort;
        let text = buffer_text(&render(200, 50, &snap, &ui, &dark()));
        assert!(
            text.contains(&format!("sorted: {}", sort.label())),
            "{sort:?}\n{text}"
        );
        let mark = match sort.column() {
            "ready" => "rdy↓".to_string(),
            c => format!("{c}↓"),
        };
        assert!(text.contains(&mark), "{sort:?}\n{text}");
        let rows = pod_rows(&text);
        let mut sorted = rows.clone();
        sorted.sort();
        assert_eq!(sorted, {
            let mut b = by_name.clone();
            b.sort();
            b
        });
        seen.push(rows);
    }
    assert_eq!(sort.next(), PodSort::Name);
    // Most restarts first: uvwxy (7), klmno (1), then the rest by name.
    ui.fleet.sort = PodSort::Restarts;
    assert_eq!(
        order(&ui)[..2],
        ["vllm-qwen3-7d9f8c6b5-uvwxy", "vllm-qwen3-7d9f8c6b5-klmno"]
    );
    // Not ready first; phase puts Pending before Running; youngest first.
    ui.fleet.sort = PodSort::Ready;
    assert_eq!(
        order(&ui)[..2],
        ["vllm-qwen3-7d9f8c6b5-pqrst", "vllm-qwen3-7d9f8c6b5-uvwxy"]
    );
    ui.fleet.sort = PodSort::Phase;
    assert_eq!(order(&ui)[0], "vllm-qwen3-7d9f8c6b5-pqrst");
    ui.fleet.sort = PodSort::Age;
    assert_eq!(order(&ui)[0], "vllm-qwen3-7d9f8c6b5-pqrst");
    // The selection follows the sorted order, and a filter still applies.
    ui.fleet.sort = PodSort::Restarts;
    ui.fleet.selected = 1;
    let text = buffer_text(&render(200, 50, &snap, &ui, &dark()));
    assert!(text.contains("▶ vllm-qwen3-7d9f8c6b5-klmno"), "{text}");
    ui.fleet.filter = "crash".into();
    ui.fleet.selected = 0;
    assert_eq!(order(&ui), ["vllm-qwen3-7d9f8c6b5-uvwxy"]);
    // At 5,000 pods, sorted, the window is still the selection's.
    let big = snapshot_with_pods(5_000);
    let mut ui = ui_for(View::Fleet);
    ui.fleet.sort = PodSort::Restarts;
    ui.fleet.selected = 3_000;
    let text = buffer_text(&render(120, 40, &big, &ui, &dark()));
    assert!(text.contains("of 5000"), "{text}");
    assert!(text.contains("▶ vllm-qwen3-"), "{text}");
}

#[test]
fn overview_puts_a_problem_in_place_of_the_paths_data() {
    let mut snap = live_fleet_trouble();
    // Pods of the path forbidden; the ScaledObject gone and KEDA not installed.
    snap.fleet.problems[0].namespace = "agents".into();
    snap.fleet.problems[0].message = "forbidden: needs list and watch on pods in agents".into();
    snap.fleet.problems[0].paths = vec![crate::domain::path::PathId::new("eks-qwen3")];
    let mut keda = snap.fleet.problems[0].clone();
    keda.resource = "scaledobjects.keda.sh".into();
    keda.kind = crate::model::update::ProblemKind::NotInstalled;
    keda.message =
        "KEDA not installed: the API server does not serve scaledobjects.keda.sh/v1alpha1".into();
    snap.fleet.problems.push(keda);
    snap.fleet.scaled_objects.clear();
    let text = buffer_text(&render(120, 40, &snap, &ui_for(View::Overview), &dark()));
    assert!(
        text.contains("EKS Qwen3-4B  ✗ forbidden: needs list and watch on pods"),
        "{text}"
    );
    assert!(text.contains("KEDA ▲ KEDA not installed"), "{text}");
    assert!(!text.contains("no ScaledObject"), "{text}");
    // Problems for other paths stay out of this path's lines.
    for p in snap.fleet.problems.iter_mut() {
        p.paths = vec![crate::domain::path::PathId::new("eks-other")];
    }
    let text = buffer_text(&render(120, 40, &snap, &ui_for(View::Overview), &dark()));
    assert!(text.contains("pods 3/5 ready"), "{text}");
    assert!(text.contains("no ScaledObject"), "{text}");
}

#[test]
fn tab_clicks_land_on_the_tab_drawn_whatever_its_key() {
    // Multi-character keys widen the tabs; a click must hit the tab where it is drawn.
    let mut keys = std::collections::BTreeMap::new();
    keys.insert("view_overview".to_string(), vec!["f1".to_string()]);
    keys.insert("view_traces".to_string(), vec!["ctrl-t".to_string()]);
    keys.insert("view_fleet".to_string(), vec!["f3".to_string()]);
    let ui = UiState {
        keymap: crate::action::Keymap::new(&keys).unwrap(),
        ..UiState::default()
    };
    let (w, h) = (120, 40);
    let buf = render(w, h, &sample_snapshot(), &ui, &dark());
    let row: String = (0..w).map(|x| buf[(x, 1)].symbol().to_string()).collect();
    let area = ratatui::layout::Rect::new(0, 0, w, h);
    for (title, view) in [
        ("Overview", View::Overview),
        ("Traces", View::Traces),
        ("Fleet", View::Fleet),
        ("Cost", View::Cost),
        ("Help", View::Help),
    ] {
        let x = row
            .find(title)
            .unwrap_or_else(|| panic!("{title} in {row}")) as u16;
        assert_eq!(
            super::tab_at(area, &ui.keymap, x, 1),
            Some(view),
            "{title} in {row}"
        );
        let last = x + title.len() as u16 - 1;
        assert_eq!(
            super::tab_at(area, &ui.keymap, last, 1),
            Some(view),
            "{title} end"
        );
    }
    assert!(row.contains(" ctrl-t Traces "), "{row}");
}

#[test]
fn latency_ratios_read_as_people_say_them() {
    use super::table::cost::speed_ratio;
    assert_eq!(
        speed_ratio(Some(177.0), Some(5035.0), false).as_deref(),
        Some("28× slower")
    );
    assert_eq!(
        speed_ratio(Some(100.0), Some(41.0), false).as_deref(),
        Some("2.4× faster")
    );
    assert_eq!(
        speed_ratio(Some(100.0), Some(102.0), true).as_deref(),
        Some("same")
    );
    assert_eq!(
        speed_ratio(Some(100.0), Some(250.0), true).as_deref(),
        Some("2.5x slower")
    );
    assert_eq!(speed_ratio(None, Some(1.0), false), None);
    assert_eq!(speed_ratio(Some(0.0), Some(1.0), false), None);
}

#[test]
fn a_click_selects_the_traces_row_drawn_there() {
    let snap = sample_snapshot();
    for (w, h) in [(80, 24), (120, 40), (200, 50)] {
        let area = ratatui::layout::Rect::new(0, 0, w, h);
        for (sel, filter) in [(0, ""), (7, ""), (39, ""), (1, "orph")] {
            let mut ui = ui_for(View::Traces);
            ui.traces.selected = sel;
            ui.traces.filter = filter.into();
            let text = buffer_text(&render(w, h, &snap, &ui, &dark()));
            let rows: Vec<_> = super::traces_rows(&snap, &ui).collect();
            let mut hits = 0;
            for (y, line) in text.lines().enumerate() {
                match super::row_at(area, &snap, &ui, y as u16) {
                    Some(i) => {
                        assert!(line.contains(&rows[i].session_id), "{w}x{h} y {y}: {line}");
                        hits += 1;
                    }
                    None => assert!(
                        rows.iter().all(|r| !line.contains(&r.session_id)),
                        "{w}x{h} y {y}: {line}"
                    ),
                }
            }
            assert!(hits > 0, "{w}x{h}");
        }
    }
}

/// Before any source has answered, nothing claims health: no ✓ but on the configured facts, no
/// made-up clock, measured figures unknown (issue 14's empty first frame).
#[test]
fn the_empty_first_frame_claims_nothing() {
    use crate::config::Config;
    use crate::model::snapshot::Mode;
    use crate::model::state::{DeriveOptions, State};
    let snap = State::new(&Config::demo(), Mode::Live).snapshot(&DeriveOptions::default());
    for view in [View::Overview, View::Fleet, View::Cost] {
        let text = buffer_text(&render(120, 40, &snap, &ui_for(view), &dark()));
        // Only the configured facts (custom model, team) are known before any data.
        for line in text.lines().filter(|l| l.contains('✓')) {
            assert!(
                line.contains("custom model") || line.contains("team"),
                "{view:?} claims health without data: {line}"
            );
        }
        assert!(!text.contains("1970"), "{view:?} shows the epoch:\n{text}");
    }
    insta::assert_snapshot!(
        "empty_first_frame_120x40",
        buffer_to_styled_text(&render(120, 40, &snap, &UiState::default(), &dark()))
    );
}

#[test]
fn the_engine_line_labels_its_numbers_and_says_what_is_missing() {
    use crate::model::engine::{EngineFigures, EngineView};
    let mut snap = sample_snapshot();
    let text = buffer_text(&render(120, 40, &snap, &ui_for(View::Overview), &dark()));
    let line = text
        .lines()
        .find(|l| l.contains("engine (prometheus)"))
        .unwrap_or_else(|| panic!("no engine line:\n{text}"));
    assert!(
        line.contains("waiting 8 running 34") && line.contains("KV ✗ 93%"),
        "{line}"
    );
    // No series: the note, never zeros.
    let eks = snap.paths.iter_mut().find(|p| p.engine.is_some()).unwrap();
    eks.engine = Some(EngineView {
        figures: EngineFigures::default(),
        notes: vec!["no data for vllm:num_requests_waiting with {app=\"v\"}".into()],
        ..Default::default()
    });
    let text = buffer_text(&render(120, 40, &snap, &ui_for(View::Overview), &dark()));
    let line = text.lines().find(|l| l.contains("engine")).unwrap();
    assert!(
        line.contains("— no data for vllm:num_requests_waiting"),
        "{line}"
    );
    assert!(!line.contains(" 0"), "{line}");
}

/// Roots first: the list says how many waterfalls are whole ("1 in N sessions"), and an open
/// waterfall of a session polled roots only says so, and whether its children are coming.
#[test]
fn traces_roots_first_120x30() {
    let mut snap = sample_snapshot();
    snap.sessions.waterfalls = Some(crate::model::snapshot::WaterfallCoverage {
        whole: 100,
        sessions: 1_204,
    });
    let list = render(120, 30, &snap, &ui_for(View::Traces), &dark());
    assert!(
        buffer_text(&list).contains("waterfalls: 1 in 12 sessions"),
        "{}",
        buffer_text(&list)
    );
    let mut roots = snap.clone();
    if let Some(d) = roots.sessions.detail.as_mut() {
        d.roots_only = true;
        d.spans.truncate(1);
    }
    let mut ui = waterfall_ui();
    ui.traces.span_selected = 0;
    ui.traces.children_asked = true;
    let asked = render(120, 30, &roots, &ui, &dark());
    assert!(buffer_text(&asked).contains("roots only, reading children"));
    ui.traces.children_asked = false;
    let not = render(120, 30, &roots, &ui, &dark());
    assert!(buffer_text(&not).contains("roots only (children not sampled)"));
    // Over `max_sessions`, the counts are floors and both screens say so.
    let mut capped = sample_snapshot();
    capped.sessions.capped_at = Some(20_000);
    let t = buffer_text(&render(120, 30, &capped, &ui_for(View::Traces), &dark()));
    assert!(t.contains("capped at 20000: counts are at least"), "{t}");
    let o = buffer_text(&render(200, 50, &capped, &ui_for(View::Overview), &dark()));
    assert!(o.contains("≥1,204 sessions"), "{o}");
    insta::assert_snapshot!(format!(
        "{}\n{}\n{}",
        buffer_to_styled_text(&list),
        buffer_to_styled_text(&asked),
        buffer_to_styled_text(&not)
    ));
}
