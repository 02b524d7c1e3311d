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
use time::OffsetDateTime;

use crate::config::Config;
use crate::decide::{Proposal, Refusal, decide};
use crate::decision::Mode;
use crate::ports::{Clock, Datum, DecisionStore, Metrics, PortError, StateStore, StopSwitch};

/// A vantage point's report older than this is no evidence: the witness runs
/// every minute and reports every round, so two missed runs.
pub const REPORT_FRESH_FOR: time::Duration = time::Duration::minutes(2);

/// Where a vantage point keeps its state (the standby) or its report (a
/// witness): one SSM parameter each in the standby Region.
pub fn state_name(config: &Config, vantage: &str) -> String {
    state_name_in(&config.decision_prefix, &config.service, vantage)
}

/// [`state_name`] for a witness, which has no full configuration.
pub fn state_name_in(prefix: &str, service: &str, vantage: &str) -> String {
    format!("{prefix}/{service}/detector/{vantage}")
}

/// A witness's report to the standby: its failed probes of the primary in a
/// row, and when it last probed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VantageReport {
    pub vantage: String,
    pub primary_failures: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl VantageReport {
    pub fn is_fresh(&self, now: OffsetDateTime) -> bool {
        now - self.at <= REPORT_FRESH_FOR
    }
}

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
    /// The end of the last round: readiness reads it as the heartbeat.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub last_round: Option<OffsetDateTime>,
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
    /// Counts a witness's report, if fresh, as its vantage point's evidence; a
    /// silent witness is no evidence either way (with a quorum of two, no
    /// failover until it speaks again).
    pub fn take_report(
        &mut self,
        witness: &str,
        report: Option<&VantageReport>,
        now: OffsetDateTime,
    ) {
        match report {
            Some(r) if r.is_fresh(now) => {
                self.primary_failures
                    .insert(witness.to_owned(), r.primary_failures);
            }
            _ => {
                self.primary_failures.remove(witness);
            }
        }
    }

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
                // Written only for the current epoch: a failback decided since
                // this run read the record must not be undone by its repair.
                let (now, _) = crate::decide::current(
                    self.decisions,
                    self.config,
                    &self.config.service,
                    self.clock,
                )
                .await
                .map_err(|refusal| match refusal {
                    Refusal::Record { error, .. } => error,
                    other => PortError::Unavailable(other.to_string()),
                })?;
                if now.epoch == decided.decision.epoch
                    && &now.active_region == self.config.standby_region()
                {
                    self.stop.publish(switch, &self.config.service, 1.0).await?;
                }
            }
        }
        Ok(Outcome {
            assessment,
            epoch: Some(decided.decision.epoch),
            decided: decided.decided,
        })
    }
}

/// The probe results and the heartbeat of one round, as metrics: the
/// heartbeat alarm fires on their silence.
pub fn round_metrics(service: &str, probes: &[Probe]) -> Vec<Datum> {
    let mut data = Vec::new();
    let mut vantages: Vec<&str> = probes.iter().map(|p| p.vantage.as_str()).collect();
    vantages.dedup();
    for vantage in vantages {
        data.push(Datum {
            name: "DetectorHeartbeat",
            dimensions: vec![
                ("Service", service.to_owned()),
                ("Vantage", vantage.to_owned()),
            ],
            value: 1.0,
        });
    }
    for probe in probes {
        data.push(Datum {
            name: "ProbeFailed",
            dimensions: vec![
                ("Service", service.to_owned()),
                ("Vantage", probe.vantage.clone()),
                (
                    "Target",
                    match probe.target {
                        Target::Primary => "primary",
                        Target::Standby => "standby",
                    }
                    .to_owned(),
                ),
            ],
            value: if probe.ok { 0.0 } else { 1.0 },
        });
    }
    data
}

/// What a round did besides its assessment: the state could not be kept, or
/// the metrics not published. Neither stops the round's decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RoundNotes {
    pub problems: Vec<String>,
}

impl<D: DecisionStore, S: StopSwitch, C: Clock> Detector<'_, D, S, C> {
    /// One scheduled round in the standby Region: load the state (unless
    /// `kept` holds it from an earlier round of the same run), count the
    /// witness's report, take the probes in and act on them ([`Self::run`]),
    /// then save the state (readiness reads it as the heartbeat), keep it in
    /// `kept`, and publish the probe results and the heartbeat.
    pub async fn round<T: StateStore, M: Metrics>(
        &self,
        store: &T,
        metrics: &M,
        witness: Option<&str>,
        probes: &[Probe],
        kept: &mut Option<State>,
    ) -> (Result<Outcome, PortError>, RoundNotes) {
        let mut notes = RoundNotes::default();
        let standby = self.config.standby_region().to_string();
        let own = state_name(self.config, &standby);
        let loaded = match kept.take() {
            Some(state) => Ok(Some(state)),
            None => store.load(&own).await.map(|text| {
                text.map(|text| {
                    serde_json::from_str(&text).unwrap_or_else(|e| {
                        notes
                            .problems
                            .push(format!("{own} unreadable ({e}); starting afresh"));
                        State::default()
                    })
                })
            }),
        };
        let mut state: State = match loaded {
            Ok(Some(state)) => state,
            Ok(None) => State::default(),
            Err(e) => {
                // Without its memory the count starts again: slower, never hastier.
                notes.problems.push(format!("{own}: {e}"));
                State::default()
            }
        };
        let now = self.clock.now();
        if let Some(witness) = witness {
            let name = state_name(self.config, witness);
            let report = match store.load(&name).await {
                Ok(Some(text)) => serde_json::from_str::<VantageReport>(&text).ok(),
                Ok(None) => None,
                Err(e) => {
                    notes.problems.push(format!("{name}: {e}"));
                    None
                }
            };
            state.take_report(witness, report.as_ref(), now);
        }
        let outcome = self.run(&mut state, probes).await;
        state.last_round = Some(self.clock.now());
        match serde_json::to_string(&state) {
            Ok(text) => {
                if let Err(e) = store.save(&own, &text).await {
                    notes.problems.push(format!("{own}: {e}"));
                }
            }
            Err(e) => notes.problems.push(format!("{own}: {e}")),
        }
        *kept = Some(state);
        if let Err(e) = metrics
            .put(&round_metrics(&self.config.service, probes))
            .await
        {
            notes.problems.push(format!("metrics: {e}"));
        }
        (outcome, notes)
    }
}

/// One round of a witness: its probe of the primary, counted into its report
/// in the standby Region, and its metrics there. It decides nothing.
/// `previous` is the report an earlier round of the same run returned; the
/// first round reads it from the store.
pub async fn witness_round<T: StateStore, M: Metrics>(
    store: &T,
    metrics: &M,
    report_name: &str,
    service: &str,
    probe: &Probe,
    now: OffsetDateTime,
    previous: Option<VantageReport>,
) -> Result<VantageReport, PortError> {
    let previous = match previous {
        Some(report) => Some(report),
        None => store
            .load(report_name)
            .await?
            .and_then(|text| serde_json::from_str::<VantageReport>(&text).ok()),
    }
    .filter(|r| r.is_fresh(now));
    let report = VantageReport {
        vantage: probe.vantage.clone(),
        primary_failures: if probe.ok {
            0
        } else {
            previous.map_or(0, |r| r.primary_failures) + 1
        },
        at: now,
    };
    let text = serde_json::to_string(&report)
        .map_err(|e| PortError::Rejected(format!("{report_name}: {e}")))?;
    store.save(report_name, &text).await?;
    metrics
        .put(&round_metrics(service, std::slice::from_ref(probe)))
        .await?;
    Ok(report)
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
