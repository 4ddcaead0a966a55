//! Render bench: every view drawn from the fully populated fixture at 80×24, 200×50 and 300×100
//! onto `TestBackend` (a full `Terminal::draw`: buffer reset, views, diff). Targets: Overview
//! ≤ 0.5 ms at 200×50 and ≤ 1.5 ms at 300×100. Also the Fleet at 5,000 pods.
// A bench (or test tool) may panic on a broken set-up: it is not the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// Benches and tests report on their own stdout; only the product prints through `commands::out`.
#![allow(clippy::disallowed_macros)]
use criterion::{criterion_group, criterion_main, Criterion};
use hybridtop::model::snapshot::Snapshot;
use hybridtop::ui::draw;
#[allow(dead_code)]
#[path = "../src/ui/fixture.rs"]
mod fixture;
use fixture::{sample_snapshot, snapshot_with_pods, OPEN_SESSION};
use hybridtop::ui::state::{UiState, View};
use hybridtop::ui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::hint::black_box;

fn bench_view(c: &mut Criterion, name: &str, snap: &Snapshot, ui: &UiState, w: u16, h: u16) {
    let theme = Theme::default();
    let Ok(mut term) = Terminal::new(TestBackend::new(w, h));
    c.bench_function(&format!("{name}_{w}x{h}"), |b| {
        b.iter(|| {
            let _ = term.draw(|f| draw(f, black_box(snap), black_box(ui), &theme));
        })
    });
}

fn views(c: &mut Criterion) {
    let snap = sample_snapshot();
    for (w, h) in [(80, 24), (200, 50), (300, 100)] {
        for view in View::ALL {
            let ui = UiState {
                view,
                ..UiState::default()
            };
            bench_view(c, &view.title().to_lowercase(), &snap, &ui, w, h);
        }
        let mut ui = UiState {
            view: View::Traces,
            ..UiState::default()
        };
        ui.traces.open = Some(OPEN_SESSION.to_string());
        bench_view(c, "waterfall", &snap, &ui, w, h);
        let ui = UiState {
            ascii: true,
            ..UiState::default()
        };
        bench_view(c, "overview_ascii", &snap, &ui, w, h);
    }
    let big = snapshot_with_pods(5_000);
    let mut ui = UiState {
        view: View::Fleet,
        ..UiState::default()
    };
    ui.fleet.selected = 4_000;
    bench_view(c, "fleet_5000_pods", &big, &ui, 200, 50);
    ui.fleet.filter = "crash".into();
    bench_view(c, "fleet_5000_pods_filtered", &big, &ui, 200, 50);
}

criterion_group!(benches, views);
criterion_main!(benches);
