//! Router weights and the guard that every change passes through — one place for the invariants.
use crate::domain::path::PathId;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// Path id → integer percent, in the configured path order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Weights(pub IndexMap<PathId, u32>);

impl Weights {
    pub fn from_pairs<I, P>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (P, u32)>,
        P: Into<PathId>,
    {
        Weights(pairs.into_iter().map(|(p, w)| (p.into(), w)).collect())
    }
    pub fn get(&self, id: &PathId) -> Option<u32> {
        self.0.get(id).copied()
    }
    /// The sum, saturating: stored weights are untrusted and may be anything up to `u32::MAX`.
    pub fn sum(&self) -> u32 {
        let s: u64 = self.0.values().map(|v| u64::from(*v)).sum();
        u32::try_from(s).unwrap_or(u32::MAX)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&PathId, u32)> {
        self.0.iter().map(|(k, v)| (k, *v))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Total points moved between two weight sets: sum of |Δ| / 2.
    pub fn shift_from(&self, from: &Weights) -> u32 {
        let mut ids: Vec<&PathId> = self.0.keys().collect();
        for k in from.0.keys() {
            if !self.0.contains_key(k) {
                ids.push(k);
            }
        }
        let total: u64 = ids
            .into_iter()
            .map(|id| {
                u64::from(
                    self.get(id)
                        .unwrap_or(0)
                        .abs_diff(from.get(id).unwrap_or(0)),
                )
            })
            .sum();
        u32::try_from(total / 2).unwrap_or(u32::MAX)
    }

    /// Why weights read back from a router are not a valid split of `paths`, if they are not:
    /// a path missing, a path that is not configured, a value beyond 100 %, or a sum other
    /// than 100. Names the value.
    pub fn stored_problem(&self, paths: &[PathId]) -> Option<String> {
        let mut why = Vec::new();
        for p in paths {
            match self.get(p) {
                None => why.push(format!("'{p}' has no weight")),
                Some(v) if v > 100 => why.push(format!("'{p}' = {v} is beyond 100 %")),
                Some(_) => {}
            }
        }
        for k in self.0.keys().filter(|k| !paths.contains(k)) {
            why.push(format!("'{k}' is not a configured path"));
        }
        let sum = self.sum();
        if why.is_empty() && sum != 100 {
            why.push(format!("they sum to {sum}, not 100"));
        }
        (!why.is_empty()).then(|| why.join("; "))
    }
    /// `eks-qwen3=70 agentcore-haiku=20 …` in path order.
    pub fn to_text(&self) -> String {
        self.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guard {
    pub step: u32,
    pub max_shift_per_apply: u32,
    pub min: BTreeMap<PathId, u32>,
    pub max: BTreeMap<PathId, u32>,
}

impl Default for Guard {
    fn default() -> Self {
        Guard {
            step: 5,
            max_shift_per_apply: 25,
            min: BTreeMap::new(),
            max: BTreeMap::new(),
        }
    }
}

impl Guard {
    pub fn min_of(&self, id: &PathId) -> u32 {
        self.min.get(id).copied().unwrap_or(0)
    }
    pub fn max_of(&self, id: &PathId) -> u32 {
        self.max.get(id).copied().unwrap_or(100).min(100)
    }

    /// Check a proposed change. `paths` is the configured path set, in order.
    pub fn check(
        &self,
        paths: &[PathId],
        from: Option<&Weights>,
        to: &Weights,
        force: bool,
    ) -> Result<(), WeightsError> {
        for id in to.0.keys() {
            if !paths.contains(id) {
                return Err(WeightsError::UnknownPath(id.clone()));
            }
        }
        for id in paths {
            let Some(w) = to.get(id) else {
                return Err(WeightsError::MissingPath(id.clone()));
            };
            let (lo, hi) = (self.min_of(id), self.max_of(id));
            if w < lo || w > hi {
                return Err(WeightsError::OutOfBounds {
                    path: id.clone(),
                    value: w,
                    min: lo,
                    max: hi,
                });
            }
        }
        let sum = to.sum();
        if sum == 0 {
            return Err(WeightsError::AllZero);
        }
        if sum != 100 {
            return Err(WeightsError::Sum(sum));
        }
        if let Some(from) = from {
            // Stored weights are untrusted: replacing ones that are not a valid split counts as
            // the largest shift, whatever the arithmetic says (2³¹ would wrap it to anything).
            if let Some(why) = from.stored_problem(paths) {
                if !force {
                    return Err(WeightsError::InvalidStored(why));
                }
                return Ok(());
            }
            let shift = to.shift_from(from);
            if shift > self.max_shift_per_apply && !force {
                return Err(WeightsError::TooLarge {
                    shift,
                    max: self.max_shift_per_apply,
                });
            }
        }
        Ok(())
    }

    /// Move `id` by `delta` points; the other paths give or take proportionally to their current
    /// weights, within their bounds, rounded by largest remainder so the sum stays 100.
    /// Returns the new weights (unchanged if nothing can move).
    pub fn adjust(
        &self,
        current: &Weights,
        id: &PathId,
        delta: i32,
    ) -> Result<Weights, WeightsError> {
        let Some(cur) = current.get(id) else {
            return Err(WeightsError::UnknownPath(id.clone()));
        };
        let (lo, hi) = (self.min_of(id), self.max_of(id));
        let wanted = (i64::from(cur) + i64::from(delta)).clamp(i64::from(lo), i64::from(hi));
        let wanted_delta = wanted - i64::from(cur);
        if wanted_delta == 0 {
            return Ok(current.clone());
        }
        // The others move by -wanted_delta in total; gaining means the others lose.
        let others_gain = wanted_delta < 0;
        let mut remaining = wanted_delta.unsigned_abs();
        let others: Vec<(PathId, u32)> = current
            .iter()
            .filter(|(k, _)| *k != id)
            .map(|(k, v)| (k.clone(), v))
            .collect();
        let capacity = |k: &PathId, v: u32| -> u64 {
            if others_gain {
                u64::from(self.max_of(k).saturating_sub(v))
            } else {
                u64::from(v.saturating_sub(self.min_of(k)))
            }
        };
        let mut change: Vec<u64> = vec![0; others.len()];
        let mut fixed: Vec<bool> = others.iter().map(|(k, v)| capacity(k, *v) == 0).collect();
        // Proportional split; paths that hit a bound are fixed at it and the rest re-split.
        loop {
            let active: Vec<usize> = (0..others.len()).filter(|&i| !fixed[i]).collect();
            if active.is_empty() || remaining == 0 {
                break;
            }
            let total_w: u64 = active.iter().map(|&i| u64::from(others[i].1)).sum();
            let rem = remaining;
            let n_active = active.len();
            let share = |i: usize| -> f64 {
                if total_w == 0 {
                    rem as f64 / n_active as f64
                } else {
                    rem as f64 * others[i].1 as f64 / total_w as f64
                }
            };
            let mut clamped = false;
            let mut taken = 0;
            for &i in &active {
                let cap = capacity(&others[i].0, others[i].1) - change[i];
                if share(i) >= cap as f64 {
                    change[i] += cap;
                    taken += cap;
                    fixed[i] = true;
                    clamped = true;
                }
            }
            remaining -= taken;
            if clamped {
                continue;
            }
            // Largest remainder: floors first, then +1 to the biggest fractions.
            let ideal: Vec<(usize, f64)> = active.iter().map(|&i| (i, share(i))).collect();
            let mut given = 0u64;
            for &(i, s) in &ideal {
                let f = s.floor() as u64;
                change[i] += f;
                given += f;
            }
            let mut left = rem - given;
            let mut order = ideal.clone();
            order.sort_by(|a, b| {
                let fa = a.1 - a.1.floor();
                let fb = b.1 - b.1.floor();
                fb.total_cmp(&fa)
                    .then(others[b.0].1.cmp(&others[a.0].1))
                    .then(a.0.cmp(&b.0))
            });
            for (i, _) in order {
                if left == 0 {
                    break;
                }
                change[i] += 1;
                left -= 1;
            }
            debug_assert_eq!(left, 0);
            break;
        }
        let moved: u64 = change.iter().sum();
        let mut out = current.clone();
        for (i, (k, v)) in others.iter().enumerate() {
            let c = change[i] as u32;
            let nv = if others_gain { v + c } else { v - c };
            out.0.insert(k.clone(), nv);
        }
        let moved = moved as u32;
        let nv = if wanted_delta > 0 {
            cur + moved
        } else {
            cur - moved
        };
        out.0.insert(id.clone(), nv);
        Ok(out)
    }
}

#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum WeightsError {
    #[error("unknown path id '{0}'")]
    UnknownPath(PathId),
    #[error("path '{0}' is missing: every configured path needs a weight")]
    MissingPath(PathId),
    #[error("'{path}' = {value} is outside its bounds [{min}, {max}]")]
    OutOfBounds {
        path: PathId,
        value: u32,
        min: u32,
        max: u32,
    },
    #[error("weights sum to {0}, not 100")]
    Sum(u32),
    #[error("all weights are zero: that would route nothing")]
    AllZero,
    #[error(
        "moves {shift} points, more than max_shift_per_apply = {max} (use --force to override)"
    )]
    TooLarge { shift: u32, max: u32 },
    #[error("the stored weights are invalid ({0}); replacing them counts as the largest shift (use --force to override)")]
    InvalidStored(String),
    #[error("'{0}' is not ID=PERCENT")]
    Syntax(String),
    #[error("path '{0}' is given twice")]
    Duplicate(PathId),
}

/// Parse `ID=PCT` arguments in the configured path order.
pub fn parse_assignments(args: &[String], paths: &[PathId]) -> Result<Weights, WeightsError> {
    let mut given: IndexMap<PathId, u32> = IndexMap::new();
    for a in args {
        let (k, v) = a
            .split_once('=')
            .ok_or_else(|| WeightsError::Syntax(a.clone()))?;
        let pct: u32 = v
            .trim()
            .parse()
            .map_err(|_| WeightsError::Syntax(a.clone()))?;
        let id = PathId::new(k.trim());
        if given.insert(id.clone(), pct).is_some() {
            return Err(WeightsError::Duplicate(id));
        }
    }
    let mut out = IndexMap::new();
    for p in paths {
        if let Some(v) = given.shift_remove(p) {
            out.insert(p.clone(), v);
        }
    }
    if let Some((k, _)) = given.into_iter().next() {
        return Err(WeightsError::UnknownPath(k));
    }
    Ok(Weights(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn w(v: &[(&str, u32)]) -> Weights {
        Weights::from_pairs(v.iter().map(|(k, v)| (*k, *v)))
    }
    fn ids() -> Vec<PathId> {
        vec![
            "eks-qwen3".into(),
            "agentcore-haiku".into(),
            "agentcore-sonnet".into(),
        ]
    }

    #[test]
    fn two_steps_down_moves_others_proportionally() {
        let g = Guard::default();
        let start = w(&[
            ("eks-qwen3", 70),
            ("agentcore-haiku", 20),
            ("agentcore-sonnet", 10),
        ]);
        // The editor accumulates steps on one path against the weights it opened with, so two
        // `-` presses are one ten-point move: 20:10 share 10 points as 6.67/3.33 → 7/3.
        let out = g.adjust(&start, &"eks-qwen3".into(), -10).unwrap();
        assert_eq!(
            out,
            w(&[
                ("eks-qwen3", 60),
                ("agentcore-haiku", 27),
                ("agentcore-sonnet", 13)
            ])
        );
        // Applying steps one after the other rounds twice and lands elsewhere.
        let once = g.adjust(&start, &"eks-qwen3".into(), -5).unwrap();
        assert_eq!(
            once,
            w(&[
                ("eks-qwen3", 65),
                ("agentcore-haiku", 23),
                ("agentcore-sonnet", 12)
            ])
        );
    }

    #[test]
    fn respects_min_bound_of_others() {
        let mut g = Guard::default();
        g.min.insert("agentcore-sonnet".into(), 5);
        let start = w(&[
            ("eks-qwen3", 70),
            ("agentcore-haiku", 20),
            ("agentcore-sonnet", 10),
        ]);
        let out = g.adjust(&start, &"eks-qwen3".into(), 25).unwrap();
        assert_eq!(out.sum(), 100);
        assert_eq!(out.get(&"agentcore-sonnet".into()), Some(5));
        assert_eq!(out.get(&"eks-qwen3".into()), Some(95));
        assert_eq!(out.get(&"agentcore-haiku".into()), Some(0));
        // Nothing left to take: a further increase changes nothing.
        assert_eq!(g.adjust(&out, &"eks-qwen3".into(), 5).unwrap(), out);
    }

    #[test]
    fn clamps_own_bounds() {
        let mut g = Guard::default();
        g.max.insert("eks-qwen3".into(), 80);
        let start = w(&[
            ("eks-qwen3", 78),
            ("agentcore-haiku", 12),
            ("agentcore-sonnet", 10),
        ]);
        let out = g.adjust(&start, &"eks-qwen3".into(), 5).unwrap();
        assert_eq!(out.get(&"eks-qwen3".into()), Some(80));
        assert_eq!(out.sum(), 100);
    }

    #[test]
    fn zero_weight_others_share_equally() {
        let g = Guard::default();
        let start = w(&[
            ("eks-qwen3", 100),
            ("agentcore-haiku", 0),
            ("agentcore-sonnet", 0),
        ]);
        let out = g.adjust(&start, &"eks-qwen3".into(), -10).unwrap();
        assert_eq!(
            out,
            w(&[
                ("eks-qwen3", 90),
                ("agentcore-haiku", 5),
                ("agentcore-sonnet", 5)
            ])
        );
    }

    #[test]
    fn guard_rejects_each_invariant() {
        let mut g = Guard::default();
        g.min.insert("agentcore-sonnet".into(), 5);
        let from = w(&[
            ("eks-qwen3", 70),
            ("agentcore-haiku", 20),
            ("agentcore-sonnet", 10),
        ]);
        let p = ids();
        assert_eq!(
            g.check(
                &p,
                Some(&from),
                &w(&[("eks-qwen3", 80), ("agentcore-haiku", 15)]),
                false
            ),
            Err(WeightsError::MissingPath("agentcore-sonnet".into()))
        );
        assert_eq!(
            g.check(
                &p,
                Some(&from),
                &w(&[
                    ("eks-qwen3", 80),
                    ("agentcore-haiku", 15),
                    ("agentcore-sonnet", 0)
                ]),
                false
            ),
            Err(WeightsError::OutOfBounds {
                path: "agentcore-sonnet".into(),
                value: 0,
                min: 5,
                max: 100
            })
        );
        assert_eq!(
            g.check(
                &p,
                Some(&from),
                &w(&[
                    ("eks-qwen3", 80),
                    ("agentcore-haiku", 10),
                    ("agentcore-sonnet", 5)
                ]),
                false
            ),
            Err(WeightsError::Sum(95))
        );
        assert_eq!(
            g.check(
                &p,
                Some(&from),
                &w(&[
                    ("eks-qwen3", 40),
                    ("agentcore-haiku", 50),
                    ("agentcore-sonnet", 10)
                ]),
                false
            ),
            Err(WeightsError::TooLarge { shift: 30, max: 25 })
        );
        assert!(g
            .check(
                &p,
                Some(&from),
                &w(&[
                    ("eks-qwen3", 40),
                    ("agentcore-haiku", 50),
                    ("agentcore-sonnet", 10)
                ]),
                true
            )
            .is_ok());
        let g0 = Guard::default();
        assert_eq!(
            g0.check(
                &p,
                None,
                &w(&[
                    ("eks-qwen3", 0),
                    ("agentcore-haiku", 0),
                    ("agentcore-sonnet", 0)
                ]),
                false
            ),
            Err(WeightsError::AllZero)
        );
        assert!(matches!(
            g.check(&p, None, &w(&[("nope", 100)]), false),
            Err(WeightsError::UnknownPath(_))
        ));
    }

    #[test]
    fn parses_assignments_in_path_order() {
        let p = ids();
        let args: Vec<String> = ["agentcore-sonnet=5", "eks-qwen3=80", "agentcore-haiku=15"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = parse_assignments(&args, &p).unwrap();
        assert_eq!(
            out.to_text(),
            "eks-qwen3=80 agentcore-haiku=15 agentcore-sonnet=5"
        );
        assert!(matches!(
            parse_assignments(&["x".into()], &p),
            Err(WeightsError::Syntax(_))
        ));
        assert!(matches!(
            parse_assignments(&["zzz=1".into()], &p),
            Err(WeightsError::UnknownPath(_))
        ));
        assert!(matches!(
            parse_assignments(&["eks-qwen3=1".into(), "eks-qwen3=2".into()], &p),
            Err(WeightsError::Duplicate(_))
        ));
    }

    fn arb_weights() -> impl Strategy<Value = Weights> {
        (0u32..=100, 0u32..=100).prop_map(|(a, b)| {
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            w(&[
                ("eks-qwen3", lo),
                ("agentcore-haiku", hi - lo),
                ("agentcore-sonnet", 100 - hi),
            ])
        })
    }

    proptest! {
        #[test]
        fn adjust_keeps_invariants(start in arb_weights(), which in 0usize..3, delta in -30i32..=30,
                                   min_s in 0u32..10, max_e in 50u32..=100) {
            let mut g = Guard::default();
            g.min.insert("agentcore-sonnet".into(), min_s);
            g.max.insert("eks-qwen3".into(), max_e);
            let p = ids();
            // Only start from weights that satisfy the guard.
            prop_assume!(g.check(&p, None, &start, true).is_ok());
            let id = p[which].clone();
            let out = g.adjust(&start, &id, delta).unwrap();
            prop_assert_eq!(out.sum(), 100);
            prop_assert!(g.check(&p, None, &out, true).is_ok());
            // The selected path moves in the asked direction, never past the request.
            let before = i64::from(start.get(&id).unwrap());
            let after = i64::from(out.get(&id).unwrap());
            prop_assert!((after - before).abs() <= i64::from(delta.abs()));
            prop_assert!((after - before) * i64::from(delta) >= 0);
            // Others all move the opposite way (or not at all).
            for o in p.iter().filter(|o| **o != id) {
                let d = i64::from(out.get(o).unwrap()) - i64::from(start.get(o).unwrap());
                prop_assert!(d * (after - before) <= 0);
            }
        }
    }
}
