//! Every view, drawn from the demo simulator with a fixed seed, at 80×24 and 200×50 — characters
//! and styles — so a change to the screen shows up as a reviewed snapshot diff.
use hybridtop::commands::snapshot::demo_snapshot;
use hybridtop::model::snapshot::Snapshot;
use hybridtop::model::state::DeriveOptions;
use hybridtop::sources::simulator::Scenario;
use hybridtop::ui::state::{UiState, View};
use hybridtop::ui::theme::Theme;

fn snap(scenario: Scenario, seconds: u64, open: Option<String>) -> Snapshot {
    let opts = DeriveOptions {
        selected_session: open,
        ..DeriveOptions::default()
    };
    demo_snapshot(7, scenario, seconds, &opts)
}

fn styled(s: &Snapshot, ui: &UiState, theme: &str, w: u16, h: u16) -> String {
    let theme = Theme::builtin(theme).expect("built-in theme");
    let buf = hybridtop::export::render(s, ui, &theme, w, h);
    hybridtop::ui::buffer_to_styled_text(&buf)
}

fn ui_for(view: View) -> UiState {
    UiState {
        view,
        ..UiState::default()
    }
}

#[test]
fn every_view_at_both_sizes() {
    let s = snap(Scenario::Steady, 600, None);
    for view in [
        View::Overview,
        View::Traces,
        View::Fleet,
        View::Cost,
        View::Help,
    ] {
        for (w, h) in [(80, 24), (200, 50)] {
            let name = format!("{}_{w}x{h}", view.title().to_lowercase());
            insta::assert_snapshot!(name, styled(&s, &ui_for(view), "default", w, h));
        }
    }
}

#[test]
fn waterfall_of_an_escalated_session() {
    let list = snap(Scenario::Steady, 600, None);
    let id = list
        .sessions
        .all
        .iter()
        .find(|r| r.escalated && r.hybrid)
        .map(|r| r.session_id.clone())
        .expect("an escalated session in 10 minutes of steady traffic");
    let s = snap(Scenario::Steady, 600, Some(id.clone()));
    let detail = s
        .sessions
        .detail
        .as_ref()
        .expect("detail for the open session");
    assert_eq!(detail.session_id, id);
    assert!(
        detail.spans.iter().any(|sp| sp.escalation),
        "no escalation marker"
    );
    let mut ui = ui_for(View::Traces);
    ui.traces.open = Some(id);
    for (w, h) in [(80, 24), (200, 50)] {
        insta::assert_snapshot!(
            format!("waterfall_{w}x{h}"),
            styled(&s, &ui, "default", w, h)
        );
    }
}

#[test]
fn incidents_on_the_overview() {
    // Mid-incident frames: node loss at its peak, and the Langfuse outage in its error state.
    let s = snap(Scenario::EksNodeLoss, 480, None);
    insta::assert_snapshot!(
        "overview_eks_node_loss_120x40",
        styled(&s, &ui_for(View::Overview), "default", 120, 40)
    );
    let s = snap(Scenario::LangfuseOutage, 600, None);
    insta::assert_snapshot!(
        "overview_langfuse_outage_120x40",
        styled(&s, &ui_for(View::Overview), "default", 120, 40)
    );
}

#[test]
fn light_and_monochrome_themes() {
    let s = snap(Scenario::Steady, 600, None);
    insta::assert_snapshot!(
        "overview_light_120x40",
        styled(&s, &ui_for(View::Overview), "light", 120, 40)
    );
    let mono = styled(&s, &ui_for(View::Overview), "monochrome", 120, 40);
    assert!(
        !mono.contains("fg=") && !mono.contains("bg="),
        "monochrome sent a colour"
    );
    insta::assert_snapshot!("overview_monochrome_120x40", mono);
}

#[test]
fn a_trace_source_catching_up_and_behind() {
    // Issue 19: the Sources line says how far a trace source has got, and how far behind it is.
    use hybridtop::model::snapshot::CatchingUp;
    use hybridtop::model::update::SourceName;
    let mut s = snap(Scenario::Steady, 600, None);
    let lf = s
        .sources
        .iter_mut()
        .find(|x| x.name == SourceName::Langfuse)
        .unwrap();
    lf.catching_up = Some(CatchingUp {
        read: 12_000,
        expected: Some(36_000),
    });
    lf.interval_seconds = Some(10.0);
    insta::assert_snapshot!(
        "overview_langfuse_catching_up_120x40",
        styled(&s, &ui_for(View::Overview), "default", 120, 40)
    );
    let lf = s
        .sources
        .iter_mut()
        .find(|x| x.name == SourceName::Langfuse)
        .unwrap();
    lf.catching_up = None;
    lf.lag_seconds = Some(40.0);
    let text = styled(&s, &ui_for(View::Overview), "default", 120, 40);
    assert!(text.contains("40s behind"), "{text}");
}
