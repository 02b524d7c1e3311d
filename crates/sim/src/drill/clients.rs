//! The clients: DNS answers through Route 53's failover record, reads of the
//! demo API, and writes through the answering Region's fence to its database.

use super::*;

impl Drill<'_> {
    /// One client's request. Clients run beside everything else: the time
    /// its calls take (a fence read timing out across an isolated Region's
    /// edge) is its own, so the world's clock is put back after it.
    pub(super) async fn client_request(&mut self, index: usize) {
        let now = self.now();
        self.client_request_at(index, now).await;
        self.sim.with(|w| w.now = now);
    }

    async fn client_request_at(&mut self, index: usize, now: OffsetDateTime) {
        let ttl = Duration::seconds(self.topology.dns_ttl_s);
        let kind = self.clients[index].kind;
        let side = match (kind, self.clients[index].resolved) {
            (ClientKind::InRegion, _) => Side::Primary,
            (ClientKind::Dns, Some((side, expires))) if expires > now => side,
            // A sticky client keeps the connection it has.
            (ClientKind::Sticky, Some((side, _))) => side,
            _ => {
                let side = self.dns_answer();
                self.clients[index].resolved = Some((side, now + ttl));
                side
            }
        };
        let region = self.region(side);
        let target = self.target();
        // Isolation cuts a Region off from the others, not from its clients.
        let dark = self.sim.with(|w| w.dark.contains(&region));
        let answered = if dark {
            None
        } else {
            let app = self.sandbox(side, index);
            let request: Request = HttpRequest::builder()
                .method(Method::GET)
                .uri("/")
                .body(Body::Empty)
                .unwrap_or_default();
            let response = region_info::handle(app, request).await;
            let body = events::body_json(response.body());
            (response.status() == 200 && body["region"] == region.as_str()).then_some(side)
        };
        let client = &mut self.clients[index];
        match answered {
            Some(side) if side == target => {
                client.on_target_since.get_or_insert(now);
            }
            Some(_) => client.on_target_since = None,
            None => {
                client.on_target_since = None;
                // A failed connection makes even a sticky client look again.
                client.resolved = None;
                self.client_errors += 1;
            }
        }
        if answered.is_some() {
            self.write_from(side, index).await;
        }
    }

    /// The sandbox of `side` that serves client `index`.
    pub(super) fn sandbox(&self, side: Side, index: usize) -> &Info {
        let pool = match side {
            Side::Primary => &self.info_primary,
            Side::Standby => &self.info_standby,
        };
        &pool[index % pool.len()]
    }

    /// One write by a client to the Region that answered: through that
    /// Region's `POST /write` (the fence), then its database.
    pub(super) async fn write_from(&mut self, side: Side, index: usize) {
        if self.scenario.db == Db::None || self.writes_paused {
            return;
        }
        let request = stop_http::proxy_request(
            "POST",
            "/write",
            None,
            Some("application/json"),
            br#"{"order":1}"#,
            None,
        )
        .unwrap_or_default();
        self.write_through(side, index, request).await;
    }

    /// A write request to `side`'s region-info; if the fence lets it through,
    /// that Region's database takes it (and the world records the ack) or
    /// refuses it. The answer is what the client gets.
    pub(super) async fn write_through(
        &mut self,
        side: Side,
        index: usize,
        request: Request,
    ) -> lambda_http::Response<Body> {
        let app = self.sandbox(side, index);
        let response = region_info::handle(app, request).await;
        let region = self.region(side);
        self.fence_changes(side, index, &response);
        if response.status() != 200 {
            self.writes_fenced += 1;
            return response;
        }
        let accepted = self.sim.with(|w| match self.scenario.db {
            Db::RdsReplica => w
                .instances
                .values()
                .any(|i| i.region == region && i.writable()),
            Db::AuroraGlobal => w.global.as_ref().is_some_and(|g| {
                g.status == "available"
                    && g.writer_cluster_arn
                        .as_deref()
                        .is_some_and(|arn| arn.contains(&format!(":{region}:")))
            }),
            Db::None => false,
        });
        if accepted {
            // Acknowledged now, after the fence and the database.
            self.sim.with(|w| {
                let now = w.now;
                w.writes.push((now, region));
            });
            response
        } else {
            self.writes_refused += 1;
            stop_http::error(
                lambda_http::http::StatusCode::SERVICE_UNAVAILABLE,
                "database_refused",
                format!("the database in {region} does not take writes"),
            )
        }
    }

    /// Says on the timeline when a Region's fence starts or stops letting
    /// writes through, and why.
    fn fence_changes(&mut self, side: Side, index: usize, response: &lambda_http::Response<Body>) {
        let open = response.status() == 200;
        let states = match side {
            Side::Primary => &mut self.fence_open[0],
            Side::Standby => &mut self.fence_open[1],
        };
        // A Region lets writes through while any of its sandboxes does.
        let was = states.contains(&Some(true));
        let seen = states.iter().any(Option::is_some);
        states[index % SANDBOXES] = Some(open);
        let now_open = states.contains(&Some(true));
        if now_open == was && seen {
            return;
        }
        if !seen && now_open == (side == Side::Primary) {
            return; // as deployed: the primary writes, the standby does not
        }
        let region = self.region(side);
        let body = events::body_json(response.body());
        let event = if now_open {
            format!(
                "region-info: the fence lets writes through (epoch {})",
                body["epoch"]
            )
        } else {
            format!(
                "region-info: every sandbox's fence refuses writes: {}",
                body["error"]["message"]
                    .as_str()
                    .unwrap_or("")
                    .trim_start_matches("write refused, nothing written; retry: ")
            )
        };
        self.log(region.as_str(), event);
    }

    /// Route 53's failover answer: the primary while its record is healthy,
    /// else the standby while its own check passes, else the primary anyway.
    pub(super) fn dns_answer(&self) -> Side {
        let standby_healthy = self.standby_failures < self.topology.standby_failure_threshold;
        if self.primary_record_healthy || !standby_healthy {
            Side::Primary
        } else {
            Side::Standby
        }
    }
}
