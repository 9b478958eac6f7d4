//! `symphra::util::timeout` on tokio's paused clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use symphra::util::{TimeoutError, TimeoutExt, timeout};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn error_names_the_operation_and_the_limit() {
    let result = timeout(
        "fetch users",
        Duration::from_secs(30),
        tokio::time::sleep(Duration::from_secs(31)),
    )
    .await;

    let Err(err) = result else {
        panic!("expected a timeout, got {result:?}");
    };
    assert_eq!(err.operation(), "fetch users");
    assert_eq!(err.after(), Duration::from_secs(30));
    assert_eq!(
        err.to_string(),
        "fetch users timed out after 30s; raise the timeout or make the operation faster"
    );
}

#[tokio::test(start_paused = true)]
async fn sub_second_limits_read_naturally() {
    let err = tokio::time::sleep(Duration::from_secs(1))
        .timeout(format!("load module {}", "db"), Duration::from_millis(50))
        .await
        .err();
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("load module db timed out after 50ms; raise the timeout or make the operation faster")
    );
}

#[tokio::test(start_paused = true)]
async fn fails_exactly_at_the_deadline() {
    let began = Instant::now();
    let result = std::future::pending::<()>()
        .timeout("never", Duration::from_secs(30))
        .await;
    assert_eq!(
        result,
        Err(TimeoutError::new("never", Duration::from_secs(30)))
    );
    assert_eq!(Instant::now() - began, Duration::from_secs(30));
}

#[tokio::test(start_paused = true)]
async fn a_future_that_finishes_in_time_returns_its_value() {
    let began = Instant::now();
    let result = timeout("compute", Duration::from_secs(30), async {
        tokio::time::sleep(Duration::from_secs(29)).await;
        42
    })
    .await;
    assert_eq!(result, Ok(42));
    assert_eq!(Instant::now() - began, Duration::from_secs(29));
}

#[tokio::test(start_paused = true)]
async fn an_inner_error_is_passed_through_as_the_value() {
    let result = async { Err::<u8, &str>("refused") }
        .timeout("connect", Duration::from_secs(1))
        .await;
    assert_eq!(result, Ok(Err("refused")));
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_operation_stops_at_its_limit_and_is_dropped() {
    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    let dropped = Arc::new(AtomicBool::new(false));
    let steps = Arc::new(AtomicUsize::new(0));
    let guard = SetOnDrop(Arc::clone(&dropped));
    let counted = Arc::clone(&steps);
    // One step per second, forever, unless the timeout ends it.
    let work = async move {
        let _guard = guard;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            counted.fetch_add(1, Ordering::SeqCst);
        }
    };
    let began = Instant::now();
    let result: Result<(), _> = timeout("steps", Duration::from_millis(3_500), work).await;
    assert_eq!(
        result,
        Err(TimeoutError::new("steps", Duration::from_millis(3_500)))
    );
    assert_eq!(Instant::now() - began, Duration::from_millis(3_500));
    assert_eq!(
        steps.load(Ordering::SeqCst),
        3,
        "three steps fit in the limit"
    );
    assert!(dropped.load(Ordering::SeqCst), "the operation was dropped");
    // Nothing keeps running it in the background.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(steps.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn error_is_a_std_error_and_timeout_runs_on_spawned_tasks() {
    let handle = tokio::spawn(timeout(
        "background job",
        Duration::from_millis(5),
        tokio::time::sleep(Duration::from_secs(1)),
    ));
    let joined = handle.await;
    let err: Box<dyn std::error::Error + Send + Sync> = match joined {
        Ok(Err(e)) => Box::new(e),
        other => panic!("expected a timeout, got {other:?}"),
    };
    assert!(
        err.to_string()
            .starts_with("background job timed out after 5ms")
    );
}
