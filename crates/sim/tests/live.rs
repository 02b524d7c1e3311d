#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! `stopctl local`'s world, driven as a person drives it: isolate the
//! primary, watch its own writes close within the lease, and the standby's
//! writer take over.

use lambda_http::Request;
use stop_sim::drill::Live;
use time::Duration;

fn write() -> Request {
    stop_http::proxy_request(
        "POST",
        "/write",
        None,
        Some("application/json"),
        br#"{"order":1}"#,
        None,
    )
    .unwrap()
}

#[tokio::test]
async fn isolating_the_primary_closes_its_writes_within_the_lease_and_the_standby_takes_over() {
    let mut live = Live::new(1, 300).unwrap();
    live.advance(Duration::seconds(60)).await;
    assert_eq!(live.regional_api(true, write()).await.status(), 200);
    assert_eq!(live.regional_api(false, write()).await.status(), 503);

    live.set_isolated(true).await;
    let isolated_at = live.now();
    let lease = Duration::seconds(i64::from(live.lease_s()));
    let mut closed_after = None;
    for _ in 0..60 {
        live.advance(Duration::milliseconds(500)).await;
        if live.regional_api(true, write()).await.status() == 503 {
            closed_after = Some(live.now() - isolated_at);
            break;
        }
    }
    let closed_after = closed_after.expect("the isolated primary never refused a write");
    assert!(closed_after <= lease, "closed after {closed_after}");

    // The detector decides on its own, the promoter cuts after the lease,
    // the rewriter opens the standby's writes.
    let mut standby_open = false;
    for _ in 0..(20 * 60 / 5) {
        live.advance(Duration::seconds(5)).await;
        let answer = live.regional_api(false, write()).await;
        if answer.status() == 200 {
            standby_open = true;
            break;
        }
    }
    assert!(standby_open, "the standby never took writes");
    assert_eq!(live.regional_api(true, write()).await.status(), 503);
    let check = live.never_two_writers();
    assert!(check.ok, "{}", check.detail);
    // Healed, the old primary reads the newer epoch from a majority: still closed.
    live.set_isolated(false).await;
    live.advance(Duration::seconds(30)).await;
    assert_eq!(live.regional_api(true, write()).await.status(), 503);
}
