//! The detector: declares the primary Region down only on evidence a single
//! fault cannot fake. Its probes of the primary's own regional endpoint come
//! from at least two vantage points (the standby Region, a witness Region);
//! the primary is down only when a quorum of them has failed `failures` times
//! in a row **and** the standby itself is healthy. Then it decides through the
//! same function as the button ([`crate::decide`], actor `detector`, the
//! evidence as the reason) and publishes the STOP metric, whose data the
//! promoter confirms. It never fails back.

use std::collections::{BTreeMap, BTreeSet};

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

/// A report dated later than this past the reader's clock is refused: clocks
/// agree to well within it, so such a report is planted or broken, and it
/// would otherwise stay "fresh" for as long as it is in the future.
pub const REPORT_CLOCK_SKEW: time::Duration = time::Duration::seconds(30);

/// A witness's report to the standby: its failed probes of the primary in a
/// row, whether it has ever seen the primary healthy, and when it last probed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VantageReport {
    pub vantage: String,
    pub primary_failures: u32,
    /// Set by the first healthy probe, kept from then on. An unarmed witness
    /// counts no failures: a mistyped URL or an undeployed primary is not an
    /// outage. Reports without it (older binaries) read as unarmed.
    #[serde(default)]
    pub armed: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl VantageReport {
    /// Recent, and not from the future.
    pub fn is_fresh(&self, now: OffsetDateTime) -> bool {
        now - self.at <= REPORT_FRESH_FOR && self.at - now <= REPORT_CLOCK_SKEW
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

/// What one probe saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Seen {
    /// A 2xx answer in time.
    Up,
    /// No answer, a timeout, a TLS or connection failure, or a 5xx.
    Down,
    /// An answer that says nothing about the Region being down: a 429
    /// (anyone can empty a throttle bucket) or another 4xx. It counts no
    /// failure and breaks the row (failures must be in a row, and this is an
    /// answer), so a flood at any rate, mixed with real timeouts, fails
    /// nothing over; it arms nothing either.
    NoEvidence,
}

/// One probe's result, from one vantage point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    pub vantage: String,
    pub target: Target,
    pub seen: Seen,
}

impl Probe {
    pub fn new(vantage: impl Into<String>, target: Target, seen: Seen) -> Self {
        Probe {
            vantage: vantage.into(),
            target,
            seen,
        }
    }

    /// A healthy probe.
    pub fn is_up(&self) -> bool {
        self.seen == Seen::Up
    }
}

/// When the primary counts as down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Consecutive failed probes of the primary from one vantage point.
    pub failures: u32,
    /// Vantage points that must agree.
    pub quorum: usize,
    /// The least time between two failures that both count: extra
    /// invocations (a retried schedule, a manual test) must not count
    /// failures seconds apart and so shorten `failures × interval`.
    pub spacing: time::Duration,
}

impl Settings {
    /// The spacing for a probe interval: four fifths of it, which leaves room
    /// for a round that ran late without letting two rounds share a slot.
    pub fn spacing_for(interval: std::time::Duration) -> time::Duration {
        time::Duration::milliseconds((interval.as_millis() * 4 / 5) as i64)
    }
}

impl Default for Settings {
    /// Three failures in a row (90 s at the default 30 s interval), from two
    /// vantage points.
    fn default() -> Self {
        Settings {
            failures: 3,
            quorum: 2,
            spacing: Settings::spacing_for(std::time::Duration::from_secs(30)),
        }
    }
}

/// The detector's memory between runs: failures in a row per vantage point,
/// and whether the standby answered its last probe.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub primary_failures: BTreeMap<String, u32>,
    /// The standby's own vantage points that have seen the primary healthy at
    /// least once; only they count failures (a witness's report says so itself).
    #[serde(default)]
    pub armed: BTreeSet<String>,
    /// When each vantage point's last counted failure was seen.
    #[serde(default)]
    pub failure_counted_at: BTreeMap<String, OffsetDateTime>,
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
    /// No vantage point has seen the primary healthy yet: its failures are
    /// not counted (a mistyped URL, a primary not deployed yet, a certificate
    /// outside the trusted roots).
    Unarmed,
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
            Some(r) if r.is_fresh(now) && r.armed => {
                self.armed.insert(witness.to_owned());
                self.primary_failures
                    .insert(witness.to_owned(), r.primary_failures);
            }
            _ => {
                self.primary_failures.remove(witness);
                self.armed.remove(witness);
            }
        }
    }

    /// Takes in one round of probes seen at `now`. A failure counts only from
    /// an armed vantage point, and only `settings.spacing` after the last one
    /// it counted; a probe with no evidence breaks the row.
    pub fn observe(&mut self, probes: &[Probe], now: OffsetDateTime, settings: Settings) {
        for probe in probes {
            let vantage = &probe.vantage;
            match (probe.target, probe.seen) {
                (Target::Primary, Seen::Up) => {
                    self.armed.insert(vantage.clone());
                    self.primary_failures.insert(vantage.clone(), 0);
                    self.failure_counted_at.remove(vantage);
                }
                (Target::Primary, Seen::Down) => {
                    if !self.armed.contains(vantage) {
                        continue;
                    }
                    let too_soon = self
                        .failure_counted_at
                        .get(vantage)
                        .is_some_and(|at| now - *at < settings.spacing && now >= *at);
                    if too_soon {
                        continue;
                    }
                    let count = self.primary_failures.entry(vantage.clone()).or_default();
                    *count = count.saturating_add(1);
                    self.failure_counted_at.insert(vantage.clone(), now);
                }
                (Target::Primary, Seen::NoEvidence) => {
                    self.primary_failures.insert(vantage.clone(), 0);
                    self.failure_counted_at.remove(vantage);
                }
                // A flood of the standby's /health must not hold a failover
                // back: its 429 leaves the last word on the standby as it was.
                (Target::Standby, Seen::NoEvidence) => {}
                (Target::Standby, seen) => self.standby_healthy = Some(seen == Seen::Up),
            }
        }
    }

    pub fn assess(&self, settings: Settings) -> Assessment {
        if self.armed.is_empty() {
            return Assessment::Unarmed;
        }
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
        state.observe(probes, self.clock.now(), self.settings);
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
            value: if probe.is_up() { 0.0 } else { 1.0 },
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
        // A state that could not be read is not overwritten: a transient SSM
        // error must not wipe the arming for good (the next run reads it again).
        let mut keep = true;
        let mut state: State = match loaded {
            Ok(Some(state)) => state,
            Ok(None) => State::default(),
            Err(e) => {
                // Without its memory the count starts again: slower, never hastier.
                notes.problems.push(format!("{own}: {e} (not overwritten)"));
                keep = false;
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
        if keep {
            match serde_json::to_string(&state) {
                Ok(text) => {
                    if let Err(e) = store.save(&own, &text).await {
                        notes.problems.push(format!("{own}: {e}"));
                    }
                }
                Err(e) => notes.problems.push(format!("{own}: {e}")),
            }
            *kept = Some(state);
        }
        if let Err(e) = metrics
            .put(&round_metrics(&self.config.service, probes))
            .await
        {
            notes.problems.push(format!("metrics: {e}"));
        }
        (outcome, notes)
    }
}

/// What a witness's rounds share: where its report goes, for which service,
/// and the least time between two failures it counts.
#[derive(Debug, Clone, Copy)]
pub struct Witness<'a> {
    pub report_name: &'a str,
    pub service: &'a str,
    pub spacing: time::Duration,
}

/// One round of a witness: its probe of the primary, counted into its report
/// in the standby Region, and its metrics there. It decides nothing.
/// `previous` is the report an earlier round of the same run returned; the
/// first round reads it from the store. The same rules as the standby's own
/// count: armed by a healthy probe, failures `settings.spacing` apart, no
/// evidence changes nothing.
pub async fn witness_round<T: StateStore, M: Metrics>(
    store: &T,
    metrics: &M,
    witness: &Witness<'_>,
    probe: &Probe,
    now: OffsetDateTime,
    previous: Option<VantageReport>,
) -> Result<VantageReport, PortError> {
    let Witness {
        report_name,
        service,
        spacing,
    } = *witness;
    let previous = match previous {
        Some(report) => Some(report),
        None => store
            .load(report_name)
            .await?
            .and_then(|text| serde_json::from_str::<VantageReport>(&text).ok()),
    };
    // Armed stays armed even across a stale report: it says the URL is right.
    let armed = previous.as_ref().is_some_and(|r| r.armed) || probe.is_up();
    let fresh = previous.filter(|r| r.is_fresh(now));
    let failures = fresh.as_ref().map_or(0, |r| r.primary_failures);
    if probe.seen != Seen::Up
        && let Some(last) = &fresh
        && now - last.at < spacing
    {
        // Too soon after the last report to count: keep it as it is.
        return Ok(last.clone());
    }
    let report = VantageReport {
        vantage: probe.vantage.clone(),
        primary_failures: match probe.seen {
            Seen::Up => 0,
            Seen::Down if armed => failures.saturating_add(1),
            Seen::Down => failures,
            Seen::NoEvidence => 0,
        },
        armed,
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
        Probe::new(vantage, target, if ok { Seen::Up } else { Seen::Down })
    }

    /// A state whose vantage points have both seen the primary healthy.
    fn armed() -> (State, OffsetDateTime) {
        let mut state = State::default();
        let report = VantageReport {
            vantage: "eu-west-1".into(),
            primary_failures: 0,
            armed: true,
            at: T0,
        };
        state.take_report("eu-west-1", Some(&report), T0);
        state.observe(&round(true, true, true), T0, Settings::default());
        (state, T0)
    }

    const T0: OffsetDateTime = time::macros::datetime!(2026-01-01 00:00 UTC);
    const STEP: time::Duration = time::Duration::seconds(30);

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
        let (mut state, t) = armed();
        state.observe(&round(false, false, true), t + STEP, Settings::default());
        assert!(matches!(
            state.assess(Settings::default()),
            Assessment::Suspect { .. }
        ));
        state.observe(&round(true, true, true), t + STEP * 2, Settings::default());
        assert_eq!(
            state.assess(Settings::default()),
            Assessment::PrimaryHealthy
        );
    }

    #[test]
    fn a_flapping_primary_never_reaches_three_in_a_row() {
        let (mut state, t) = armed();
        for i in 0..12 {
            let up = (i / 2) % 2 == 1; // two rounds down, two up, …
            state.observe(
                &round(up, up, true),
                t + STEP * (i + 1),
                Settings::default(),
            );
            assert!(!matches!(
                state.assess(Settings::default()),
                Assessment::PrimaryDown { .. }
            ));
        }
    }

    #[test]
    fn one_vantage_point_alone_is_not_a_quorum() {
        // The standby's own network is cut from the primary; the witness still reaches it.
        let (mut state, t) = armed();
        for i in 1..=10 {
            state.observe(&round(false, true, true), t + STEP * i, Settings::default());
        }
        let Assessment::Suspect { detail } = state.assess(Settings::default()) else {
            panic!()
        };
        assert!(detail.contains("1 of the 2"), "{detail}");
    }

    #[test]
    fn three_failures_from_both_vantage_points_with_a_healthy_standby_is_an_outage() {
        let (mut state, t) = armed();
        for i in 1..=3 {
            state.observe(
                &round(false, false, true),
                t + STEP * i,
                Settings::default(),
            );
        }
        let Assessment::PrimaryDown { evidence } = state.assess(Settings::default()) else {
            panic!()
        };
        assert!(
            evidence.contains("us-west-2") && evidence.contains("eu-west-1"),
            "{evidence}"
        );
        // An unhealthy standby holds it back.
        state.observe(
            &round(false, false, false),
            t + STEP * 4,
            Settings::default(),
        );
        assert_eq!(
            state.assess(Settings::default()),
            Assessment::StandbyUnhealthy
        );
    }

    #[test]
    fn a_primary_never_seen_healthy_is_not_an_outage() {
        // A mistyped PrimaryProbeUrl: every probe fails from the first.
        let mut state = State::default();
        for i in 1..=10 {
            state.observe(
                &round(false, false, true),
                T0 + STEP * i,
                Settings::default(),
            );
        }
        assert_eq!(state.assess(Settings::default()), Assessment::Unarmed);
        assert!(state.primary_failures.values().all(|n| *n == 0));
        // One healthy probe arms the standby's vantage point.
        state.observe(
            &round(true, false, true),
            T0 + STEP * 11,
            Settings::default(),
        );
        assert!(state.armed.contains("us-west-2"));
    }

    #[test]
    fn failures_closer_than_the_spacing_count_once() {
        let (mut state, t) = armed();
        // Ten extra invocations one second apart.
        for i in 1..=10 {
            state.observe(
                &round(false, false, true),
                t + time::Duration::seconds(i),
                Settings::default(),
            );
        }
        assert_eq!(state.primary_failures["us-west-2"], 1);
        assert!(!matches!(
            state.assess(Settings::default()),
            Assessment::PrimaryDown { .. }
        ));
    }

    #[test]
    fn no_evidence_counts_nothing_and_breaks_the_row() {
        // A flood of 429s mixed with the odd real timeout: never three in a row.
        let (mut state, t) = armed();
        let throttled = [
            Probe::new("us-west-2", Target::Primary, Seen::NoEvidence),
            Probe::new("eu-west-1", Target::Primary, Seen::NoEvidence),
            Probe::new("us-west-2", Target::Standby, Seen::NoEvidence),
        ];
        for i in 1..=60 {
            if i % 5 == 0 {
                state.observe(
                    &round(false, false, true),
                    t + STEP * i,
                    Settings::default(),
                );
            } else {
                state.observe(&throttled, t + STEP * i, Settings::default());
            }
            assert!(!matches!(
                state.assess(Settings::default()),
                Assessment::PrimaryDown { .. }
            ));
        }
        // The standby's own 429s left its last word (healthy) alone.
        assert_eq!(state.standby_healthy, Some(true));
    }

    #[test]
    fn a_report_from_the_future_is_not_fresh() {
        let report = VantageReport {
            vantage: "eu-west-1".into(),
            primary_failures: 9,
            armed: true,
            at: T0 + time::Duration::days(365),
        };
        assert!(!report.is_fresh(T0));
        let mut state = State::default();
        state.take_report("eu-west-1", Some(&report), T0);
        assert!(!state.primary_failures.contains_key("eu-west-1"));
        // Within the clock skew it is.
        let near = VantageReport {
            at: T0 + time::Duration::seconds(10),
            ..report
        };
        assert!(near.is_fresh(T0));
    }
}
