//! Terminal progress: one bar for the rounds, one for the hospitals of the current round.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use securefl_core::RunError;
use securefl_core::observer::{Observer, RunStart};
use securefl_core::records::{ClientRow, RoundRow};

/// Draws progress on stderr (nothing when stderr is not a terminal).
pub struct Progress {
    multi: MultiProgress,
    rounds: Option<ProgressBar>,
    hospitals: Option<ProgressBar>,
}

impl Progress {
    /// A progress view on stderr.
    pub fn new() -> Self {
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            rounds: None,
            hospitals: None,
        }
    }

    /// Removes the bars.
    pub fn finish(&self) {
        let _ = self.multi.clear();
    }
}

/// A bar style from a template.
pub(crate) fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("progress templates are valid")
        .progress_chars("=> ")
}

impl Observer for Progress {
    fn started(&mut self, start: &RunStart) {
        let rounds = self.multi.add(ProgressBar::new(start.rounds as u64));
        rounds.set_style(style(
            "{prefix} rounds    [{bar:30}] {pos}/{len} {msg} ({elapsed})",
        ));
        rounds.set_prefix(start.name.clone());
        let hospitals = self.multi.add(ProgressBar::new(start.hospitals as u64));
        hospitals.set_style(style("{prefix} hospitals [{bar:30}] {pos}/{len} training"));
        hospitals.set_prefix(start.name.clone());
        self.rounds = Some(rounds);
        self.hospitals = Some(hospitals);
    }

    fn hospital_trained(&mut self, _round: usize, _hospital: usize) {
        if let Some(h) = &self.hospitals {
            h.inc(1);
        }
    }

    fn round_finished(&mut self, round: &RoundRow, _clients: &[ClientRow]) -> Result<(), RunError> {
        if let (Some(r), Some(h)) = (&self.rounds, &self.hospitals) {
            if round.round > 0 {
                r.inc(1);
            }
            r.set_message(format!("test acc {:.4}", round.test.accuracy));
            h.reset();
        }
        Ok(())
    }
}
