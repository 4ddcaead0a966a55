//! Which traces have been read whole while a trace source polls roots first. Session figures
//! need only the roots; a waterfall needs the children too, and those arrive for a sample of
//! sessions and for any waterfall an operator opens. Bounded: the oldest ids go first.
use crate::model::update::WaterfallReport;
use std::collections::{HashSet, VecDeque};

#[derive(Clone, Debug, Default)]
pub struct Waterfalls {
    roots_only: bool,
    whole: HashSet<Box<str>>,
    order: VecDeque<Box<str>>,
    cap: usize,
}

impl Waterfalls {
    /// Remember at most `cap` whole traces.
    pub fn new(cap: usize) -> Waterfalls {
        Waterfalls {
            cap: cap.max(1),
            ..Waterfalls::default()
        }
    }

    pub fn apply(&mut self, r: WaterfallReport) {
        self.roots_only = r.roots_only;
        for t in r.whole {
            let t: Box<str> = t.into();
            if self.whole.insert(t.clone()) {
                self.order.push_back(t);
            }
        }
        while self.order.len() > self.cap {
            if let Some(old) = self.order.pop_front() {
                self.whole.remove(&old);
            }
        }
    }

    /// A trace source polls roots only: waterfalls of traces not read whole show their roots.
    pub fn roots_only(&self) -> bool {
        self.roots_only
    }

    /// Every observation of this trace has arrived (always true unless polling roots only).
    pub fn is_whole(&self, trace: &str) -> bool {
        !self.roots_only || self.whole.contains(trace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::update::SourceName;

    fn report(roots_only: bool, whole: &[&str]) -> WaterfallReport {
        WaterfallReport {
            source: SourceName::Langfuse,
            roots_only,
            whole: whole.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn whole_traces_are_remembered_up_to_the_cap() {
        let mut w = Waterfalls::new(2);
        assert!(
            w.is_whole("a"),
            "not polling roots only: everything is whole"
        );
        w.apply(report(true, &[]));
        assert!(!w.is_whole("a"));
        w.apply(report(true, &["a", "b"]));
        assert!(w.is_whole("a") && w.is_whole("b"));
        w.apply(report(true, &["c", "c"]));
        assert!(!w.is_whole("a"), "the oldest went first");
        assert!(w.is_whole("b") && w.is_whole("c"));
        w.apply(report(false, &[]));
        assert!(w.is_whole("zzz"), "back to whole polling");
    }
}
