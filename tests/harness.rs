//! The test kit's harness and recorder, used the way an application's own tests use them.

use std::time::Duration;

use serde_json::json;
use symphra::manager::Outcome;
use symphra::prelude::*;
use symphra::testing::{CallLog, EventRecorder, Fault, Harness, Probe};

/// The module under test: reads its config, talks to its declared "database".
struct Reports;

impl Module for Reports {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("reports")
            .depends_on("database ^1.4")
            .optionally_depends_on("mailer")
            .config_schema(json!({
                "type": "object",
                "properties": { "every_secs": { "type": "integer", "minimum": 1 } },
                "required": ["every_secs"]
            }))
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let every = ctx.config().get::<u64>("every_secs")?.unwrap_or(60);
        let ctx = ctx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(every)).await;
            let _ = ctx.publish("reports.generated", every).await;
        });
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_module_runs_against_generated_stand_ins_and_its_events_are_awaited() {
    let harness = Harness::builder(Reports)
        .config(json!({ "every_secs": 30 }))
        .build()
        .unwrap();
    harness.start().await.unwrap();
    assert_eq!(harness.state(), ModuleState::Started);
    // The stand-in "database" satisfied ^1.4 and started first; the optional mailer was not made up.
    assert_eq!(harness.calls().modules_calling(Hook::Start), ["database"]);

    let began = tokio::time::Instant::now();
    let event = harness
        .events()
        .wait_for(
            |e| e.topic() == "reports.generated",
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(began.elapsed(), Duration::from_secs(30));
    assert_eq!(event.payload::<u64>(), Some(&30));
    assert_eq!(event.source(), Some("reports"));

    harness.stop().await.unwrap();
    assert_eq!(
        harness.hooks(),
        [Hook::Bootstrap, Hook::Install, Hook::Start, Hook::Stop]
    );
}

#[tokio::test]
async fn an_invalid_config_fails_install_and_the_harness_says_so() {
    let harness = Harness::builder(Reports)
        .config(json!({ "every_secs": 0 }))
        .build()
        .unwrap();
    let error = harness.start().await.unwrap_err();
    assert!(error.to_string().contains("/every_secs"), "{error}");
    assert_eq!(harness.state(), ModuleState::Failed);
    assert_eq!(harness.hooks(), [Hook::Bootstrap, Hook::Install]);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_dependency_injected_into_the_harness_skips_the_module() {
    let log = CallLog::default();
    let database = Probe::new("database", &log)
        .metadata_with(|m| m.version("1.4.2"))
        .fault(Hook::Start, Fault::Hang);
    let harness = Harness::builder(Reports)
        .config(json!({ "every_secs": 5 }))
        .dependency(database)
        .manager(|m| m.hook_timeout(Duration::from_secs(3)))
        .build()
        .unwrap();
    let report = match harness.start().await.unwrap_err() {
        symphra::Error::Start(error) => error.into_report(),
        other => panic!("{other}"),
    };
    assert!(matches!(
        report.module("reports").unwrap().outcome(),
        Outcome::Skipped(_)
    ));
    assert_eq!(harness.state(), ModuleState::Registered);
    assert!(harness.hooks().is_empty());
}

#[tokio::test(start_paused = true)]
async fn waiting_for_a_state_and_for_a_count_of_events() {
    let log = CallLog::default();
    let slow = Probe::new("slow", &log).delay(Hook::Start, Duration::from_secs(10));
    let harness = Harness::builder(slow).build().unwrap();
    let manager = harness.manager().clone();
    let start = tokio::spawn(async move { manager.start("slow").await.map(|_| ()) });
    harness
        .wait_for_state(ModuleState::Starting, Duration::from_secs(1))
        .await
        .unwrap();
    let too_soon = harness
        .wait_for_state(ModuleState::Started, Duration::from_secs(5))
        .await;
    assert!(
        too_soon
            .unwrap_err()
            .to_string()
            .contains("timed out after 5s")
    );
    harness
        .wait_for_state(ModuleState::Started, Duration::from_secs(10))
        .await
        .unwrap();
    start.await.unwrap().unwrap();

    let recorder = EventRecorder::new(harness.manager().bus(), "ticks.*").unwrap();
    let bus = harness.manager().bus().clone();
    tokio::spawn(async move {
        for n in 0..3_u32 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            bus.emit("ticks.second", n).unwrap();
        }
    });
    let events = recorder
        .wait_for_count(3, Duration::from_secs(10))
        .await
        .unwrap();
    let ticks: Vec<u32> = events
        .iter()
        .filter_map(|e| e.payload::<u32>().copied())
        .collect();
    assert_eq!(ticks, [0, 1, 2]);
    assert_eq!(recorder.topics(), ["ticks.second"; 3]);
}
