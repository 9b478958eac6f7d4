//! The scenario of `examples/bus_coupled.rs`, in-process on tokio's paused clock: every
//! event published is handled by the worker, or counted lost by the stop report.

#[path = "../examples/bus_coupled.rs"]
#[allow(dead_code, reason = "the example's `main` is not used here")]
mod bus_coupled;

use std::future;

#[tokio::test(start_paused = true)]
async fn every_event_is_handled_or_counted_lost() {
    let tally = bus_coupled::scenario(200, future::pending()).await.unwrap();
    assert!(tally.report.is_success(), "{}", tally.report);
    // The api published too, every 5 ms while main published 200 a millisecond apart.
    assert!(tally.published > 200, "{}", tally.published);
    assert_eq!(
        tally.handled + tally.report.lost_events(),
        tally.published,
        "{}",
        tally.report
    );
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_run_loses_nothing_it_does_not_count() {
    let interrupt = tokio::time::sleep(std::time::Duration::from_millis(20));
    let tally = bus_coupled::scenario(1_000, interrupt).await.unwrap();
    assert!(tally.published < 1_000);
    assert_eq!(tally.handled + tally.report.lost_events(), tally.published);
}
