//! The clients: DNS answers through Route 53's failover record, reads of the
//! demo API, and writes through the answering Region's fence to its database.

use super::*;

impl Drill<'_> {
    pub(super) async fn client_request(&mut self, index: usize) {
        let now = self.now();
        let ttl = Duration::seconds(self.topology.dns_ttl_s);
        let side = match self.clients[index].resolved {
            Some((side, expires)) if expires > now => side,
            _ => {
                let side = self.dns_answer();
                self.clients[index].resolved = Some((side, now + ttl));
                side
            }
        };
        let region = self.region(side);
        let target = self.target();
        let dark = self.sim.with(|w| w.dark.contains(&region));
        let answered = if dark {
            None
        } else {
            let app = match side {
                Side::Primary => &self.info_primary,
                Side::Standby => &self.info_standby,
            };
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
                self.client_errors += 1;
            }
        }
        if answered.is_some() {
            self.write(side, now).await;
        }
    }

    /// One write by a client to the Region that answered: through that
    /// Region's `POST /write` (the fence), then its database.
    pub(super) async fn write(&mut self, side: Side, at: OffsetDateTime) {
        if self.scenario.db == Db::None {
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
        self.write_through(side, request, at).await;
    }

    /// A write request to `side`'s region-info; if the fence lets it through,
    /// that Region's database takes it (and the world records the ack) or
    /// refuses it. The answer is what the client gets.
    pub(super) async fn write_through(
        &mut self,
        side: Side,
        request: Request,
        at: OffsetDateTime,
    ) -> lambda_http::Response<Body> {
        let app = match side {
            Side::Primary => &self.info_primary,
            Side::Standby => &self.info_standby,
        };
        let response = region_info::handle(app, request).await;
        if response.status() != 200 {
            self.writes_fenced += 1;
            return response;
        }
        let region = self.region(side);
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
            self.sim.with(|w| w.writes.push((at, region)));
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
