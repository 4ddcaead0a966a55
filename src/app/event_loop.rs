//! The loop itself: select over updates, input, router and replay events, signals and ticks;
//! draw only when something changed.
use super::*;

/// Run the TUI until quit, a signal, or the input closes.
pub async fn run_tui(
    mut app: App,
    mut rx: UpdateRx,
    mut router_rx: Option<mpsc::Receiver<RouterEvent>>,
    opts: &AppOptions,
) -> std::io::Result<()> {
    let mut term = terminal::enter(opts.mouse)?;
    let _guard = RestoreGuard;
    let mut events = EventStream::new();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sigquit = signal(SignalKind::quit())?;
    // Handled, so the terminal is restored before the process stops (the default action would
    // stop it in raw mode on the alternate screen).
    let mut sigtstp = signal(SignalKind::from_raw(libc::SIGTSTP))?;
    let mut tick = tokio::time::interval(opts.refresh);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // Live and attached viewers follow the wall clock (an attached one must see its collector
    // fall silent).
    let live = matches!(app.mode(), Mode::Live | Mode::Attach);
    let mut replay_rx = app.take_replay_events();
    let mut updates_open = true;
    let mut dirty = true;
    let mut urgent = true;
    let mut last_draw = Instant::now();
    loop {
        if dirty && (urgent || last_draw.elapsed() >= opts.min_frame) {
            app.refresh_snapshot();
            terminal::draw_frame(&mut term, |f| app.render(f))?;
            if app.take_bell() {
                terminal::bell(&mut term)?;
            }
            last_draw = Instant::now();
            dirty = false;
            urgent = false;
        }
        let frame_due = tokio::time::Instant::from_std(last_draw + opts.min_frame);
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    app.on_key(k);
                    dirty = true;
                    urgent = true;
                }
                Some(Ok(Event::Mouse(m))) => {
                    if let Ok(size) = term.size() {
                        if app.on_mouse(m, ratatui::layout::Rect::new(0, 0, size.width, size.height)) {
                            dirty = true;
                            urgent = true;
                        }
                    }
                }
                Some(Ok(Event::Resize(_, _))) => {
                    let _ = term.autoresize();
                    dirty = true;
                    urgent = true;
                }
                Some(Ok(_)) => {}
                // Input gone (terminal closed): nothing more can be asked of us.
                Some(Err(_)) | None => break,
            },
            u = rx.recv(), if updates_open => match u {
                Some(u) => {
                    app.apply(u);
                    // Coalesce a burst into one frame.
                    for _ in 0..10_000 {
                        match rx.try_recv() {
                            Ok(u) => app.apply(u),
                            Err(_) => break,
                        }
                    }
                    dirty = true;
                }
                None => updates_open = false,
            },
            ev = async { router_rx.as_mut()?.recv().await }, if router_rx.is_some() => match ev {
                Some(ev) => {
                    app.on_router_event(ev);
                    dirty = true;
                    urgent = true;
                }
                None => router_rx = None,
            },
            ev = async { replay_rx.as_mut()?.recv().await }, if replay_rx.is_some() => match ev {
                Some(ev) => {
                    app.on_replay_event(ev);
                    dirty = true;
                }
                None => replay_rx = None,
            },
            _ = tick.tick() => {
                if live {
                    app.apply(Update::Clock { now: chrono::Utc::now() });
                    dirty = true;
                }
                if app.expire_toast() {
                    dirty = true;
                }
            },
            _ = tokio::time::sleep_until(frame_due), if dirty => {},
            _ = sigterm.recv() => break,
            _ = sighup.recv() => break,
            _ = sigint.recv() => break,
            _ = sigquit.recv() => break,
            _ = sigtstp.recv() => app.suspend = true,
        }
        if app.quit {
            break;
        }
        if std::mem::take(&mut app.suspend) {
            terminal::suspend(&mut term)?;
            let _ = term.autoresize();
            dirty = true;
            urgent = true;
        }
    }
    Ok(())
}
