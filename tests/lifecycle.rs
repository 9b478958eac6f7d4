//! The manager's lifecycle rules: order, failures, timeouts, optional dependencies,
//! configuration, illegal transitions.

use std::time::Duration;

use serde_json::json;
use symphra::lifecycle::{FailureCause, Operation};
use symphra::manager::{Outcome, SkipReason};
use symphra::prelude::*;
use symphra::testing::{CallLog, Fault, Probe};
use symphra::{Error, ModuleManagerBuilder};

fn start_error(error: Error) -> symphra::manager::Report {
    match error {
        Error::Start(error) => error.into_report(),
        other => panic!("expected a start error, got {other}"),
    }
}

/// database <- users <- api, and an independent cache.
fn app(log: &CallLog) -> ModuleManagerBuilder {
    ModuleManager::builder()
        .module(Probe::new("api", log).depends_on("users"))
        .module(Probe::new("users", log).depends_on("database"))
        .module(Probe::new("database", log))
        .module(Probe::new("cache", log))
}

#[tokio::test]
async fn start_all_runs_every_hook_in_dependency_order_and_stop_all_reverses_it() {
    let log = CallLog::default();
    let manager = app(&log).build().unwrap();

    let report = manager.start_all().await.unwrap();
    assert!(report.is_success());
    let started = log.modules_calling(Hook::Start);
    let position = |name: &str| started.iter().position(|m| m == name).unwrap();
    assert!(position("database") < position("users"));
    assert!(position("users") < position("api"));
    assert_eq!(
        log.hooks_of("users"),
        [Hook::Bootstrap, Hook::Install, Hook::Start]
    );
    for handle in manager.handles() {
        assert_eq!(handle.state(), ModuleState::Started, "{}", handle.name());
    }
    let users = report.module("users").unwrap();
    assert!(matches!(users.outcome(), Outcome::Done));
    let hooks: Vec<Hook> = users.hooks().iter().map(|timing| timing.hook).collect();
    assert_eq!(hooks, [Hook::Bootstrap, Hook::Install, Hook::Start]);

    let report = manager.stop_all().await.unwrap();
    assert_eq!(report.operation(), Operation::Stop);
    let stopped = log.modules_calling(Hook::Stop);
    let position = |name: &str| stopped.iter().position(|m| m == name).unwrap();
    assert!(position("api") < position("users"));
    assert!(position("users") < position("database"));
    assert_eq!(
        manager.module("database").unwrap().state(),
        ModuleState::Stopped
    );

    // Starting again runs only `start`.
    log.clear();
    manager.start_all().await.unwrap();
    assert_eq!(log.hooks_of("users"), [Hook::Start]);
}

#[tokio::test]
async fn a_failing_hook_fails_its_module_and_skips_its_dependents_only() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(
            Probe::new("database", &log)
                .fault(Hook::Start, Fault::Error("connection refused".into())),
        )
        .module(Probe::new("users", &log).depends_on("database"))
        .module(Probe::new("api", &log).depends_on("users"))
        .module(Probe::new("cache", &log))
        .build()
        .unwrap();

    let error = manager.start_all().await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("3 of 4 modules did not start"),
        "{message}"
    );
    assert!(message.contains("connection refused"), "{message}");
    let report = start_error(error);

    match report.module("database").unwrap().outcome() {
        Outcome::Failed(failure) => {
            assert_eq!(failure.hook(), Hook::Start);
            assert_eq!(failure.cause().to_string(), "connection refused");
        }
        other => panic!("{other:?}"),
    }
    for dependent in ["users", "api"] {
        match report.module(dependent).unwrap().outcome() {
            Outcome::Skipped(SkipReason::DependencyFailed { failed }) => {
                assert_eq!(&**failed, "database")
            }
            other => panic!("{dependent}: {other:?}"),
        }
        assert_eq!(
            manager.module(dependent).unwrap().state(),
            ModuleState::Registered
        );
    }
    assert!(matches!(
        report.module("cache").unwrap().outcome(),
        Outcome::Done
    ));
    assert_eq!(
        manager.module("cache").unwrap().state(),
        ModuleState::Started
    );
    let database = manager.module("database").unwrap();
    assert_eq!(database.state(), ModuleState::Failed);
    assert_eq!(database.failure().unwrap().hook(), Hook::Start);
    assert!(
        !log.modules_calling(Hook::Start)
            .contains(&"users".to_string())
    );
}

#[tokio::test]
async fn a_panicking_hook_is_caught_and_reported() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(
            Probe::new("flaky", &log)
                .fault(Hook::Install, Fault::Panic("index out of bounds".into())),
        )
        .module(Probe::new("steady", &log))
        .build()
        .unwrap();
    let report = start_error(manager.start_all().await.unwrap_err());
    match report.module("flaky").unwrap().outcome() {
        Outcome::Failed(failure) => {
            assert_eq!(failure.hook(), Hook::Install);
            assert!(
                matches!(failure.cause(), FailureCause::Panic(m) if m.starts_with("index out of bounds (at "))
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        manager.module("steady").unwrap().state(),
        ModuleState::Started
    );
}

#[tokio::test(start_paused = true)]
async fn a_hanging_hook_times_out_and_the_others_keep_running() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("stuck", &log).fault(Hook::Start, Fault::Hang))
        .module(Probe::new("fine", &log).delay(Hook::Start, Duration::from_millis(5)))
        .timeout(Hook::Start, Some(Duration::from_secs(2)))
        .build()
        .unwrap();
    let began = tokio::time::Instant::now();
    let report = start_error(manager.start_all().await.unwrap_err());
    assert_eq!(began.elapsed(), Duration::from_secs(2));
    match report.module("stuck").unwrap().outcome() {
        Outcome::Failed(failure) => {
            assert!(
                matches!(failure.cause(), FailureCause::TimedOut(d) if *d == Duration::from_secs(2))
            );
            assert!(failure.to_string().contains("raise the hook timeout"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        manager.module("fine").unwrap().state(),
        ModuleState::Started
    );
    // A failed start can be retried (here it hangs again).
    assert!(manager.start("stuck").await.is_err());
}

#[tokio::test]
async fn optional_dependencies_order_first_when_present_and_never_block() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(
            Probe::new("api", &log)
                .optionally_depends_on("cache")
                .optionally_depends_on("metrics"),
        )
        .module(Probe::new("cache", &log).fault(Hook::Start, Fault::Error("out of memory".into())))
        .module(Probe::new("tracing", &log))
        .module(Probe::new("web", &log).optionally_depends_on("tracing"))
        .build()
        .unwrap();
    let report = start_error(manager.start_all().await.unwrap_err());
    assert!(matches!(
        report.module("api").unwrap().outcome(),
        Outcome::Done
    ));
    assert_eq!(manager.module("api").unwrap().state(), ModuleState::Started);
    let started = log.modules_calling(Hook::Start);
    let position = |name: &str| started.iter().position(|m| m == name).unwrap();
    assert!(
        position("cache") < position("api"),
        "present optional dependency first"
    );
    assert!(position("tracing") < position("web"));
}

#[tokio::test]
async fn fail_fast_stops_what_was_started_in_reverse_order() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("database", &log))
        .module(Probe::new("users", &log).depends_on("database"))
        .module(
            Probe::new("mailer", &log)
                .depends_on("users")
                .fault(Hook::Start, Fault::Error("smtp down".into())),
        )
        .module(Probe::new("reports", &log).depends_on("mailer"))
        .fail_fast(true)
        .max_concurrency(1)
        .build()
        .unwrap();
    let report = start_error(manager.start_all().await.unwrap_err());
    let rollback = report.rollback().expect("a rollback report");
    let stopped: Vec<&str> = rollback.modules().iter().map(|m| m.name()).collect();
    assert_eq!(stopped, ["users", "database"]);
    assert_eq!(log.modules_calling(Hook::Stop), ["users", "database"]);
    assert!(matches!(
        report.module("reports").unwrap().outcome(),
        Outcome::Skipped(SkipReason::DependencyFailed { .. })
    ));
    for name in ["database", "users"] {
        assert_eq!(manager.module(name).unwrap().state(), ModuleState::Stopped);
    }
}

#[tokio::test]
async fn fail_fast_skips_independent_modules_not_yet_launched() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("a", &log).fault(Hook::Start, Fault::Error("no".into())))
        .module(Probe::new("b", &log))
        .module(Probe::new("c", &log))
        .fail_fast(true)
        .max_concurrency(1)
        .build()
        .unwrap();
    let report = start_error(manager.start_all().await.unwrap_err());
    let aborted = report
        .modules()
        .iter()
        .filter(|m| matches!(m.outcome(), Outcome::Skipped(SkipReason::Aborted { failed }) if &**failed == "a"))
        .count();
    assert_eq!(aborted, 2, "{report}");
}

#[tokio::test(start_paused = true)]
async fn a_stop_hook_that_hangs_is_abandoned_at_the_deadline_and_the_rest_still_stop() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("database", &log))
        .module(
            Probe::new("users", &log)
                .depends_on("database")
                .fault(Hook::Stop, Fault::Hang),
        )
        .module(Probe::new("cache", &log))
        .shutdown_timeout(Duration::from_secs(3))
        .timeout(Hook::Stop, None)
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    let began = tokio::time::Instant::now();
    let error = manager.stop_all().await.unwrap_err();
    assert_eq!(began.elapsed(), Duration::from_secs(3));
    let report = match error {
        Error::Stop(error) => error.into_report(),
        other => panic!("{other}"),
    };
    match report.module("users").unwrap().outcome() {
        Outcome::Failed(failure) => assert!(matches!(failure.cause(), FailureCause::TimedOut(_))),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        manager.module("cache").unwrap().state(),
        ModuleState::Stopped
    );
    // The dependency's stop ran once its dependent was abandoned — but the deadline had
    // passed by then, so it is reported too, without running.
    match report.module("database").unwrap().outcome() {
        Outcome::Failed(failure) => {
            assert!(matches!(failure.cause(), FailureCause::DeadlinePassed))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_stop_hook_that_times_out_lets_its_dependencies_stop() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("database", &log))
        .module(
            Probe::new("users", &log)
                .depends_on("database")
                .fault(Hook::Stop, Fault::Hang),
        )
        .timeout(Hook::Stop, Some(Duration::from_secs(1)))
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    assert!(manager.stop_all().await.is_err());
    assert_eq!(log.modules_calling(Hook::Stop), ["users", "database"]);
    assert_eq!(
        manager.module("database").unwrap().state(),
        ModuleState::Stopped
    );
    // The abandoned module counts as stopped: it can be started again.
    assert_eq!(
        manager.module("users").unwrap().state(),
        ModuleState::Failed
    );
}

#[tokio::test]
async fn invalid_config_is_rejected_before_install_naming_field_and_rule() {
    let log = CallLog::default();
    let schema = json!({
        "type": "object",
        "required": ["url"],
        "properties": { "url": { "type": "string" }, "pool": { "type": "integer", "minimum": 1 } }
    });
    let manager = ModuleManager::builder()
        .module(Probe::new("database", &log).metadata_with(|m| m.config_schema(schema.clone())))
        .config("database", json!({ "url": "sqlite::memory:", "pool": 0 }))
        .build()
        .unwrap();
    let report = start_error(manager.start_all().await.unwrap_err());
    let text = report.module("database").unwrap().outcome().to_string();
    assert!(text.contains("/pool") && text.contains("minimum"), "{text}");
    assert!(
        log.hooks_of("database")
            .iter()
            .all(|hook| *hook != Hook::Install)
    );

    manager
        .configure("database", json!({ "url": "sqlite::memory:", "pool": 4 }))
        .unwrap();
    manager.start_all().await.unwrap();
    let install = log
        .calls()
        .into_iter()
        .find(|c| c.hook == Hook::Install)
        .unwrap();
    assert_eq!(install.config.unwrap().get::<u32>("pool").unwrap(), Some(4));
    assert_eq!(
        manager
            .module("database")
            .unwrap()
            .config()
            .get::<u32>("pool")
            .unwrap(),
        Some(4)
    );
}

#[tokio::test]
async fn application_config_overrides_the_default_key_by_key() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(
            Probe::new("cache", &log)
                .metadata_with(|m| m.default_config(json!({ "size": 10, "ttl": 60 }))),
        )
        .config("cache", json!({ "ttl": 5 }))
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    let config = manager.module("cache").unwrap().config();
    assert_eq!(config.as_value(), &json!({ "size": 10, "ttl": 5 }));
}

#[tokio::test]
async fn a_config_for_an_unknown_module_is_an_error() {
    let error = ModuleManager::builder()
        .config("nobody", json!({}))
        .build()
        .unwrap_err();
    assert!(
        matches!(error, Error::UnknownModule { ref name } if name == "nobody"),
        "{error}"
    );
}

#[tokio::test]
async fn illegal_transitions_are_typed_errors_that_say_what_to_do() {
    let log = CallLog::default();
    let manager = app(&log).build().unwrap();
    let illegal = |error: Error| match error {
        Error::IllegalTransition {
            module,
            state,
            operation,
            hint,
        } => (module, state, operation, hint),
        other => panic!("expected an illegal transition, got {other}"),
    };

    let (module, state, operation, _) = illegal(manager.install("cache").await.unwrap_err());
    assert_eq!(
        (module.as_str(), state, operation),
        ("cache", ModuleState::Registered, Operation::Install)
    );
    let (_, _, _, hint) = illegal(manager.reload("cache").await.unwrap_err());
    assert!(hint.contains("start it first"));

    manager.start_all().await.unwrap();
    let error = manager.uninstall("cache").await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("cannot uninstall module \"cache\" while it is started: stop it first"),
        "{error}"
    );
    let (_, _, _, hint) = illegal(manager.install("cache").await.unwrap_err());
    assert!(hint.contains("stop and uninstall"));
    let (_, _, _, hint) = illegal(manager.load("cache").await.unwrap_err());
    assert!(hint.contains("already loaded"));
    assert!(matches!(
        manager.start("nope").await.unwrap_err(),
        Error::UnknownModule { .. }
    ));
}

#[tokio::test]
async fn single_module_operations_walk_the_state_machine() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("cache", &log))
        .build()
        .unwrap();
    let state = || manager.module("cache").unwrap().state();
    manager.load("cache").await.unwrap();
    assert_eq!(state(), ModuleState::Loaded);
    manager.install("cache").await.unwrap();
    assert_eq!(state(), ModuleState::Installed);
    manager.start("cache").await.unwrap();
    assert_eq!(state(), ModuleState::Started);
    manager.reload("cache").await.unwrap();
    assert_eq!(state(), ModuleState::Started);
    manager.stop("cache").await.unwrap();
    assert_eq!(state(), ModuleState::Stopped);
    manager.uninstall("cache").await.unwrap();
    assert_eq!(state(), ModuleState::Loaded);
    manager.unload("cache").await.unwrap();
    assert!(manager.module("cache").is_err());
    assert_eq!(
        log.hooks_of("cache"),
        [
            Hook::Bootstrap,
            Hook::Install,
            Hook::Start,
            Hook::Reload,
            Hook::Stop,
            Hook::Uninstall
        ]
    );
}

#[tokio::test]
async fn starting_one_module_starts_its_dependencies_and_stopping_one_stops_its_dependents() {
    let log = CallLog::default();
    let manager = app(&log).build().unwrap();
    manager.start("users").await.unwrap();
    assert_eq!(log.modules_calling(Hook::Start), ["database", "users"]);
    assert_eq!(
        manager.module("api").unwrap().state(),
        ModuleState::Registered
    );

    manager.start_all().await.unwrap();
    manager.stop("database").await.unwrap();
    assert_eq!(
        log.modules_calling(Hook::Stop),
        ["api", "users", "database"]
    );
    assert_eq!(
        manager.module("cache").unwrap().state(),
        ModuleState::Started
    );
}

#[tokio::test]
async fn a_failed_reload_leaves_the_module_failed_but_stoppable() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("cache", &log).fault(Hook::Reload, Fault::Error("bad file".into())))
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    let error = manager.reload("cache").await.unwrap_err();
    assert!(
        matches!(error, Error::Hook(ref f) if f.hook() == Hook::Reload),
        "{error}"
    );
    assert_eq!(
        manager.module("cache").unwrap().state(),
        ModuleState::Failed
    );
    manager.stop_all().await.unwrap();
    assert_eq!(log.hooks_of("cache").last(), Some(&Hook::Stop));
    assert_eq!(
        manager.module("cache").unwrap().state(),
        ModuleState::Stopped
    );
}

#[tokio::test]
async fn unload_refuses_while_others_depend_on_it() {
    let log = CallLog::default();
    let manager = app(&log).build().unwrap();
    let error = manager.unload("database").await.unwrap_err();
    assert!(
        matches!(error, Error::HasDependents { ref dependents, .. } if dependents == &["users"]),
        "{error}"
    );
    manager.unload("api").await.unwrap();
    manager.unload("users").await.unwrap();
    manager.unload("database").await.unwrap();
    assert_eq!(manager.handles().len(), 1);
    manager.start_all().await.unwrap();
}

#[tokio::test]
async fn build_reports_every_problem_of_the_module_set() {
    let log = CallLog::default();
    let error = ModuleManager::builder()
        .module(Probe::new("Users", &log))
        .module(Probe::new("api", &log).depends_on("database >=2"))
        .module(Probe::new("database", &log).metadata_with(|m| m.version("1.0.0")))
        .module(Probe::new("a", &log).depends_on("b"))
        .module(Probe::new("b", &log).depends_on("a"))
        .module(Probe::new("dup", &log))
        .module(Probe::new("dup", &log))
        .build()
        .unwrap_err();
    let Error::Resolve(error) = error else {
        panic!("{error}")
    };
    assert_eq!(error.problems().len(), 4, "{error}");
    let text = error.to_string();
    for needle in [
        "\"Users\" is not a valid module name",
        "2 modules are named \"dup\"",
        ">=2",
        "a -> b -> a",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in {text}");
    }
}

#[tokio::test]
async fn the_module_stream_yields_handles_in_start_order() {
    use futures_util::StreamExt;
    let log = CallLog::default();
    let manager = app(&log).build().unwrap();
    let names: Vec<String> = manager
        .modules()
        .map(|handle| handle.name().to_owned())
        .collect()
        .await;
    assert_eq!(names.len(), 4);
    let position = |n: &str| names.iter().position(|m| m == n).unwrap();
    assert!(position("database") < position("users") && position("users") < position("api"));
    let resolution = manager.resolve_dependencies().await.unwrap();
    assert_eq!(resolution.order().collect::<Vec<_>>(), names);
    manager.validate_dependencies().await.unwrap();
}

#[test]
fn a_builder_debugs_as_its_modules_settings_and_whether_it_has_a_store() {
    let log = CallLog::default();
    let text = format!("{:?}", app(&log).fail_fast(true).max_concurrency(3));
    assert!(
        text.starts_with(
            r#"ModuleManagerBuilder { modules: ["api", "users", "database", "cache"], options: Options { max_concurrency: 3,"#
        ),
        "{text}"
    );
    assert!(text.contains("fail_fast: true"), "{text}");
    assert!(text.ends_with("state_store: false, .. }"), "{text}");
}

#[test]
fn a_manager_debugs_as_its_module_count_and_options() {
    let log = CallLog::default();
    let manager = app(&log).build().unwrap();
    let shown = format!("{manager:?}");
    assert!(
        shown.starts_with("ModuleManager { modules: 4, options: "),
        "{shown}"
    );
    assert!(shown.contains("shutdown_timeout"), "{shown}");
}
