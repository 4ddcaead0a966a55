//! The weights editor's state machine: select, step, review, confirm. Pure logic, no I/O: the app
//! loop feeds it keys and performs the write it asks for.
use crate::domain::path::PathId;
use crate::domain::weights::{Guard, Weights, WeightsError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Moving weights with +/-.
    Editing,
    /// From → to, reason, `y` applies.
    Review,
    /// The change moves more than `max_shift_per_apply`: a second, explicit `y` forces it.
    ConfirmForce { shift: u32, max: u32 },
}

#[derive(Clone, Debug)]
pub struct WeightsEditor {
    pub paths: Vec<PathId>,
    /// The weights (and version) the editor opened with: what the change is computed against.
    pub from: Weights,
    pub version: Option<String>,
    pub proposal: Weights,
    pub selected: usize,
    pub stage: Stage,
    pub reason: String,
    /// Typing into the reason field.
    pub reason_editing: bool,
    /// Shown under the editor: a refused step, a guard message.
    pub message: Option<String>,
    /// The router's weights changed underneath since the editor opened.
    pub changed_underneath: Option<Weights>,
    /// This proposal undoes the last change.
    pub is_undo: bool,
    anchor: Weights,
    anchor_path: Option<PathId>,
    anchor_delta: i32,
}

impl WeightsEditor {
    pub fn open(paths: Vec<PathId>, current: Weights, version: Option<String>) -> Self {
        WeightsEditor {
            paths,
            from: current.clone(),
            version,
            proposal: current.clone(),
            selected: 0,
            stage: Stage::Editing,
            reason: String::new(),
            reason_editing: false,
            message: None,
            changed_underneath: None,
            is_undo: false,
            anchor: current,
            anchor_path: None,
            anchor_delta: 0,
        }
    }

    /// Propose going back to `to` (the weights before the last change), straight to review.
    pub fn undo(
        paths: Vec<PathId>,
        current: Weights,
        version: Option<String>,
        to: Weights,
    ) -> Self {
        let mut e = WeightsEditor::open(paths, current, version);
        e.proposal = to;
        e.is_undo = true;
        e.reason = "undo".into();
        e.stage = Stage::Review;
        e
    }

    pub fn selected_path(&self) -> Option<&PathId> {
        self.paths.get(self.selected)
    }

    pub fn select(&mut self, delta: i32) {
        if self.stage != Stage::Editing || self.paths.is_empty() {
            return;
        }
        let n = self.paths.len() as i32;
        self.selected = ((self.selected as i32 + delta).rem_euclid(n)) as usize;
    }

    /// `+`/`-`: move the selected path by `steps × guard.step`. Consecutive presses on one path
    /// are one move from where that run started, so two `-5`s round like one `-10`.
    pub fn step(&mut self, guard: &Guard, steps: i32) {
        if self.stage != Stage::Editing {
            return;
        }
        let Some(id) = self.selected_path().cloned() else {
            return;
        };
        if self.anchor_path.as_ref() != Some(&id) {
            self.anchor = self.proposal.clone();
            self.anchor_path = Some(id.clone());
            self.anchor_delta = 0;
        }
        let wanted = self.anchor_delta + steps * guard.step as i32;
        match guard.adjust(&self.anchor, &id, wanted) {
            Ok(next) => {
                if next == self.proposal {
                    self.message = Some(format!("{id} cannot move further: bounds reached"));
                } else {
                    self.message = None;
                    self.anchor_delta = wanted;
                    self.proposal = next;
                }
            }
            Err(e) => self.message = Some(e.to_string()),
        }
    }

    pub fn points_moved(&self) -> u32 {
        self.proposal.shift_from(&self.from)
    }

    /// Enter: check the invariants (not the shift limit) and show the review.
    pub fn review(&mut self, guard: &Guard) -> Result<(), WeightsError> {
        if self.proposal == self.from {
            self.message = Some("nothing to apply: the weights are unchanged".into());
            return Ok(());
        }
        guard
            .check(&self.paths, None, &self.proposal, true)
            .inspect_err(|e| {
                self.message = Some(e.to_string());
            })?;
        self.message = None;
        self.stage = Stage::Review;
        Ok(())
    }

    /// `y` in review: Ok(force) when the write should happen now; Err when a second confirmation
    /// or a fix is needed (the editor's message says which).
    pub fn confirm(&mut self, guard: &Guard) -> Option<bool> {
        match &self.stage {
            Stage::Editing => None,
            Stage::Review => {
                match guard.check(&self.paths, Some(&self.from), &self.proposal, false) {
                    Ok(()) => Some(false),
                    Err(WeightsError::TooLarge { shift, max }) => {
                        self.stage = Stage::ConfirmForce { shift, max };
                        self.message = Some(format!(
                        "moves {shift} points (max_shift_per_apply {max}): y again to force, n to go back"
                    ));
                        None
                    }
                    Err(WeightsError::InvalidStored(why)) => {
                        self.stage = Stage::ConfirmForce {
                            shift: 100,
                            max: guard.max_shift_per_apply,
                        };
                        self.message = Some(format!(
                            "the stored weights are invalid ({why}): replacing them counts as a 100-point shift; y again to force, n to go back"
                        ));
                        None
                    }
                    Err(e) => {
                        self.message = Some(e.to_string());
                        None
                    }
                }
            }
            Stage::ConfirmForce { .. } => Some(true),
        }
    }

    /// `n`/Esc: back one stage; returns true when the editor should close.
    pub fn cancel(&mut self) -> bool {
        if self.reason_editing {
            self.reason_editing = false;
            return false;
        }
        match self.stage {
            Stage::Editing => true,
            _ if self.is_undo => true,
            _ => {
                self.stage = Stage::Editing;
                self.message = None;
                false
            }
        }
    }

    /// The router reported weights: if they differ from what the editor opened with, say so.
    pub fn observe_router(&mut self, weights: &Weights, version: Option<&String>) {
        if *weights != self.from || (version.is_some() && version != self.version.as_ref()) {
            self.changed_underneath = Some(weights.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> Vec<PathId> {
        vec![
            "eks-qwen3".into(),
            "agentcore-haiku".into(),
            "agentcore-sonnet".into(),
        ]
    }
    fn start() -> Weights {
        Weights::from_pairs([
            ("eks-qwen3", 70),
            ("agentcore-haiku", 20),
            ("agentcore-sonnet", 10),
        ])
    }
    fn guard() -> Guard {
        let mut g = Guard::default();
        g.min.insert("agentcore-sonnet".into(), 5);
        g
    }

    #[test]
    fn two_minus_presses_give_60_27_13() {
        let g = guard();
        let mut e = WeightsEditor::open(ids(), start(), Some("1".into()));
        e.step(&g, -1);
        e.step(&g, -1);
        assert_eq!(
            e.proposal.to_text(),
            "eks-qwen3=60 agentcore-haiku=27 agentcore-sonnet=13"
        );
        assert_eq!(e.points_moved(), 10);
        e.review(&g).unwrap();
        assert_eq!(e.stage, Stage::Review);
        assert_eq!(e.confirm(&g), Some(false));
    }

    #[test]
    fn switching_paths_starts_a_new_run() {
        let g = guard();
        let mut e = WeightsEditor::open(ids(), start(), None);
        e.step(&g, -1);
        e.select(1);
        e.step(&g, 1);
        assert_eq!(e.proposal.sum(), 100);
        // 65/23/12 after the first run; +5 on haiku takes 5 from 65:12 → 61/28/11.
        assert_eq!(
            e.proposal.to_text(),
            "eks-qwen3=61 agentcore-haiku=28 agentcore-sonnet=11"
        );
    }

    #[test]
    fn large_moves_need_a_second_confirmation() {
        let g = guard();
        let mut e = WeightsEditor::open(ids(), start(), None);
        for _ in 0..6 {
            e.step(&g, -1);
        }
        e.review(&g).unwrap();
        assert_eq!(e.confirm(&g), None);
        assert!(matches!(
            e.stage,
            Stage::ConfirmForce { shift: 30, max: 25 }
        ));
        assert_eq!(e.confirm(&g), Some(true));
    }

    #[test]
    fn bounds_stop_the_step_with_a_message() {
        let g = guard();
        let mut e = WeightsEditor::open(ids(), start(), None);
        e.select(2);
        e.step(&g, -1);
        assert_eq!(e.proposal.get(&"agentcore-sonnet".into()), Some(5));
        e.step(&g, -1);
        assert_eq!(e.proposal.get(&"agentcore-sonnet".into()), Some(5));
        assert!(e.message.as_deref().unwrap_or("").contains("bounds"));
    }

    #[test]
    fn undo_goes_straight_to_review_and_cancel_closes() {
        let g = guard();
        let cur = Weights::from_pairs([
            ("eks-qwen3", 60),
            ("agentcore-haiku", 27),
            ("agentcore-sonnet", 13),
        ]);
        let mut e = WeightsEditor::undo(ids(), cur, None, start());
        assert_eq!(e.stage, Stage::Review);
        assert_eq!(e.confirm(&g), Some(false));
        assert!(e.cancel());
    }

    #[test]
    fn unchanged_weights_are_not_reviewed() {
        let g = guard();
        let mut e = WeightsEditor::open(ids(), start(), None);
        e.review(&g).unwrap();
        assert_eq!(e.stage, Stage::Editing);
        assert!(e.message.is_some());
    }

    #[test]
    fn outside_change_is_noticed() {
        let mut e = WeightsEditor::open(ids(), start(), Some("5".into()));
        e.observe_router(&start(), Some(&"5".to_string()));
        assert!(e.changed_underneath.is_none());
        let other = Weights::from_pairs([
            ("eks-qwen3", 50),
            ("agentcore-haiku", 40),
            ("agentcore-sonnet", 10),
        ]);
        e.observe_router(&other, Some(&"6".to_string()));
        assert_eq!(e.changed_underneath, Some(other));
    }
}
