//! The simulated Cost Explorer answer: month-to-date and 14 daily figures per cost class,
//! consistent with the simulated rates (same daily traffic shape, same prices), as of a few hours
//! before the simulation starts (Cost Explorer lags).
use crate::model::update::{BilledCost, CostClass, DailyCost};
use chrono::{DateTime, Datelike, Duration as ChronoDuration, NaiveDate, Timelike, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Cost Explorer lags the simulated clock by this much.
pub(super) const BILLED_LAG_HOURS: i64 = 3;
/// "Other" (CloudWatch, data transfer, the Langfuse host) as a share of the rest.
const OTHER_SHARE: f64 = 0.03;
const CLASSES: [CostClass; 3] = [CostClass::Agentcore, CostClass::Eks, CostClass::Other];

/// `hourly(t)` gives the (AgentCore, EKS) cost of the hour starting at `t`.
pub(super) fn billed(
    seed: u64,
    start: DateTime<Utc>,
    hourly: &dyn Fn(DateTime<Utc>) -> (f64, f64),
) -> BilledCost {
    let as_of = start - ChronoDuration::hours(BILLED_LAG_HOURS);
    let as_of_date = as_of.date_naive();
    let day_frac = f64::from(as_of.num_seconds_from_midnight()) / 86_400.0;
    let day = |date: NaiveDate| -> [f64; 3] {
        let midnight = date
            .and_hms_opt(0, 0, 0)
            .map(|n| n.and_utc())
            .unwrap_or(as_of);
        let mut ac = 0.0;
        let mut eks = 0.0;
        let hours = if date == as_of_date {
            (day_frac * 24.0).ceil() as i64
        } else {
            24
        };
        for h in 0..hours {
            let (a, e) = hourly(midnight + ChronoDuration::hours(h));
            let w = if date == as_of_date && h == hours - 1 {
                // The partial last hour.
                day_frac * 24.0 - (hours - 1) as f64
            } else {
                1.0
            };
            ac += a * w;
            eks += e * w;
        }
        let mut out = [ac, eks, (ac + eks) * OTHER_SHARE];
        for (i, v) in out.iter_mut().enumerate() {
            *v = cents(*v * noise(seed, date, i as u64));
        }
        out
    };
    let mut month_to_date = BTreeMap::new();
    for c in CLASSES {
        month_to_date.insert(c, 0.0);
    }
    let month_start =
        NaiveDate::from_ymd_opt(as_of_date.year(), as_of_date.month(), 1).unwrap_or(as_of_date);
    let mut d = month_start;
    while d <= as_of_date {
        let v = day(d);
        for (i, c) in CLASSES.iter().enumerate() {
            if let Some(m) = month_to_date.get_mut(c) {
                *m += v[i];
            }
        }
        match d.succ_opt() {
            Some(n) => d = n,
            None => break,
        }
    }
    for v in month_to_date.values_mut() {
        *v = cents(*v);
    }
    let mut daily = Vec::with_capacity(14 * CLASSES.len());
    for back in (0..14).rev() {
        let date = as_of_date - ChronoDuration::days(back);
        let v = day(date);
        for (i, c) in CLASSES.iter().enumerate() {
            daily.push(DailyCost {
                date,
                class: *c,
                usd: v[i],
            });
        }
    }
    BilledCost {
        as_of,
        month_to_date,
        daily,
    }
}

/// ±6 % day-to-day variation, a pure function of (seed, date, class) so the month-to-date and the
/// daily list agree.
fn noise(seed: u64, date: NaiveDate, class: u64) -> f64 {
    let day = u64::try_from(date.num_days_from_ce()).unwrap_or(0);
    let mut rng = ChaCha8Rng::seed_from_u64(
        seed ^ day.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ class.wrapping_mul(0xD1B5_4A32_D192_ED03),
    );
    1.0 + rng.random_range(-0.06..0.06)
}

fn cents(x: f64) -> f64 {
    if x.is_finite() {
        (x * 100.0).round() / 100.0
    } else {
        0.0
    }
}
