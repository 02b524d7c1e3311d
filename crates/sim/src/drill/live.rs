//! `stopctl local`: the same world running open-ended, answering HTTP.

use super::*;

/// The world running open-ended, for `stopctl local`: time moves when told,
/// the operator API and the demo endpoint answer HTTP requests.
pub struct Live {
    drill: Drill<'static>,
}

impl Live {
    /// Both switches, an RDS replica, an Auto Scaling group; no script.
    pub fn new(seed: u64, cooldown_s: u32) -> Result<Self, String> {
        let scenario = Scenario {
            id: 0,
            name: "local",
            summary: "the world, live",
            path: Path::Arc,
            db: Db::RdsReplica,
            // AutoFailover on, as a SECONDARY stack with the detector deploys:
            // darken the primary and the detector fails over.
            auto_failover: true,
            detector: true,
            secret_replicated: false,
            cooldown_s,
            sns: Default::default(),
            script: Vec::new(),
            horizon_s: i64::from(u32::MAX),
            expect_region: Side::Standby,
            expect_epoch: 1,
            expect_answers: &[],
            expect_writer_moves: 0,
            expect_protected: None,
            expect_findings: &[],
            expect_heartbeat_alarm: false,
            failover_capacity: None,
            // A witness: the fence record's third copy, so that isolating
            // the primary closes its writes within L while the standby takes over.
            witness: true,
            fence_policy: None,
            sticky_clients: 0,
            in_region_writers: 0,
            expect_primary_writing: None,
        };
        let scenario: &'static Scenario = Box::leak(Box::new(scenario));
        Ok(Live {
            drill: Drill::new(
                scenario,
                seed,
                crate::topology::TEMPLATE,
                Sabotage::default(),
            )?,
        })
    }

    pub fn now(&self) -> OffsetDateTime {
        self.drill.now()
    }

    /// Darkens (or restores) the primary Region, as a real outage would: the
    /// detector sees it from the standby and the witness.
    pub async fn set_primary_dark(&mut self, dark: bool) {
        self.drill.act(Action::Dark(Side::Primary, dark)).await;
    }

    /// Moves the virtual clock on by `by`, running everything due.
    pub async fn advance(&mut self, by: Duration) {
        let until = self.drill.now() + by;
        self.drill.run_until(until).await;
    }

    /// Timeline lines from the `from`-th on.
    pub fn timeline_from(&self, from: usize) -> Vec<Entry> {
        self.drill.sim.with(|w| {
            w.timeline
                .get(from..)
                .map(<[Entry]>::to_vec)
                .unwrap_or_default()
        })
    }

    /// One request to the operator API, as a Lambda invocation with its timeout.
    pub async fn operator_api(&mut self, request: Request) -> lambda_http::Response<Body> {
        self.drill.start_invocation();
        let response = failover_trigger::handle(&self.drill.trigger, request).await;
        if self.drill.end_invocation() {
            return stop_http::error(
                lambda_http::http::StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                "the function timed out",
            );
        }
        response
    }

    /// One request to the failover name: Route 53's answer decides which
    /// Region's `region-info` serves it.
    pub async fn demo_api(&mut self, request: Request) -> lambda_http::Response<Body> {
        let side = self.drill.dns_answer();
        self.serve(side, request).await
    }

    /// One request to a Region's own endpoint (its regional API URL, as an
    /// in-Region job calls it), whatever DNS answers.
    pub async fn regional_api(
        &mut self,
        primary: bool,
        request: Request,
    ) -> lambda_http::Response<Body> {
        let side = if primary {
            Side::Primary
        } else {
            Side::Standby
        };
        self.serve(side, request).await
    }

    async fn serve(&mut self, side: Side, request: Request) -> lambda_http::Response<Body> {
        let region = self.drill.region(side);
        if self.drill.sim.with(|w| w.dark.contains(&region)) {
            return stop_http::error(
                lambda_http::http::StatusCode::SERVICE_UNAVAILABLE,
                "region_dark",
                format!("{region} does not answer"),
            );
        }
        if request.method() == Method::POST && stop_http::route_path(&request) == "/write" {
            return self.drill.write_through(side, 0, request).await;
        }
        region_info::handle(self.drill.sandbox(side, 0), request).await
    }

    /// Acknowledged writes by Region so far, and how many of them no later
    /// writer has (the RPO, as the drill counts it).
    pub fn writes(&self) -> (Vec<(String, usize)>, Option<u32>) {
        let facts = self.drill.sim.with(|w| WorldFacts::read(w, &self.drill));
        let mut by_region: BTreeMap<String, usize> = BTreeMap::new();
        for (_, region) in &facts.writes {
            *by_region.entry(region.to_string()).or_default() += 1;
        }
        (by_region.into_iter().collect(), self.drill.rpo(&facts).0)
    }

    /// "Never two writers", checked on the world so far: no write
    /// acknowledged by a writer after its replication cut.
    pub fn never_two_writers(&self) -> Check {
        let facts = self.drill.sim.with(|w| WorldFacts::read(w, &self.drill));
        self.drill.never_two_writers(&facts)
    }

    /// Cuts the primary off from the other Regions (its own clients still
    /// reach it), or joins it to them again.
    pub async fn set_isolated(&mut self, isolated: bool) {
        self.drill
            .act(Action::Isolate(Side::Primary, isolated))
            .await;
    }

    /// The lease L the fences hold, in seconds.
    pub fn lease_s(&self) -> u32 {
        self.drill.trigger.config.fence_lease_seconds
    }

    /// Turns a Region dark or back.
    pub async fn set_dark(&mut self, primary: bool, dark: bool) {
        let side = if primary {
            Side::Primary
        } else {
            Side::Standby
        };
        self.drill.act(Action::Dark(side, dark)).await;
    }
}
