//! The real terminal: raw mode, alternate screen, synchronized-output frames, and restoring it on
//! every way out (quit, panic, SIGTERM, SIGHUP — see `app::run_tui` for the signals).
use crossterm::cursor::{Hide, Show};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, Clear, ClearType, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};

const BEGIN_SYNC: &[u8] = b"\x1b[?2026h";
const END_SYNC: &[u8] = b"\x1b[?2026l";

/// Buffers a whole frame and writes it in one go. ratatui flushes at the end of `draw`; inside a
/// synchronized-output frame that flush is held back until the frame's end marker is written, so
/// one frame is one write on a slow SSH link.
pub struct FrameWriter {
    buf: Vec<u8>,
    out: Stdout,
    in_frame: bool,
}

impl FrameWriter {
    fn new() -> Self {
        FrameWriter {
            buf: Vec::with_capacity(64 * 1024),
            out: io::stdout(),
            in_frame: false,
        }
    }
}

impl Write for FrameWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data == BEGIN_SYNC {
            self.in_frame = true;
        } else if data == END_SYNC {
            self.in_frame = false;
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.in_frame || self.buf.is_empty() {
            return Ok(());
        }
        let mut lock = self.out.lock();
        lock.write_all(&self.buf)?;
        lock.flush()?;
        self.buf.clear();
        Ok(())
    }
}

pub type Tui = Terminal<CrosstermBackend<FrameWriter>>;

static ACTIVE: AtomicBool = AtomicBool::new(false);
static MOUSE: AtomicBool = AtomicBool::new(false);
/// A synchronized-output frame was begun and not yet ended (a panic mid-draw).
static FRAME_OPEN: AtomicBool = AtomicBool::new(false);

/// Enter raw mode and the alternate screen; install the panic hook that undoes it.
pub fn enter(mouse: bool) -> io::Result<Tui> {
    install_panic_hook();
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    MOUSE.store(mouse, Ordering::SeqCst);
    let mut out = io::stdout();
    // Clear here rather than with `Terminal::clear`, which asks the terminal for the cursor
    // position and waits up to two seconds for terminals (and SSH links) that are slow to answer.
    if let Err(e) = execute!(out, EnterAlternateScreen, Hide, Clear(ClearType::All)) {
        restore();
        return Err(e);
    }
    if mouse {
        if let Err(e) = execute!(out, EnableMouseCapture) {
            restore();
            return Err(e);
        }
    }
    match Terminal::new(CrosstermBackend::new(FrameWriter::new())) {
        Ok(t) => Ok(t),
        Err(e) => {
            restore();
            Err(e)
        }
    }
}

/// Draw one frame wrapped in synchronized output (DEC mode 2026).
pub fn draw_frame<F>(t: &mut Tui, render: F) -> io::Result<()>
where
    F: FnOnce(&mut ratatui::Frame),
{
    FRAME_OPEN.store(true, Ordering::SeqCst);
    t.backend_mut().write_all(BEGIN_SYNC)?;
    let res = t.draw(render).map(|_| ());
    t.backend_mut().write_all(END_SYNC)?;
    let flushed = t.backend_mut().flush();
    FRAME_OPEN.store(false, Ordering::SeqCst);
    flushed?;
    res
}

/// Ring the terminal bell (BEL) between frames, outside any synchronized update.
pub fn bell(t: &mut Tui) -> io::Result<()> {
    t.backend_mut().write_all(b"\x07")?;
    t.backend_mut().flush()
}

/// Ctrl-Z or SIGTSTP: give the terminal back as it was found, stop the process (as the default
/// SIGTSTP action would), and on `fg` (SIGCONT) take it again. The caller redraws everything.
pub fn suspend(t: &mut Tui) -> io::Result<()> {
    let mouse = MOUSE.load(Ordering::SeqCst);
    restore();
    // SIGSTOP cannot be caught: the process stops here and carries on from here when continued.
    nix::sys::signal::raise(nix::sys::signal::Signal::SIGSTOP).map_err(io::Error::from)?;
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    MOUSE.store(mouse, Ordering::SeqCst);
    let mut out = io::stdout();
    execute!(out, EnterAlternateScreen, Hide, Clear(ClearType::All))?;
    if mouse {
        execute!(out, EnableMouseCapture)?;
    }
    // The screen was cleared behind ratatui's back. A blank frame brings its idea of the screen
    // to match (`Terminal::clear` would ask the terminal where the cursor is, and wait), so the
    // next frame is drawn whole.
    t.draw(|_| {}).map(|_| ())
}

/// Leave the alternate screen, show the cursor, leave raw mode. Safe to call more than once and
/// from a panic hook.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    if FRAME_OPEN.swap(false, Ordering::SeqCst) {
        let _ = out.write_all(END_SYNC);
    }
    if MOUSE.swap(false, Ordering::SeqCst) {
        let _ = execute!(out, DisableMouseCapture);
    }
    let _ = execute!(out, LeaveAlternateScreen, Show);
    let _ = disable_raw_mode();
    let _ = out.flush();
}

fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        tracing::error!("panic: {info}");
        previous(info);
        // A half-dead dashboard is worse than none: the terminal is restored, so leave.
        std::process::exit(101);
    }));
}

/// Restores the terminal when dropped, so early returns and `?` leave it clean too.
pub struct RestoreGuard;

impl Drop for RestoreGuard {
    fn drop(&mut self) {
        restore();
    }
}
