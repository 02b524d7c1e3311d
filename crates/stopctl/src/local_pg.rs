//! `stopctl local --engine postgres`: a real PostgreSQL primary and streaming
//! replica on loopback, served on localhost so that a whole cycle can be
//! run by hand: `POST /write` (through the active Region's write fence, a
//! real `INSERT`), `POST /failover`, `POST /reprotect`, `POST /failback`
//! (graceful presses carried to their end by the core's promoter), and
//! `GET /status` (the decision, the writes acknowledged, the rows on the
//! writer, and a `psql` command for each instance). Requests are served one
//! at a time; the servers are removed when it stops (Ctrl-C, the time limit,
//! or `POST /local/stop`).

use std::cell::Cell;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use stop_pg::drill::Hand;
use tokio::net::TcpListener;

use crate::local::{json_answer as answer, misdirected, refuse as refused, until_stopped};
use crate::render::{Style, say};

async fn serve(
    hand: &Hand<'_>,
    port: u16,
    stop: &Cell<bool>,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    if let Some(refused) = misdirected(&request, port) {
        return refused;
    }
    let post = request.method() == hyper::Method::POST;
    match (post, request.uri().path()) {
        (true, "/write") => match hand.write().await {
            Ok((order, region)) => answer(
                200,
                &serde_json::json!({"accepted": true, "order": order, "region": region.as_str()}),
            ),
            Err(why) => refused(503, "fenced", &why),
        },
        (true, "/failover" | "/failback") => {
            let want = if request.uri().path() == "/failover" {
                "us-west-2"
            } else {
                "us-east-1"
            };
            match hand.status().await {
                Ok(s) if s["active_region"] == want => {
                    refused(409, "already_active", &format!("{want} is already active"))
                }
                Ok(_) => match hand.switch().await {
                    Ok(_) => answer(200, &hand.status().await.unwrap_or_default()),
                    Err(why) => refused(500, "move_failed", &why),
                },
                Err(why) => refused(500, "record", &why),
            }
        }
        (true, "/reprotect") => match hand.reprotect().await {
            Ok(()) => answer(200, &hand.status().await.unwrap_or_default()),
            Err(why) => refused(500, "reprotect_failed", &why),
        },
        (true, "/local/stop") => {
            // As Ctrl-C: once this answer is sent, the servers are removed.
            stop.set(true);
            answer(200, &serde_json::json!({"stopping": true}))
        }
        (false, "/status") => match hand.status().await {
            Ok(status) => answer(200, &status),
            Err(why) => refused(500, "record", &why),
        },
        (_, "/write" | "/failover" | "/failback" | "/reprotect" | "/status") => refused(
            405,
            "method",
            "POST /write|/failover|/failback|/reprotect, GET /status",
        ),
        _ => refused(
            404,
            "not_found",
            "POST /write|/failover|/failback|/reprotect, GET /status",
        ),
    }
}

pub async fn run(port: u16, for_seconds: Option<f64>, style: Style) -> Result<(), String> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    say(&style.dim("starting a PostgreSQL primary and its streaming replica…\n"));
    let (primary, standby) = (
        "us-east-1".parse().map_err(|e| format!("{e:?}"))?,
        "us-west-2".parse().map_err(|e| format!("{e:?}"))?,
    );
    let pg = stop_pg::LocalPg::start(&primary, &standby, "orders", "orders-replica").await?;
    let hand = Hand::new(&pg)?;
    say(&format!(
        "listening on http://{addr}/ (real PostgreSQL; requests one at a time)\n\
         writes     curl -X POST http://{addr}/write    (a real INSERT through the active Region's write fence)\n\
         moves      curl -X POST http://{addr}/failover   then /reprotect, then /failback (graceful, carried to their end)\n\
         status     curl http://{addr}/status   (the writes acknowledged, the rows on the writer, a psql command for each instance)\n\
         stop       Ctrl-C, or curl -X POST http://{addr}/local/stop   (the servers and their directory are removed)\n\n"
    ));
    let printed = Cell::new(0);
    let stop_asked = Cell::new(false);
    let print_timeline = || {
        for line in hand.timeline_from(printed.get()) {
            printed.set(printed.get() + 1);
            let s = line.at_ms / 1000;
            say(&format!(
                "{} {:<14} {}\n",
                style.dim(&format!("{:02}:{:02}", s / 60, s % 60)),
                line.region,
                line.event
            ));
        }
    };
    let accept = async {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let service = service_fn(|request| async {
                Ok::<_, hyper::Error>(serve(&hand, addr.port(), &stop_asked, request).await)
            });
            let _ = http1::Builder::new()
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            print_timeline();
            if stop_asked.get() {
                return;
            }
        }
    };
    let stop = until_stopped(for_seconds);
    tokio::select! {
        () = accept => {}
        () = stop => {}
    }
    let status = hand.status().await.unwrap_or_default();
    say(&format!(
        "\nwrites acknowledged: {}; on the writer {}: {} rows; missing: {}\n",
        status["acknowledged"], status["writer"], status["rows_on_writer"], status["missing"]
    ));
    Ok(())
}
