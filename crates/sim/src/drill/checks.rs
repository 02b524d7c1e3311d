//! After the run: read and write RTO, RPO, and the invariants of docs/design.md,
//! each checked against what the world and the functions did.

use super::*;

use stop_core::runbook::PLANNED_WRITE_SLACK_MS;

/// The final move's promotion or global writer move as RDS ran it, from the
/// call to the writer taking writes (not the record's view of it, which a
/// late look would stretch).
pub(super) fn promotion_ms(facts: &WorldFacts) -> Option<i64> {
    let decision = facts.decision.as_ref().filter(|d| d.epoch > 0)?;
    let (started, done) = facts.last_promotion?;
    (started >= decision.decided_at)
        .then(|| i64::try_from((done - started).whole_milliseconds()).ok())
        .flatten()
}

/// What a planned move waited for that is not the control plane's doing:
/// from the decision to its traffic switch recorded done (an operator's
/// second press when a switch did not take), and the drain (a copy that was
/// behind). Both are in the record.
fn waited_ms(facts: &WorldFacts) -> (i64, i64) {
    use stop_core::decision::Step;
    let Some(d) = facts.decision.as_ref() else {
        return (0, 0);
    };
    let ms = |span: time::Duration| i64::try_from(span.whole_milliseconds()).unwrap_or(0);
    let switch = d
        .steps
        .iter()
        .filter(|s| matches!(s.name, Step::StopMetric | Step::ArcRoutingControls))
        .filter_map(|s| s.finished_at)
        .max()
        .map_or(0, |at| ms(at - d.decided_at).max(0));
    let drain = d
        .step(Step::Drain)
        .and_then(|s| s.duration_ms())
        .and_then(|span| i64::try_from(span).ok())
        .unwrap_or(0);
    (switch, drain)
}

impl Drill<'_> {
    pub(super) fn report(self) -> Report {
        let target = self.region(self.target());
        let (world_timeline, facts) = self.sim.with(|w| {
            let mut timeline = w.timeline.clone();
            timeline.sort_by_key(|e| e.at_ms);
            (timeline, WorldFacts::read(w, &self))
        });
        let decision = facts.decision.clone();
        let decided_at = decision.as_ref().map(|d| d.decided_at);
        // Read RTO: the clients that follow DNS. Sticky clients and in-Region
        // writers stay where they are by design.
        let on_target: Option<OffsetDateTime> = self
            .clients
            .iter()
            .filter(|c| c.kind == ClientKind::Dns)
            .map(|c| c.on_target_since)
            .collect::<Option<Vec<_>>>()
            .and_then(|times| times.into_iter().max());
        let ms = |from: OffsetDateTime, to: OffsetDateTime| {
            i64::try_from((to - from).whole_milliseconds().max(0)).unwrap_or(i64::MAX)
        };
        let rto_ms = match (decided_at, on_target) {
            (Some(from), Some(to)) => Some(ms(from, to)),
            _ => None,
        };
        let outage_ms = match (self.dark_at, on_target) {
            (Some(from), Some(to)) => Some(ms(from, to)),
            _ => None,
        };
        let (rpo_writes, rpo_ms) = self.rpo(&facts);
        let write_rto_ms = self.write_rto(&facts);
        let longest_write_gap_ms = self.longest_write_gap_ms(&facts);
        let mut checks = self.checks(&facts, &world_timeline);
        let all_on_target = on_target.is_some();
        if rto_ms.is_none() && !(self.scenario.expect_epoch == 0 && all_on_target) {
            checks.push(Check {
                name: "clients moved",
                ok: false,
                detail: format!("not every client ended on {target}"),
            });
        }
        let steps = decision
            .as_ref()
            .map(|d| {
                d.steps
                    .iter()
                    .map(|s| StepSummary {
                        step: s.name.to_string(),
                        state: s.state,
                        duration_ms: s.duration_ms(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Report {
            id: self.scenario.id,
            scenario: self.scenario.name,
            summary: self.scenario.summary,
            seed: self.seed,
            passed: checks.iter().all(|c| c.ok),
            rto_ms,
            outage_ms,
            rpo_writes,
            rpo_ms,
            write_rto_ms,
            promotion_ms: promotion_ms(&facts),
            lease_s: self.trigger.config.fence_lease_seconds,
            longest_write_gap_ms,
            writes_fenced: self.writes_fenced,
            client_errors: self.client_errors,
            writes_refused: self.writes_refused,
            api_calls: facts.api_calls,
            calls_to_primary: facts.calls_to_primary,
            final_region: decision
                .as_ref()
                .map(|d| d.active_region.to_string())
                .unwrap_or_else(|| PRIMARY.to_owned()),
            epoch: decision.as_ref().map_or(0, |d| d.epoch),
            steps,
            checks,
            timeline: world_timeline,
        }
    }

    /// Writes a writer acknowledged after its replication cut, less the lag,
    /// and before it became the writer again: no later writer ever got them.
    /// The count, and the span from the last safe moment to the last one lost.
    pub(super) fn rpo(&self, facts: &WorldFacts) -> (Option<u32>, Option<i64>) {
        if self.scenario.db == Db::None {
            return (None, None);
        }
        let mut lost = 0_u32;
        let mut window_ms = 0_i64;
        for (index, (cut, region)) in facts.cuts.iter().enumerate() {
            let until = facts.cuts.get(index + 1).map(|(t, _)| *t);
            // A dark or isolated writer stopped replicating when it went
            // dark or was cut off.
            let stopped = [self.dark_at, self.isolated_at].into_iter().flatten().min();
            let cut = match stopped {
                Some(stopped) if region == &self.primary && stopped < *cut => stopped,
                _ => *cut,
            };
            let last_safe = cut - facts.lag;
            let gone: Vec<OffsetDateTime> = facts
                .writes
                .iter()
                .filter(|(t, r)| r == region && *t > last_safe && until.is_none_or(|u| *t < u))
                .map(|(t, _)| *t)
                .collect();
            lost += u32::try_from(gone.len()).unwrap_or(u32::MAX);
            if let Some(last) = gone.iter().max() {
                window_ms = window_ms
                    .max(i64::try_from((*last - last_safe).whole_milliseconds()).unwrap_or(0));
            }
        }
        (Some(lost), Some(window_ms))
    }

    /// From the decision that set the final state to the first write its
    /// writer acknowledged.
    pub(super) fn write_rto(&self, facts: &WorldFacts) -> Option<i64> {
        let decision = facts.decision.as_ref()?;
        if self.scenario.db == Db::None || decision.epoch == 0 {
            return None;
        }
        let first = facts
            .writes
            .iter()
            .filter(|(t, r)| *t >= decision.decided_at && r == &decision.active_region)
            .map(|(t, _)| *t)
            .min()?;
        i64::try_from((first - decision.decided_at).whole_milliseconds()).ok()
    }

    pub(super) fn checks(&self, facts: &WorldFacts, timeline: &[Entry]) -> Vec<Check> {
        let target = self.region(self.target());
        let to_standby = self.target() == Side::Standby;
        let mut checks = Vec::new();
        let mut check = |name: &'static str, ok: bool, detail: String| {
            checks.push(Check { name, ok, detail });
        };
        let decision = facts.decision.as_ref();
        check(
            "one decision, converged",
            decision.map_or(
                // Nothing decided: right only if nothing was to be.
                self.scenario.expect_epoch == 0 && target == self.primary,
                |d| d.active_region == target && d.epoch == self.scenario.expect_epoch,
            ),
            format!(
                "expected epoch {} on {target}, record says {}",
                self.scenario.expect_epoch,
                decision.map_or("nothing".to_owned(), |d| format!(
                    "epoch {} on {}",
                    d.epoch, d.active_region
                ))
            ),
        );
        check(
            "epochs only grow",
            facts.epochs_grow,
            "the current decision's epoch never went down".into(),
        );
        check(
            "no automatic failback",
            facts.failbacks_by_operators,
            "every decision for the primary was an operator's".into(),
        );
        let on_failover = self
            .calls_to_primary_on_failover
            .unwrap_or(facts.calls_to_primary);
        check(
            "nothing on the failover path calls the primary Region",
            on_failover == 0,
            format!(
                "{on_failover} calls to {PRIMARY} services before any failback or re-protect \
                 (ARC's cluster endpoints and a graceful move's switchover aside)"
            ),
        );
        check(
            "an ungraceful move never touches the old writer",
            facts.ungraceful_sql_to_primary == 0,
            format!(
                "{} SQL calls to {PRIMARY}'s instances under an ungraceful decision (no fence, no position)",
                facts.ungraceful_sql_to_primary
            ),
        );
        let dns = self.dns_answer();
        check(
            "traffic on the target",
            dns == self.target(),
            format!("Route 53 answers {}", self.region(dns)),
        );
        if let Some(value) = facts.stop_value {
            let want = if to_standby { 1.0 } else { 0.0 };
            check(
                "STOP metric",
                (value - want).abs() < f64::EPSILON,
                format!("last value {value}, want {want}"),
            );
        }
        if self.scenario.path.has_arc() {
            let want = if to_standby {
                (ControlState::Off, ControlState::On)
            } else {
                (ControlState::On, ControlState::Off)
            };
            check(
                "routing controls",
                facts.controls == Some(want),
                format!("primary/standby {:?}, want {want:?}", facts.controls),
            );
        }
        if self.scenario.db != Db::None {
            self.data_checks(facts, &mut check);
        }
        if to_standby {
            check(
                "standby capacity raised and InService",
                facts.group.is_some_and(|g| g.desired >= 4 && g.max >= 8) && facts.in_service >= 4,
                format!(
                    "group {:?}, {} instances InService",
                    facts.group, facts.in_service
                ),
            );
        }
        let expected = self.scenario.expect_answers;
        check(
            "operator answers",
            self.answers == expected,
            format!("got {:?}, expected {expected:?}", self.answers),
        );
        if matches!(
            self.scenario.script.first(),
            Some((_, Action::PressTogether(..)))
        ) {
            check(
                "one press decides",
                self.decided_presses == 1,
                format!("{} presses made a new decision", self.decided_presses),
            );
        }
        let leaked = timeline.iter().any(|e| e.event.contains(DB_PASSWORD))
            || self.outputs.iter().any(|o| o.contains(DB_PASSWORD));
        check(
            "secrets stay secret",
            !leaked,
            "the database password is in no timeline line and no answer".into(),
        );
        checks
    }
}

impl Drill<'_> {
    /// The data tier's invariants (docs/design.md, "Invariants").
    pub(super) fn data_checks(
        &self,
        facts: &WorldFacts,
        check: &mut impl FnMut(&'static str, bool, String),
    ) {
        let target = self.region(self.target());
        let expected_moves = self.scenario.expect_writer_moves;
        check(
            "writer moves",
            facts.writer_moves == expected_moves,
            format!(
                "{} promotion(s) or global writer move(s), expected {expected_moves}",
                facts.writer_moves
            ),
        );
        if expected_moves > 0 {
            check(
                "database writer in the target Region",
                facts.writer_region.as_ref() == Some(&target),
                format!(
                    "the writer is in {:?}",
                    facts.writer_region.as_ref().map(Region::as_str)
                ),
            );
            check(
                "secret points at the new writer",
                facts
                    .secret_hosts
                    .iter()
                    .all(|h| h.contains(target.as_str())),
                format!("hosts {:?}", facts.secret_hosts),
            );
        }
        let writers = self.never_two_writers(facts);
        check(writers.name, writers.ok, writers.detail);
        if let Some(kept) = self.primary_kept_writing(facts) {
            check(kept.name, kept.ok, kept.detail);
        }
        if let Some(closed) = self.isolated_primary_closed(facts) {
            check(closed.name, closed.ok, closed.detail);
        }
        if let Some(lost) = self.no_acknowledged_write_lost(facts) {
            check(lost.name, lost.ok, lost.detail);
        }
        if expected_moves > 0 {
            check(
                "write RTO measured",
                self.write_rto(facts).is_some(),
                "the new writer acknowledged a write after the decision".into(),
            );
        }
        // A planned move waits for no schedule: the record's write starts the
        // promoter, its follow-up runs see the promotion end within seconds,
        // and that write starts the rewriter. Beside the promotion, what is
        // left is the lease, the events and one fence refresh, plus what the
        // record shows the move waited for (a second press, a copy behind).
        if let (Some(d), Some(write_rto), Some(promotion)) = (
            facts.decision.as_ref(),
            self.write_rto(facts),
            promotion_ms(facts),
        ) && d.mode == stop_core::Mode::Graceful
        {
            let (switch, drain) = waited_ms(facts);
            check(
                "planned write RTO within the promotion + 30 s",
                write_rto <= switch + drain + promotion + PLANNED_WRITE_SLACK_MS,
                format!(
                    "write RTO {:.1} s: waiting for the traffic switch {:.1} s, drain {:.1} s, promotion {:.1} s",
                    write_rto as f64 / 1000.0,
                    switch as f64 / 1000.0,
                    drain as f64 / 1000.0,
                    promotion as f64 / 1000.0
                ),
            );
        }
        // The alarm rests on fresh data, not on a datapoint of hours ago: the
        // trigger republishes the record's value every minute while the
        // standby is up.
        if self.scenario.path != Path::ArcOnly && !facts.standby_dark {
            let fresh = facts
                .stop_newest_age
                .is_some_and(|age| age <= Duration::seconds(2 * model::TRIGGER_SCHEDULE_S));
            check(
                "STOP metric republished",
                fresh,
                format!(
                    "newest STOP datapoint {} before the end",
                    facts
                        .stop_newest_age
                        .map_or("never".to_owned(), |a| format!("{} s", a.whole_seconds()))
                ),
            );
        }
        if let Some(protected) = self.scenario.expect_protected {
            check(
                "data tier protection",
                facts.protected == protected,
                format!("protected: {}, expected {protected}", facts.protected),
            );
        }
        // Readiness told before anyone had to press.
        for wanted in self.scenario.expect_findings {
            let first = self.findings_first_failed.get(*wanted);
            let before_press = match (first, self.first_press_at) {
                (Some(at), Some(press)) => *at <= press,
                (Some(_), None) => true,
                (None, _) => false,
            };
            check(
                "readiness finding",
                before_press,
                match first {
                    Some(at) => format!(
                        "{wanted:?} failed at {}",
                        stop_core::units::human_duration(
                            i64::try_from((*at - self.sim.with(|w| w.start)).whole_milliseconds())
                                .unwrap_or(0)
                        )
                    ),
                    None => format!("readiness never reported {wanted:?}"),
                },
            );
        }
        if self
            .scenario
            .script
            .iter()
            .any(|(_, a)| matches!(a, Action::DetectorDown(true)))
        {
            let actor = facts
                .decision
                .as_ref()
                .map_or("nobody", |d| d.actor.as_str());
            check(
                "a stopped detector decides nothing",
                actor != "detector",
                format!("the decision in force was made by {actor}"),
            );
        }
        if self.scenario.expect_heartbeat_alarm {
            check(
                "heartbeat alarm",
                self.heartbeat_alarm_fired,
                if self.heartbeat_alarm_fired {
                    "the detector's heartbeat alarm went to ALARM".to_owned()
                } else {
                    "the detector's heartbeat alarm never fired".to_owned()
                },
            );
        }
    }
}

impl Drill<'_> {
    /// "Never two writers: no write is acknowledged by a writer after the
    /// replication cut that superseded it" (docs/design.md), whether or not
    /// it interleaves with the new writer's: a cut leaves the old writer
    /// behind, so whatever it acknowledges from then on is lost. Until the
    /// next cut that leaves the other Region behind (a failback), every
    /// write the old Region's database acknowledges is counted.
    pub(super) fn never_two_writers(&self, facts: &WorldFacts) -> Check {
        let mut late = Vec::new();
        for (index, (cut, region)) in facts.cuts.iter().enumerate() {
            let until = facts.cuts[index + 1..]
                .iter()
                .find(|(_, r)| r != region)
                .map(|(t, _)| *t);
            late.extend(
                facts
                    .writes
                    .iter()
                    .filter(|(t, r)| r == region && t > cut && until.is_none_or(|u| *t < u))
                    .map(|(t, r)| (*t, r.clone(), *cut)),
            );
        }
        let start = self.sim.with(|w| w.start);
        let at = |t: OffsetDateTime| {
            stop_core::units::human_duration(
                i64::try_from((t - start).whole_milliseconds()).unwrap_or(0),
            )
        };
        Check {
            name: "never two writers",
            ok: late.is_empty(),
            detail: match late.first() {
                None => format!(
                    "no write acknowledged by a writer after its replication cut ({} cut(s))",
                    facts.cuts.len()
                ),
                Some((t, region, cut)) => format!(
                    "{} write(s) acknowledged in {region} after its replication cut at {}, the first at {}",
                    late.len(),
                    at(*cut),
                    at(*t)
                ),
            },
        }
    }

    /// "A standby outage does not stop the primary" where the scenario
    /// says so: no gap between its acknowledged writes longer than the lease.
    pub(super) fn primary_kept_writing(&self, facts: &WorldFacts) -> Option<Check> {
        let (from_s, to_s) = self.scenario.expect_primary_writing?;
        let start = self.sim.with(|w| w.start);
        let (from, to) = (
            start + Duration::seconds(from_s),
            start + Duration::seconds(to_s),
        );
        let mut times: Vec<OffsetDateTime> = facts
            .writes
            .iter()
            .filter(|(t, r)| r == &self.primary && *t >= from && *t <= to)
            .map(|(t, _)| *t)
            .collect();
        times.sort();
        let mut edges = vec![from];
        edges.extend(times);
        edges.push(to);
        let gap = edges
            .windows(2)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(Duration::ZERO);
        let lease = Duration::seconds(i64::from(self.trigger.config.fence_lease_seconds));
        Some(Check {
            name: "the primary kept writing",
            ok: gap <= lease,
            detail: format!(
                "longest gap between the primary's acknowledged writes: {} s (lease {} s)",
                gap.whole_seconds(),
                lease.whole_seconds()
            ),
        })
    }

    /// "An isolated primary stops writing within L": its last write
    /// acknowledged while cut off came at most L after it was cut off.
    fn isolated_primary_closed(&self, facts: &WorldFacts) -> Option<Check> {
        let from = self.isolated_at?;
        let healed = self.scenario.script.iter().find_map(|(at, a)| {
            matches!(a, Action::Isolate(Side::Primary, false))
                .then(|| self.sim.with(|w| w.start) + Duration::seconds(*at))
        });
        let last = facts
            .writes
            .iter()
            .filter(|(t, r)| r == &self.primary && *t >= from && healed.is_none_or(|h| *t < h))
            .map(|(t, _)| *t)
            .max();
        let lease = Duration::seconds(i64::from(self.trigger.config.fence_lease_seconds));
        let after = last.map_or(Duration::ZERO, |t| t - from);
        Some(Check {
            name: "the isolated primary stopped within L",
            ok: after <= lease,
            detail: format!(
                "its last write acknowledged {} ms after it was cut off (lease {} s)",
                after.whole_milliseconds(),
                lease.whole_seconds()
            ),
        })
    }

    /// The longest stretch in which no write was acknowledged anywhere,
    /// from the start to the end of the run.
    pub(super) fn longest_write_gap_ms(&self, facts: &WorldFacts) -> Option<i64> {
        if self.scenario.db == Db::None {
            return None;
        }
        let (start, end) = self.sim.with(|w| (w.start, w.now));
        let mut times: Vec<OffsetDateTime> = facts.writes.iter().map(|(t, _)| *t).collect();
        times.sort();
        let mut edges = vec![start];
        edges.extend(times);
        edges.push(end);
        edges
            .windows(2)
            .map(|w| i64::try_from((w[1] - w[0]).whole_milliseconds()).unwrap_or(i64::MAX))
            .max()
    }

    /// "No acknowledged write lost on a planned move (no Region went dark):
    /// RPO 0" (docs/design.md). `None` when a Region went dark: then the
    /// lag at the cut may be lost, and the report says how much.
    fn no_acknowledged_write_lost(&self, facts: &WorldFacts) -> Option<Check> {
        let planned = !self.scenario.script.iter().any(|(_, a)| {
            matches!(
                a,
                Action::Dark(Side::Primary, true) | Action::Isolate(Side::Primary, true)
            )
        });
        if !planned {
            return None;
        }
        let (lost, _) = self.rpo(facts);
        Some(Check {
            name: "no acknowledged write lost (planned)",
            ok: lost == Some(0),
            detail: format!("{lost:?} acknowledged write(s) lost"),
        })
    }
}

/// What the checks need from the world, read once under its lock.
pub(super) struct WorldFacts {
    decision: Option<Decision>,
    last_promotion: Option<(OffsetDateTime, OffsetDateTime)>,
    epochs_grow: bool,
    failbacks_by_operators: bool,
    calls_to_primary: u32,
    ungraceful_sql_to_primary: u32,
    api_calls: u32,
    stop_value: Option<f64>,
    /// How long before the end the newest STOP datapoint was published.
    stop_newest_age: Option<Duration>,
    standby_dark: bool,
    controls: Option<(ControlState, ControlState)>,
    writer_moves: u32,
    writer_region: Option<Region>,
    /// The host each Region's secret names, the target's last.
    secret_hosts: Vec<String>,
    group: Option<GroupCapacity>,
    in_service: usize,
    pub(super) writes: Vec<(OffsetDateTime, Region)>,
    cuts: Vec<(OffsetDateTime, Region)>,
    lag: Duration,
    protected: bool,
}

impl WorldFacts {
    pub(super) fn read(w: &World, drill: &Drill<'_>) -> Self {
        let history = w.parameters.get(SERVICE).cloned().unwrap_or_default();
        let mut epochs_grow = true;
        let mut last = 0;
        for end in 1..=history.len() {
            let epoch = Decision::current(&history[..end]).map_or(0, |d| d.epoch);
            epochs_grow &= epoch >= last;
            last = epoch;
        }
        let failbacks_by_operators = history
            .iter()
            .filter(|d| d.epoch > 0 && d.active_region == w.primary)
            .all(|d| d.actor.contains('@'));
        let calls_to_primary = w.calls_to(&w.primary);
        let writer_region = match drill.scenario.db {
            // The writer the record names, if RDS agrees it takes writes.
            Db::RdsReplica => match Decision::current(&history).and_then(|d| d.data.writer.clone())
            {
                Some(writer) => w
                    .instances
                    .get(&writer.id)
                    .filter(|i| i.region == writer.region && i.writable())
                    .map(|i| i.region.clone()),
                None => Some(w.primary.clone()),
            },
            Db::AuroraGlobal => w
                .global
                .as_ref()
                .and_then(|g| g.writer_cluster_arn.as_deref())
                .and_then(|arn| arn.split(':').nth(3))
                .and_then(|r| r.parse().ok()),
            Db::None => None,
        };
        let to_standby = Decision::current(&history).is_some_and(|d| d.active_region == w.standby);
        let regions: Vec<&Region> = if to_standby {
            vec![&w.standby]
        } else {
            vec![&w.primary, &w.standby]
        };
        let secret_hosts = regions
            .into_iter()
            .map(|region| {
                w.secrets
                    .get(&(region.clone(), SECRET_ID.to_owned()))
                    .and_then(|s| s.versions.last())
                    .and_then(|(_, v)| serde_json::from_str::<Value>(v.expose()).ok())
                    .and_then(|v| v["host"].as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect();
        WorldFacts {
            decision: Decision::current(&history).cloned(),
            epochs_grow,
            failbacks_by_operators,
            calls_to_primary,
            ungraceful_sql_to_primary: w.ungraceful_sql_to_primary,
            last_promotion: w.promotions.last().copied(),
            api_calls: w.total_calls(),
            stop_value: w.stop_metric.last().map(|(_, v)| *v),
            stop_newest_age: w.stop_metric.last().map(|(t, _)| w.now - *t),
            standby_dark: w.dark.contains(&w.standby),
            controls: match (w.controls.get(PRIMARY_CTL), w.controls.get(STANDBY_CTL)) {
                (Some(p), Some(s)) => Some((*p, *s)),
                _ => None,
            },
            writer_moves: w.writer_moves,
            writer_region,
            secret_hosts,
            group: w.groups.get("orders-web").copied(),
            in_service: w.instances_ready_at.iter().filter(|t| **t <= w.now).count(),
            writes: w.writes.clone(),
            cuts: w.cuts.clone(),
            lag: w.replication_lag,
            protected: Decision::current(&history).is_none_or(|d| d.data.protected),
        }
    }
}
