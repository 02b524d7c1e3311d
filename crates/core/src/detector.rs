//! The detector: declares the primary Region down only on evidence a single
//! fault cannot fake. Its probes of the primary's own regional endpoint come
//! from at least two vantage points (the standby Region, a witness Region);
//! the primary is down only when a quorum of them has failed `failures` times
//! in a row **and** the standby itself is healthy. Then it decides through the
//! same function as the button ([`crate::decide`], actor `detector`, the
//! evidence as the reason) and publishes the STOP metric, whose data the
//! promoter confirms. It never fails back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::decide::{Proposal, Refusal, decide};
use crate::decision::Mode;
use crate::ports::{Clock, DecisionStore, PortError, StopSwitch};

/// What a probe looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The primary Region's own regional endpoint (not the failover name).
    Primary,
    /// The standby's own health.
    Standby,
}

/// One probe's result, from one vantage point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    pub vantage: String,
    pub target: Target,
    pub ok: bool,
}

/// When the primary counts as down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Consecutive failed probes of the primary from one vantage point.
    pub failures: u32,
    /// Vantage points that must agree.
    pub quorum: usize,
}

impl Default for Settings {
    /// Three failures in a row (90 s at the default 30 s interval), from two
    /// vantage points.
    fn default() -> Self {
        Settings {
            failures: 3,
            quorum: 2,
        }
    }
}

/// The detector's memory between runs: failures in a row per vantage point,
/// and whether the standby answered its last probe.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub primary_failures: BTreeMap<String, u32>,
    pub standby_healthy: Option<bool>,
}

/// What the probes say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "assessment", rename_all = "snake_case")]
pub enum Assessment {
    PrimaryHealthy,
    /// Some vantage points fail, not enough of them, or not for long enough.
    Suspect {
        detail: String,
    },
    /// The standby is not healthy: failing over to it would not help.
    StandbyUnhealthy,
    PrimaryDown {
        evidence: String,
    },
}

impl State {
    /// Takes in one round of probes.
    pub fn observe(&mut self, probes: &[Probe]) {
        for probe in probes {
            match probe.target {
                Target::Primary => {
                    let count = self
                        .primary_failures
                        .entry(probe.vantage.clone())
                        .or_default();
                    *count = if probe.ok { 0 } else { *count + 1 };
                }
                Target::Standby => self.standby_healthy = Some(probe.ok),
            }
        }
    }

    pub fn assess(&self, settings: Settings) -> Assessment {
        let failing: Vec<(&String, &u32)> = self
            .primary_failures
            .iter()
            .filter(|(_, n)| **n > 0)
            .collect();
        if failing.is_empty() {
            return Assessment::PrimaryHealthy;
        }
        let down: Vec<String> = failing
            .iter()
            .filter(|(_, n)| **n >= settings.failures)
            .map(|(v, n)| format!("{v} ({n} failed probes in a row)"))
            .collect();
        if down.len() < settings.quorum {
            return Assessment::Suspect {
                detail: format!(
                    "{} of the {} vantage points needed see the primary down: {}",
                    down.len(),
                    settings.quorum,
                    failing
                        .iter()
                        .map(|(v, n)| format!("{v} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
        }
        if self.standby_healthy != Some(true) {
            return Assessment::StandbyUnhealthy;
        }
        Assessment::PrimaryDown {
            evidence: format!("primary down from {}", down.join(" and ")),
        }
    }
}

/// What one run of the detector did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub assessment: Assessment,
    /// The epoch now in force, when the detector decided or found it decided.
    pub epoch: Option<u64>,
    pub decided: bool,
}

/// The detector, wired to the decision record and the STOP switch of the
/// standby Region.
pub struct Detector<'a, D, S, C> {
    pub config: &'a Config,
    pub decisions: &'a D,
    pub stop: &'a S,
    pub clock: &'a C,
    pub settings: Settings,
}

impl<D: DecisionStore, S: StopSwitch, C: Clock> Detector<'_, D, S, C> {
    /// One round: take the probes in, assess, and on a confirmed outage
    /// decide and publish the STOP metric. Refusals (cooldown, an
    /// unprotected data tier) are reported, never overridden.
    pub async fn run(&self, state: &mut State, probes: &[Probe]) -> Result<Outcome, PortError> {
        state.observe(probes);
        let assessment = state.assess(self.settings);
        let Assessment::PrimaryDown { evidence } = &assessment else {
            return Ok(Outcome {
                assessment,
                epoch: None,
                decided: false,
            });
        };
        let proposal = Proposal {
            service: &self.config.service,
            target: self.config.standby_region(),
            actor: "detector",
            reason: evidence,
            mode: Mode::Ungraceful,
            override_cooldown: false,
            accept_data_loss: false,
            dry_run: false,
        };
        let decided = match decide(self.decisions, self.clock, self.config, &proposal).await {
            Ok(decided) => decided,
            Err(Refusal::Record { error, .. }) => return Err(error),
            Err(refusal) => {
                return Ok(Outcome {
                    assessment: Assessment::Suspect {
                        detail: format!("primary down, but not decided: {refusal}"),
                    },
                    epoch: None,
                    decided: false,
                });
            }
        };
        // The switch the promoter confirms an automatic failover by: written
        // when this run decided, or when it is not 1 yet (a publish that failed).
        if &decided.decision.active_region == self.config.standby_region()
            && let Some(switch) = self
                .config
                .service(&self.config.service)
                .and_then(|s| s.stop_metric.as_ref())
        {
            let published = decided.decided
                || self
                    .stop
                    .read(switch, &self.config.service)
                    .await?
                    .last_value
                    == Some(1.0);
            if decided.decided || !published {
                self.stop.publish(switch, &self.config.service, 1.0).await?;
            }
        }
        Ok(Outcome {
            assessment,
            epoch: Some(decided.decision.epoch),
            decided: decided.decided,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(vantage: &str, target: Target, ok: bool) -> Probe {
        Probe {
            vantage: vantage.into(),
            target,
            ok,
        }
    }

    fn round(
        standby_sees_primary: bool,
        witness_sees_primary: bool,
        standby_ok: bool,
    ) -> Vec<Probe> {
        vec![
            probe("us-west-2", Target::Primary, standby_sees_primary),
            probe("eu-west-1", Target::Primary, witness_sees_primary),
            probe("us-west-2", Target::Standby, standby_ok),
        ]
    }

    #[test]
    fn a_single_failed_probe_is_not_an_outage() {
        let mut state = State::default();
        state.observe(&round(false, false, true));
        assert!(matches!(
            state.assess(Settings::default()),
            Assessment::Suspect { .. }
        ));
        state.observe(&round(true, true, true));
        assert_eq!(
            state.assess(Settings::default()),
            Assessment::PrimaryHealthy
        );
    }

    #[test]
    fn a_flapping_primary_never_reaches_three_in_a_row() {
        let mut state = State::default();
        for i in 0..12 {
            let up = (i / 2) % 2 == 1; // two rounds down, two up, …
            state.observe(&round(up, up, true));
            assert!(!matches!(
                state.assess(Settings::default()),
                Assessment::PrimaryDown { .. }
            ));
        }
    }

    #[test]
    fn one_vantage_point_alone_is_not_a_quorum() {
        // The standby's own network is cut from the primary; the witness still reaches it.
        let mut state = State::default();
        for _ in 0..10 {
            state.observe(&round(false, true, true));
        }
        let Assessment::Suspect { detail } = state.assess(Settings::default()) else {
            panic!()
        };
        assert!(detail.contains("1 of the 2"), "{detail}");
    }

    #[test]
    fn three_failures_from_both_vantage_points_with_a_healthy_standby_is_an_outage() {
        let mut state = State::default();
        for _ in 0..3 {
            state.observe(&round(false, false, true));
        }
        let Assessment::PrimaryDown { evidence } = state.assess(Settings::default()) else {
            panic!()
        };
        assert!(
            evidence.contains("us-west-2") && evidence.contains("eu-west-1"),
            "{evidence}"
        );
        // An unhealthy standby holds it back.
        state.observe(&round(false, false, false));
        assert_eq!(
            state.assess(Settings::default()),
            Assessment::StandbyUnhealthy
        );
    }
}
