//! The request budget of the polling sources (Langfuse, Prometheus): at most `max` requests in any
//! period (a minute by default), every request counted, retries included.
//!
//! Langfuse Cloud limits each organisation per minute (Hobby: 30 for the public API, 15 for the
//! legacy v1 reads). A plain token bucket of capacity N refilled at N/min lets up to 2N requests
//! through within one minute (a full bucket, then the refill), which can trip such a limit. Here
//! each spent token comes back exactly one period after it was spent (a sliding-window log), so
//! no window of one period — wherever the server starts counting — ever holds more than `max`.
//! The period is lengthened by a margin (1/60 of it, at least 500 ms; one second a minute) so that
//! requests that reach the server a little later or earlier than they left (latency, a new
//! connection, clock granularity) still fall in different windows.
//!
//! A 429's `Retry-After` defers every request until it has passed.
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

const MIN_MARGIN: Duration = Duration::from_millis(500);

#[derive(Clone, Debug)]
pub struct Budget {
    max: usize,
    period: Duration,
    /// Send times of the requests of the last period, oldest first (at most `max`).
    sent: VecDeque<Instant>,
    not_before: Option<Instant>,
}

impl Budget {
    /// `max` requests per `period` (`max` 0 is taken as 1: a budget that never allows a request
    /// would hang the source rather than protect anything).
    pub fn new(max: u32, period: Duration) -> Budget {
        let max = (max as usize).max(1);
        Budget {
            max,
            period: period + (period / 60).max(MIN_MARGIN),
            sent: VecDeque::with_capacity(max),
            not_before: None,
        }
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// When the next request may be sent (`None`: now).
    pub fn next_slot(&mut self, now: Instant) -> Option<Instant> {
        while self
            .sent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= self.period)
        {
            self.sent.pop_front();
        }
        let by_window = if self.sent.len() >= self.max {
            self.sent.front().map(|&t| t + self.period)
        } else {
            None
        };
        let by_server = self.not_before.filter(|&t| t > now);
        match (by_window, by_server) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// Requests that could be sent at once (none while a 429 makes it wait).
    pub fn spare(&mut self, now: Instant) -> usize {
        if self.next_slot(now).is_some() {
            return 0;
        }
        self.max - self.sent.len()
    }

    /// Count a request sent at `now`.
    pub fn record(&mut self, now: Instant) {
        self.sent.push_back(now);
        while self.sent.len() > self.max {
            self.sent.pop_front();
        }
    }

    /// The server asked to wait (429 `Retry-After`).
    pub fn defer_until(&mut self, t: Instant) {
        self.not_before = Some(self.not_before.map_or(t, |n| n.max(t)));
    }

    /// Wait for a slot, then count the request. Returns how long it waited.
    pub async fn acquire(&mut self) -> Duration {
        let start = Instant::now();
        loop {
            let now = Instant::now();
            match self.next_slot(now) {
                None => {
                    self.record(now);
                    return now.saturating_duration_since(start);
                }
                Some(t) => tokio::time::sleep_until(t).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn spare_counts_what_could_go_at_once() {
        let mut b = Budget::new(4, Duration::from_secs(60));
        let now = Instant::now();
        assert_eq!(b.spare(now), 4);
        b.record(now);
        b.record(now);
        assert_eq!(b.spare(now), 2);
        b.defer_until(now + Duration::from_secs(5));
        assert_eq!(b.spare(now), 0, "a 429 makes it wait");
        assert_eq!(
            b.spare(now + Duration::from_secs(61)),
            4,
            "spent ones came back"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_max_in_any_period() {
        let mut b = Budget::new(5, Duration::from_secs(60));
        let t0 = Instant::now();
        let mut times = Vec::new();
        for _ in 0..23 {
            b.acquire().await;
            times.push(Instant::now().duration_since(t0));
        }
        // Any run of max+1 consecutive requests spans more than a period.
        for w in times.windows(6) {
            assert!(w[5] - w[0] >= Duration::from_secs(60), "{w:?}");
        }
        // …and the budget is used, not wasted: 5 at once, then 5 a period later.
        assert_eq!(times[4], Duration::ZERO);
        assert_eq!(times[5], Duration::from_secs(61));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_defers_and_still_counts() {
        let mut b = Budget::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        b.acquire().await;
        b.defer_until(t0 + Duration::from_secs(7));
        b.acquire().await;
        assert_eq!(Instant::now() - t0, Duration::from_secs(7));
        b.acquire().await;
        // Three sent: the fourth waits for the first to leave the window.
        assert_eq!(
            b.next_slot(Instant::now()),
            Some(t0 + Duration::from_secs(61))
        );
        let zero = Budget::new(0, Duration::from_secs(1));
        assert_eq!(zero.max(), 1);
    }
}
