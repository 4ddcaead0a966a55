//! The simulator as a `Source`: a tokio task that steps the model on a (sped-up) clock.
use super::Simulator;
use crate::domain::weights::Weights;
use crate::sources::{Source, UpdateTx};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

/// Wake up at most this often (10 Hz); at high speed several steps run per wake-up.
const MIN_WAKE: Duration = Duration::from_millis(100);
/// Never run more than this many wake-ups' worth of steps at once after falling behind.
const MAX_CATCH_UP_WAKES: f64 = 10.0;
/// Speeds are clamped to this range (one step per ~17 minutes … a million steps per second).
const MIN_SPEED: f64 = 1e-3;
const MAX_SPEED: f64 = 1e6;

pub struct SimulatorSource {
    sim: Simulator,
    speed: f64,
    warmup_steps: u64,
    weights_rx: watch::Receiver<Weights>,
}

impl SimulatorSource {
    /// `warmup_steps` are run immediately (no sleeping) so the first frame is populated; then
    /// `speed` simulated seconds per real second (a speed that is not a positive finite number
    /// means 1; others are clamped to 0.001..=1e6), waking up at most 10 times a second and
    /// running several steps per wake-up at high speed. Before each step the latest value of
    /// `weights_rx`, if new, is applied with `set_weights`. Ends when the update channel closes.
    pub fn new(
        sim: Simulator,
        speed: f64,
        warmup_steps: u64,
        weights_rx: watch::Receiver<Weights>,
    ) -> Self {
        SimulatorSource {
            sim,
            speed,
            warmup_steps,
            weights_rx,
        }
    }

    async fn run(self, tx: UpdateTx) {
        let SimulatorSource {
            mut sim,
            speed,
            warmup_steps,
            mut weights_rx,
        } = self;
        for _ in 0..warmup_steps {
            if !step_and_send(&mut sim, &mut weights_rx, &tx).await {
                return;
            }
        }
        let speed = if speed.is_finite() && speed > 0.0 {
            speed.clamp(MIN_SPEED, MAX_SPEED)
        } else {
            1.0
        };
        let wake = Duration::from_secs_f64(1.0 / speed).max(MIN_WAKE);
        let max_batch = (speed * wake.as_secs_f64() * MAX_CATCH_UP_WAKES)
            .ceil()
            .max(1.0) as u64;
        let mut origin = Instant::now();
        let mut done: u64 = 0;
        let mut ticker = tokio::time::interval_at(origin + wake, wake);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = tx.closed() => return,
            }
            let due = (origin.elapsed().as_secs_f64() * speed).floor() as u64;
            let mut n = due.saturating_sub(done);
            if n > max_batch {
                // Fell far behind (suspended laptop, slow consumer): carry on from here instead of
                // replaying the gap at full tilt.
                n = max_batch;
                origin = Instant::now();
                done = 0;
            } else {
                done += n;
            }
            for _ in 0..n {
                if !step_and_send(&mut sim, &mut weights_rx, &tx).await {
                    return;
                }
            }
        }
    }
}

/// Apply new weights if any, step once, send everything. False when the receiver is gone.
async fn step_and_send(
    sim: &mut Simulator,
    weights_rx: &mut watch::Receiver<Weights>,
    tx: &UpdateTx,
) -> bool {
    // A closed weights channel just means no more changes.
    if let Ok(true) = weights_rx.has_changed() {
        let w = weights_rx.borrow_and_update().clone();
        sim.set_weights(w);
    }
    for u in sim.step() {
        if tx.send(u).await.is_err() {
            return false;
        }
    }
    true
}

impl Source for SimulatorSource {
    fn name(&self) -> &'static str {
        "simulator"
    }

    fn spawn(self: Box<Self>, tx: UpdateTx) -> JoinHandle<()> {
        tokio::spawn(self.run(tx))
    }
}
