//! AWS's behaviour around the functions: the STOP alarm and its notifications,
//! Route 53's health checks, RDS finishing its work, the detector, and each
//! function invoked as Lambda would invoke it.

use super::*;

impl Drill<'_> {
    /// Promotions and writer moves that finished: RDS says so through its
    /// event subscription, which SNS hands to the secret rewriter.
    pub(super) fn settle(&mut self) {
        // A write of the decision record: SSM's event reaches the functions
        // whose `RecordChanged` rule the template has.
        let writes = self.sim.with(|w| w.record_writes);
        if writes > self.record_writes_seen {
            self.record_writes_seen = writes;
            let wired =
                self.topology.promoter_on_record_change || self.topology.rewriter_on_record_change;
            if wired && !self.record_event_pending {
                self.record_event_pending = true;
                let delay = self.sim.with(|w| w.draw(model::RECORD_EVENT_DELAY_MS));
                self.schedule(
                    self.now() + Duration::milliseconds(delay),
                    Ev::RecordChanged,
                );
            }
        }
        let finished = self.sim.with(World::settle);
        for id in finished {
            // RDS sends no event when a read replica's promotion completes;
            // the schedules find it. Aurora does for a global writer move.
            if id != "orders-global" {
                self.log(STANDBY, format!("RDS: {id} is a standalone DB instance"));
                continue;
            }
            let (kind, message) = ("global-cluster", "the global writer moved");
            self.log(STANDBY, format!("RDS event: {id}: {message}"));
            let body = events::rds_event(STANDBY, &id, kind, message);
            let delivery = events::sns_delivery(STANDBY, "RdsEventsTopic", &body, self.now());
            let payload = serde_json::to_value(delivery).unwrap_or(Value::Null);
            let delay = self.sim.with(|w| w.draw(model::SNS_DELAY_MS));
            self.schedule(
                self.now() + Duration::milliseconds(delay),
                Ev::Rewriter(payload),
            );
        }
    }

    pub(super) fn check_primary_record(&mut self) {
        // The template's health checks: the STOP metric's (its data, not the
        // alarm's state); with ARC, a CALCULATED check over it and the primary
        // routing control's RECOVERY_CONTROL check, healthy only if both are.
        let healthy = self.sim.with(|w| {
            let metric_healthy = match w.metric_state {
                AlarmState::Alarm => false,
                AlarmState::Ok => true,
                // InsufficientDataHealthStatus: LastKnownStatus.
                AlarmState::InsufficientData => self.primary_record_healthy,
            };
            let control_healthy = w.controls.get(PRIMARY_CTL) == Some(&ControlState::On);
            self.topology
                .primary_guards
                .iter()
                .all(|guard| match guard {
                    Guard::StopMetric => metric_healthy,
                    Guard::RoutingControl => control_healthy,
                })
        });
        if healthy != self.primary_record_healthy {
            self.primary_record_healthy = healthy;
            let (status, answer) = if healthy {
                ("healthy", PRIMARY)
            } else {
                ("unhealthy", STANDBY)
            };
            let kind = match self.topology.primary_guards.as_slice() {
                [Guard::StopMetric] => "CLOUDWATCH_METRIC",
                [Guard::RoutingControl] => "RECOVERY_CONTROL",
                _ => "CALCULATED (STOP metric and routing control)",
            };
            self.log(
                "global",
                format!(
                    "Route 53: the primary record's {kind} health check is {status}; new answers point to {answer} (TTL {} s)",
                    self.topology.dns_ttl_s
                ),
            );
        }
    }

    /// The STOP alarm: Maximum over the last period ≥ 1 is ALARM, < 1 OK, no
    /// data keeps the state (`TreatMissingData: ignore`).
    pub(super) fn evaluate_alarm(&mut self) {
        let now = self.now();
        let window = Duration::seconds(
            self.topology.alarm_period_s * self.topology.alarm_evaluation_periods,
        );
        let (old, new) = self.sim.with(|w| {
            let max = w
                .stop_metric
                .iter()
                .filter(|(t, _)| *t > now - window - Duration::seconds(20) && *t <= now)
                .map(|(_, v)| *v)
                .reduce(f64::max);
            // The data decides; a state set by hand lasts until now.
            let old = w.alarm;
            let new = match max {
                Some(v) if v >= 1.0 => AlarmState::Alarm,
                Some(_) => AlarmState::Ok,
                None => w.metric_state,
            };
            w.metric_state = new;
            w.alarm = new;
            (old, new)
        });
        if old == new {
            return;
        }
        let reason = format!(
            "Threshold Crossed: 1 out of the last 1 datapoints was {} the threshold (1.0)",
            if new == AlarmState::Alarm {
                "greater than or equal to"
            } else {
                "less than"
            }
        );
        self.notify_alarm(old, new, &reason);
    }

    /// CloudWatch's alarm action: the state change, published to SNS, which
    /// delivers it to the promoter (at least once, per the scenario's quirks).
    pub(super) fn notify_alarm(&mut self, old: AlarmState, new: AlarmState, reason: &str) {
        let now = self.now();
        let name = |s: AlarmState| match s {
            AlarmState::Alarm => "ALARM",
            AlarmState::Ok => "OK",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        };
        self.log(
            STANDBY,
            format!("CloudWatch: alarm {ALARM} {} → {}", name(old), name(new)),
        );
        let message = events::alarm_message(STANDBY, ALARM, name(old), name(new), reason, now);
        let delay = self.sim.with(|w| w.draw(model::SNS_DELAY_MS));
        let first = now + Duration::milliseconds(delay);
        self.schedule(
            first,
            Ev::Promoter {
                message: message.clone(),
                sent: now,
                attempt: 0,
            },
        );
        for after in self.scenario.sns.duplicates_after_s {
            self.schedule(
                first + Duration::seconds(*after),
                Ev::Promoter {
                    message: message.clone(),
                    sent: now,
                    attempt: 0,
                },
            );
        }
        if let Some(late) = self.scenario.sns.late_by_s
            && new == AlarmState::Alarm
            && !self.late_sent
        {
            self.late_sent = true;
            self.schedule(
                now + Duration::seconds(late),
                Ev::Promoter {
                    message,
                    sent: now,
                    attempt: 0,
                },
            );
        }
    }

    /// The detector, every probe interval (the template's default): the
    /// witness's probe of the primary, reported to the standby Region; then
    /// the standby's round of probes (the primary's regional endpoint and its
    /// own), kept in SSM, which on a quorum decides through the one decision
    /// path and publishes STOP = 1. Both publish their heartbeats.
    pub(super) async fn run_detector(&mut self) {
        use stop_core::detector::{Assessment, Detector, Probe, Seen, Settings, Target};
        let (primary_dark, standby_dark, cut_off, witness_dark, flooded) = self.sim.with(|w| {
            (
                // Cut off from the other Regions, the primary fails their probes too.
                w.dark.contains(&w.primary) || w.isolated.contains(&w.primary),
                w.dark.contains(&w.standby),
                w.standby_cut_off,
                w.dark.contains(&w.witness),
                w.primary_health_flooded,
            )
        });
        if standby_dark {
            return; // the detector and its store live in the standby: nothing runs
        }
        let store = SimStateStore(Bound::new(&self.sim, &self.standby));
        let metrics = SimMetrics(Bound::new(&self.sim, &self.standby));
        // A flooded /health answers 429 to whoever reaches it.
        let seen = |up: bool| match (up, flooded) {
            (true, true) => Seen::NoEvidence,
            (true, false) => Seen::Up,
            (false, _) => Seen::Down,
        };
        let witness = Probe::new(model::WITNESS_REGION, Target::Primary, seen(!primary_dark));
        let report_name =
            stop_core::detector::state_name(&self.trigger.config, model::WITNESS_REGION);
        let now = self.now();
        if witness_dark {
            // The witness's job does not run; its report goes stale.
        } else if let Err(error) = stop_core::detector::witness_round(
            &store,
            &metrics,
            &stop_core::detector::Witness {
                report_name: &report_name,
                service: SERVICE,
                spacing: Settings::spacing_for(std::time::Duration::from_secs(30)),
            },
            &witness,
            now,
            None,
        )
        .await
        {
            self.log(model::WITNESS_REGION, format!("witness: {error}"));
        }
        if self.detector_down {
            return;
        }
        let probes = [
            Probe::new(STANDBY, Target::Primary, seen(!primary_dark && !cut_off)),
            Probe::new(STANDBY, Target::Standby, Seen::Up),
        ];
        let settings = Settings {
            failures: self.topology.probe_failures,
            quorum: 2,
            ..Settings::default()
        };
        let detector = Detector {
            config: &self.trigger.config,
            decisions: &self.trigger.decisions,
            stop: &self.trigger.stop,
            clock: &self.trigger.clock,
            settings,
        };
        let (outcome, notes) = detector
            .round(
                &store,
                &metrics,
                Some(model::WITNESS_REGION),
                &probes,
                &mut None,
            )
            .await;
        for problem in notes.problems {
            self.log(STANDBY, format!("detector: {problem}"));
        }
        let text = match outcome {
            Ok(outcome) if outcome.decided => {
                self.last_detector_kind = "down".to_owned();
                format!(
                    "detector: {}; decided epoch {}, STOP = 1",
                    match &outcome.assessment {
                        Assessment::PrimaryDown { evidence } => evidence.clone(),
                        other => format!("{other:?}"),
                    },
                    outcome.epoch.unwrap_or(0)
                )
            }
            Ok(outcome) => {
                // Only a change of kind is worth a line, not every count.
                let kind = match &outcome.assessment {
                    Assessment::PrimaryHealthy => "healthy",
                    Assessment::Unarmed => "unarmed",
                    Assessment::Suspect { .. } => "suspect",
                    Assessment::StandbyUnhealthy => "standby unhealthy",
                    Assessment::PrimaryDown { .. } => "down",
                };
                if kind == self.last_detector_kind {
                    return;
                }
                self.last_detector_kind = kind.to_owned();
                match outcome.assessment {
                    Assessment::PrimaryHealthy => {
                        "detector: the primary answers every probe".to_owned()
                    }
                    Assessment::Unarmed => {
                        "detector: never saw the primary healthy; not armed".to_owned()
                    }
                    Assessment::Suspect { detail } => {
                        format!("detector: suspect, no failover: {detail}")
                    }
                    Assessment::StandbyUnhealthy => {
                        "detector: the standby is unhealthy; no failover into it".to_owned()
                    }
                    Assessment::PrimaryDown { evidence } => format!("detector: {evidence}"),
                }
            }
            Err(error) => format!("detector: {error}"),
        };
        self.log(STANDBY, text);
    }

    /// The heartbeat alarm, as CloudWatch evaluates it: the Sum of
    /// `DetectorHeartbeat` (Vantage = the standby) below 1 in every one of
    /// the last `EvaluationPeriods` periods; missing data is breaching.
    /// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html>
    pub(super) fn evaluate_heartbeat_alarm(&mut self) {
        let window = Duration::seconds(
            self.topology.heartbeat_period_s * self.topology.heartbeat_evaluation_periods,
        );
        let now = self.now();
        let (beats, started) = self.sim.with(|w| {
            let beats = w
                .metric_data
                .iter()
                .filter(|(at, region, d)| {
                    *at > now - window
                        && *region == w.standby
                        && d.name == "DetectorHeartbeat"
                        && d.dimensions
                            .iter()
                            .any(|(k, v)| *k == "Vantage" && v == STANDBY)
                })
                .count();
            (beats, now - w.start >= window)
        });
        let alarm = beats == 0 && started;
        match (alarm, self.heartbeat_alarm_at) {
            (true, None) => {
                self.heartbeat_alarm_at = Some(now);
                self.log(
                    STANDBY,
                    format!(
                        "CloudWatch: {SERVICE}-stop-detector-heartbeat -> ALARM (no heartbeat for {} s)",
                        window.whole_seconds()
                    ),
                );
            }
            (false, Some(_)) => {
                self.heartbeat_alarm_at = None;
                self.log(
                    STANDBY,
                    format!("CloudWatch: {SERVICE}-stop-detector-heartbeat -> OK"),
                );
            }
            _ => {}
        }
        if alarm {
            self.heartbeat_alarm_fired = true;
        }
    }

    /// The scheduled readiness run in the standby Region: the same code as
    /// `stopctl check`, its report kept and published. The timeline says
    /// when the set of failed checks changes.
    pub(super) async fn run_readiness(&mut self) {
        let standby = Bound::new(&self.sim, &self.standby);
        if self.sim.with(|w| w.dark.contains(&w.standby)) {
            return;
        }
        let config = &self.trigger.config;
        let state = SimStateStore(standby.clone());
        let mut report = stop_core::readiness::Standby {
            config,
            decisions: &self.trigger.decisions,
            stop: &self.trigger.stop,
            controls: &self.trigger.controls,
            database: &SimDatabase(standby.clone()),
            capacity: &SimCapacity(standby.clone()),
            secrets: &SimSecrets(standby.clone()),
            state: &state,
            clock: &self.trigger.clock,
            // Route 53's metrics live in us-east-1, the drill's primary
            // Region: readiness cannot read them while that Region is dark.
            health: &SimHealthChecks(Bound::new(
                &self.sim,
                &ROUTE53_METRICS_REGION
                    .parse()
                    .unwrap_or_else(|_| self.standby.clone()),
            )),
            expect: stop_core::readiness::Expectations {
                max_lag_s: self.topology.readiness_max_lag_s,
                detector: self.scenario.detector,
                witness: self
                    .scenario
                    .detector
                    .then(|| model::WITNESS_REGION.to_owned()),
                standby_health_check: Some(STANDBY_HEALTH_CHECK_ID.to_owned()),
            },
        }
        .check()
        .await;
        // The standby's API answers while its Region is up (a dark standby
        // returned above): the drill models no broken stage.
        report.add_standby_api(Some(STANDBY_PROBE_URL), Ok(200));
        let metrics = SimMetrics(standby);
        if let Err(error) = stop_core::readiness::publish(config, &report, &state, &metrics).await {
            self.log(STANDBY, format!("readiness: {error}"));
        }
        let failing: Vec<String> = report.failed().map(|f| f.check.clone()).collect();
        let now = self.now();
        for check in &failing {
            self.findings_first_failed
                .entry(check.clone())
                .or_insert(now);
        }
        if failing != self.readiness_failing {
            let text = if report.ready {
                "readiness: ready".to_owned()
            } else {
                format!(
                    "readiness: NOT ready: {}",
                    report
                        .failed()
                        .map(|f| format!(
                            "{} ({}; fix: {})",
                            f.check,
                            f.detail,
                            f.fix.as_deref().unwrap_or("-")
                        ))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            };
            self.log(STANDBY, text);
            self.readiness_failing = failing;
        }
    }

    pub(super) async fn invoke_promoter(
        &mut self,
        message: String,
        sent: OffsetDateTime,
        attempt: usize,
    ) {
        let event = events::sns_delivery(STANDBY, "StopAlarmTopic", &message, sent);
        let deadline = self.now() + Duration::seconds(self.topology.promoter_timeout_s);
        self.start_invocation_until(deadline);
        let result = self.promoter.handle(event, ACCOUNT).await;
        let timed_out = self.end_invocation();
        if !timed_out
            && let Ok(report) = &result
            && stop_core::promoter::starts_work(&report.verdicts)
        {
            self.follow_up(report, deadline);
        }
        let text = if timed_out {
            "timed out".to_owned()
        } else {
            self.promoter_text(&result)
        };
        let retry = timed_out || result.is_err();
        let text = match model::LAMBDA_ASYNC_RETRY_S.get(attempt) {
            Some(after) if retry => {
                let at = self.now() + Duration::seconds(*after);
                self.schedule(
                    at,
                    Ev::Promoter {
                        message,
                        sent,
                        attempt: attempt + 1,
                    },
                );
                format!("{text}; Lambda retries in {after} s")
            }
            _ => text,
        };
        let attempt_note = if attempt > 0 {
            format!(" (retry {attempt})")
        } else {
            String::new()
        };
        self.log(STANDBY, format!("replica-promoter{attempt_note}: {text}"));
    }

    /// A promoter invocation's outcome as a timeline line; its answer is kept
    /// for the secrets check.
    pub(super) fn promoter_text(
        &mut self,
        result: &Result<replica_promoter::Report, stop_core::promoter::PromoteError>,
    ) -> String {
        match result {
            Ok(report) => {
                self.outputs
                    .push(serde_json::to_string(report).unwrap_or_default());
                report
                    .verdicts
                    .iter()
                    .map(verdict_text)
                    .collect::<Vec<_>>()
                    .join("; ")
            }
            Err(error) => format!("error: {error}"),
        }
    }

    /// The invocation runs again while its drain or promotion is under way,
    /// as `App::invoke_and_follow` does in Lambda: the same rule
    /// (`Report::follow_up`), driven by the drill's queue so that the world
    /// goes on meanwhile.
    fn follow_up(&mut self, report: &replica_promoter::Report, deadline: OffsetDateTime) {
        if self.sabotage.no_follow_up {
            return;
        }
        let epoch = stop_core::promoter::epoch_of(&report.verdicts);
        if let Some(wait) = report.follow_up(deadline - self.now()) {
            let wait = Duration::try_from(wait).unwrap_or(Duration::ZERO);
            self.schedule(self.now() + wait, Ev::PromoterFollowUp { deadline, epoch });
        }
    }

    pub(super) async fn invoke_promoter_follow_up(
        &mut self,
        deadline: OffsetDateTime,
        epoch: Option<u64>,
    ) {
        let invocation = replica_promoter::Invocation::Schedule;
        self.invoke_promoter_until(invocation, deadline, "follow-up", Some(epoch))
            .await;
    }

    /// One promoter run that follows its drain or promotion (the alarm's, a
    /// record change's, a follow-up's), logged when it says something new.
    async fn invoke_promoter_until(
        &mut self,
        invocation: replica_promoter::Invocation,
        deadline: OffsetDateTime,
        kind: &str,
        following: Option<Option<u64>>,
    ) {
        self.start_invocation_until(deadline);
        let result = self.promoter.invoke(invocation, ACCOUNT).await;
        let timed_out = self.end_invocation();
        let text = if timed_out {
            "timed out".to_owned()
        } else {
            self.promoter_text(&result)
        };
        // As `App::invoke_and_follow`: the first run follows only what it
        // started; a follow-up goes on while its epoch's work is under way.
        if !timed_out && let Ok(report) = &result {
            let epoch = stop_core::promoter::epoch_of(&report.verdicts);
            let follows = match following {
                None => stop_core::promoter::starts_work(&report.verdicts),
                Some(first) => first == epoch,
            };
            if follows {
                self.follow_up(report, deadline);
            }
        }
        if text != self.last_schedule_text {
            self.log(STANDBY, format!("replica-promoter ({kind}): {text}"));
            self.last_schedule_text = text;
        }
    }

    /// EventBridge delivers SSM's `Parameter Store Change` for the record to
    /// each function whose template has the rule; each parses the real shape.
    pub(super) async fn on_record_changed(&mut self) {
        self.record_event_pending = false;
        let config = &self.promoter.config;
        let record = config.decision_parameter(&config.service);
        let payload = events::parameter_store_change(STANDBY, &record, self.now());
        if self.topology.promoter_on_record_change {
            match replica_promoter::Invocation::parse(payload.clone()) {
                Ok(invocation) => {
                    let deadline = self.now() + Duration::seconds(self.topology.promoter_timeout_s);
                    self.invoke_promoter_until(invocation, deadline, "record changed", None)
                        .await;
                }
                Err(why) => self.log(
                    STANDBY,
                    format!("replica-promoter: refused the event: {why}"),
                ),
            }
        }
        if self.topology.rewriter_on_record_change {
            self.invoke_rewriter(payload, false).await;
        }
    }

    /// The promoter's one-minute schedule; logged when it says something new.
    pub(super) async fn invoke_promoter_schedule(&mut self) {
        let deadline = self.now() + Duration::seconds(self.topology.promoter_timeout_s);
        self.start_invocation_until(deadline);
        let result = self
            .promoter
            .invoke(replica_promoter::Invocation::Schedule, ACCOUNT)
            .await;
        let timed_out = self.end_invocation();
        // A schedule run that started the drain or the promotion follows it.
        if !timed_out
            && let Ok(report) = &result
            && stop_core::promoter::starts_work(&report.verdicts)
        {
            self.follow_up(report, deadline);
        }
        let text = self.promoter_text(&result);
        let quiet = matches!(&result, Ok(r) if r.verdicts.iter().all(|v| match v {
            Verdict::Ignored { .. } => true,
            Verdict::Reconciled { steps, .. } => steps.is_empty(),
        }));
        if !quiet && text != self.last_schedule_text {
            self.log(STANDBY, format!("replica-promoter (schedule): {text}"));
            self.last_schedule_text = text;
        }
    }

    /// The trigger's schedule republishes the STOP value of the record; on
    /// the ARC-only path there is no STOP metric and it publishes nothing.
    pub(super) async fn invoke_trigger_schedule(&mut self) {
        self.start_invocation();
        let result = failover_trigger::on_schedule(&self.trigger).await;
        let _ = self.end_invocation();
        let text = match result {
            Ok(done) => done,
            Err(why) => format!("not republished: {why}"),
        };
        if text != self.last_republish {
            self.log(STANDBY, format!("failover-trigger (schedule): {text}"));
            self.last_republish = text;
        }
    }

    pub(super) async fn invoke_rewriter(&mut self, payload: Value, always_log: bool) {
        if self.scenario.db == Db::None {
            return;
        }
        let result = self.rewriter.handle(&payload).await;
        let (quiet, text) = match &result {
            Ok(report) => {
                let value = serde_json::to_value(report).unwrap_or(Value::Null);
                self.outputs.push(value.to_string());
                let outcome = value["rewrite"]["outcome"].as_str().unwrap_or("ignored");
                let text = match outcome {
                    "rewritten" => format!(
                        "secret now points at {}{}",
                        value["rewrite"]["host"].as_str().unwrap_or("?"),
                        if value["rewrite"]["stopped_replication"] == true {
                            " (replication to the replica secret stopped first)"
                        } else {
                            ""
                        }
                    ),
                    "already" => "secret already points at the writer".to_owned(),
                    "waiting" => format!(
                        "waiting: {}",
                        value["rewrite"]["reason"].as_str().unwrap_or("")
                    ),
                    _ => format!("ignored: {}", value["reason"].as_str().unwrap_or("")),
                };
                (outcome != "rewritten", text)
            }
            Err(error) => (false, format!("error: {error}")),
        };
        if always_log || !quiet {
            self.log(STANDBY, format!("secret-rewriter: {text}"));
        }
    }
}

pub(super) fn verdict_text(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Ignored { reason } => format!("ignored: {reason}"),
        Verdict::Reconciled {
            epoch,
            decided,
            steps,
        } => {
            let steps: Vec<String> = steps
                .iter()
                .map(|s| format!("{} {:?}: {}", s.step, s.state, s.detail))
                .collect();
            if steps.is_empty() {
                return format!("epoch {epoch}: nothing to do");
            }
            format!(
                "epoch {epoch}{}: {}",
                if *decided { " decided" } else { "" },
                steps.join("; ")
            )
        }
    }
}
