use super::*;
use semver::VersionReq;

fn meta(name: &str, deps: &[&str]) -> ModuleMetadata {
    deps.iter()
        .fold(ModuleMetadata::new(name), |meta, dep| meta.depends_on(dep))
}

fn problems(modules: &[ModuleMetadata]) -> Vec<Problem> {
    resolve(modules)
        .expect_err("should not resolve")
        .problems()
        .to_vec()
}

fn cycle(path: &[&str]) -> Problem {
    Problem::Cycle {
        path: path.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn orders_dependencies_first_and_groups_waves() {
    let modules = [
        meta("api", &["users", "cache"]),
        meta("users", &["database"]),
        meta("cache", &[]),
        meta("database", &[]),
    ];
    let resolution = resolve(&modules).unwrap();
    let order: Vec<&str> = resolution.order().collect();
    assert_eq!(order, ["cache", "database", "users", "api"]);
    assert_eq!(
        resolution.waves(),
        [vec!["cache", "database"], vec!["users"], vec!["api"]]
    );
}

#[test]
fn counts_what_it_resolved_and_an_empty_set_is_empty() {
    let empty = resolve(&[]).unwrap();
    assert!(empty.is_empty());
    assert_eq!(empty.len(), 0);
    let two = resolve(&[meta("users", &["database"]), meta("database", &[])]).unwrap();
    assert!(!two.is_empty());
    assert_eq!(two.len(), 2);
}

#[test]
fn same_input_same_output() {
    let modules: Vec<ModuleMetadata> = (0..50)
        .map(|i| {
            let deps: Vec<String> = (0..i)
                .filter(|j| (i + j) % 7 == 0)
                .map(|j| format!("m{j}"))
                .collect();
            let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
            meta(&format!("m{i}"), &deps)
        })
        .collect();
    let first: Vec<String> = resolve(&modules)
        .unwrap()
        .order()
        .map(str::to_owned)
        .collect();
    for _ in 0..5 {
        let again: Vec<String> = resolve(&modules)
            .unwrap()
            .order()
            .map(str::to_owned)
            .collect();
        assert_eq!(first, again);
    }
}

#[test]
fn reports_a_missing_dependency_and_who_needs_it() {
    let found = problems(&[meta("users", &["database >=1"])]);
    assert_eq!(
        found,
        [Problem::Missing {
            module: "users".into(),
            dependency: "database".into(),
            requirement: VersionReq::parse(">=1").unwrap(),
        }]
    );
    let text = found[0].to_string();
    assert!(
        text.contains("\"users\"") && text.contains("\"database\"") && text.contains("register")
    );
}

#[test]
fn a_missing_dependency_names_its_requirement_only_when_it_has_one() {
    let with = problems(&[meta("users", &["database >=1"])])[0].to_string();
    assert!(
        with.starts_with("module \"users\" depends on \"database\" (>=1), which"),
        "{with}"
    );
    let without = problems(&[meta("users", &["database"])])[0].to_string();
    assert!(
        without.starts_with("module \"users\" depends on \"database\", which"),
        "{without}"
    );
}

#[test]
fn an_absent_optional_dependency_is_fine() {
    let modules = [ModuleMetadata::new("users").optionally_depends_on("cache")];
    let resolution = resolve(&modules).unwrap();
    assert!(resolution.dependencies_of(0).is_empty());
}

#[test]
fn reports_a_version_mismatch_with_range_and_found_version() {
    let modules = [
        meta("users", &["database >=1.0, <2"]),
        ModuleMetadata::new("database").version("2.3.0"),
    ];
    let found = problems(&modules);
    assert_eq!(found.len(), 1);
    let text = found[0].to_string();
    assert!(
        text.contains(">=1.0, <2") && text.contains("2.3.0"),
        "{text}"
    );
}

#[test]
fn reports_cycles_of_length_one_two_and_more_with_their_paths() {
    let modules = [
        meta("selfish", &["selfish"]),
        meta("ping", &["pong"]),
        meta("pong", &["ping"]),
        meta("a", &["b"]),
        meta("b", &["c"]),
        meta("c", &["a"]),
        meta("ok", &[]),
        meta("behind", &["a"]),
    ];
    assert_eq!(
        problems(&modules),
        [
            cycle(&["a", "b", "c", "a"]),
            cycle(&["ping", "pong", "ping"]),
            cycle(&["selfish", "selfish"]),
        ]
    );
}

#[test]
fn reports_the_shortest_cycle_through_the_first_module() {
    // a -> b -> c -> a and a -> c -> a share a group; the shortest path is reported.
    let modules = [meta("a", &["b", "c"]), meta("b", &["c"]), meta("c", &["a"])];
    assert_eq!(problems(&modules), [cycle(&["a", "c", "a"])]);
}

#[test]
fn reports_duplicates() {
    let modules = [meta("cache", &[]), meta("cache", &[]), meta("cache", &[])];
    assert_eq!(
        problems(&modules),
        [Problem::Duplicate {
            name: "cache".into(),
            count: 3,
            origins: vec![
                "registration 1".into(),
                "registration 2".into(),
                "registration 3".into()
            ],
        }]
    );
}

#[test]
fn reports_every_problem_at_once() {
    let modules = [
        ModuleMetadata::new("Bad"),
        meta("users", &["database", "mail"]),
        meta("x", &["y"]),
        meta("y", &["x"]),
        meta("x", &[]),
        meta("old", &["ok ^2"]),
        meta("ok", &[]),
    ];
    let error = resolve(&modules).unwrap_err();
    let kinds: Vec<&str> = error
        .problems()
        .iter()
        .map(|p| match p {
            Problem::Metadata(_) => "metadata",
            Problem::Duplicate { .. } => "duplicate",
            Problem::Missing { .. } => "missing",
            Problem::VersionMismatch { .. } => "version",
            Problem::Cycle { .. } => "cycle",
            Problem::OrderCycle { .. } => "order cycle",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "metadata",
            "duplicate",
            "missing",
            "missing",
            "version",
            "cycle"
        ]
    );
    let text = error.to_string();
    assert!(
        text.starts_with("the modules cannot be resolved (6 problems):"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 7);
}

#[test]
fn heights_count_the_longest_chain_of_dependents() {
    let modules = [
        meta("base", &[]),
        meta("mid", &["base"]),
        meta("top", &["mid"]),
        meta("side", &["base"]),
    ];
    let resolution = resolve(&modules).unwrap();
    assert_eq!(resolution.height_of(0), 3);
    assert_eq!(resolution.height_of(1), 2);
    assert_eq!(resolution.height_of(3), 1);
}

#[test]
fn long_chains_do_not_overflow_the_stack() {
    let n = 100_000;
    let mut modules: Vec<ModuleMetadata> = (1..n)
        .map(|i| meta(&format!("m{i}"), &[&format!("m{}", i - 1)]))
        .collect();
    modules.push(meta("m0", &[&format!("m{}", n - 1)]));
    let found = problems(&modules);
    match &found[..] {
        [Problem::Cycle { path }] => assert_eq!(path.len(), n + 1),
        other => panic!("{other:?}"),
    }
}

fn ordered(name: &str, before: &[&str]) -> ModuleMetadata {
    before
        .iter()
        .fold(ModuleMetadata::new(name), |meta, other| {
            meta.stops_before(other)
        })
}

#[test]
fn an_ordering_changes_start_order_waves_and_stop_order() {
    let plain = [meta("api", &[]), meta("worker", &[])];
    let resolution = resolve(&plain).unwrap();
    assert_eq!(resolution.order().collect::<Vec<_>>(), ["api", "worker"]);
    assert_eq!(resolution.waves(), [vec!["api", "worker"]]);

    // The api publishes, the worker consumes: the worker starts first and stops last.
    let modules = [ordered("api", &["worker"]), meta("worker", &[])];
    let resolution = resolve(&modules).unwrap();
    assert_eq!(resolution.order().collect::<Vec<_>>(), ["worker", "api"]);
    assert_eq!(resolution.waves(), [vec!["worker"], vec!["api"]]);
    assert_eq!(
        resolution.order().rev().collect::<Vec<_>>(),
        ["api", "worker"]
    );
    // The scheduler waits along the edge: for a start the api waits for the worker, for a
    // stop the worker waits for the api.
    assert_eq!(resolution.dependencies_of(0).len(), 1);
    assert_eq!(resolution.dependents_of(1), [0]);
    assert_eq!(resolution.height_of(1), 2);
}

#[test]
fn orderings_and_dependencies_combine() {
    // database <- users (dependency); users stops before audit, audit before mail.
    let modules = [
        meta("users", &["database"]).stops_before("audit"),
        ordered("mail", &[]),
        ordered("audit", &["mail"]),
        meta("database", &[]),
    ];
    let resolution = resolve(&modules).unwrap();
    assert_eq!(
        resolution.order().collect::<Vec<_>>(),
        ["mail", "database", "audit", "users"]
    );
    assert_eq!(
        resolution.waves(),
        [vec!["mail", "database"], vec!["audit"], vec!["users"]]
    );
}

#[test]
fn an_ordering_grants_no_access_and_never_blocks() {
    let modules = [ordered("api", &["worker"]), meta("worker", &[])];
    let resolution = resolve(&modules).unwrap();
    let [edge] = resolution.dependencies_of(0) else {
        panic!("{:?}", resolution.dependencies_of(0));
    };
    assert_eq!(edge.kind, EdgeKind::StopsBefore);
    assert!(!edge.is_dependency());
    // `optional`: the scheduler's failure propagation releases the api, never skips it.
    assert!(edge.optional, "a failed worker must not skip the api");
    assert!(resolution.declared_dependencies_of(0).is_empty());
    assert_eq!(resolution.dependents_of(1), [0]);
    assert_eq!(resolution.declared_dependents_of(1).count(), 0);
}

#[test]
fn a_dependency_and_an_ordering_to_the_same_module_make_one_dependency_edge() {
    for api in [
        meta("api", &["worker"]).stops_before("worker"),
        ordered("api", &["worker"]).depends_on("worker"),
    ] {
        let modules = [api, meta("worker", &[]), ordered("cli", &["worker"])];
        let resolution = resolve(&modules).unwrap();
        let [edge] = resolution.dependencies_of(0) else {
            panic!("{:?}", resolution.dependencies_of(0));
        };
        assert!(edge.is_dependency() && !edge.optional);
        assert_eq!(resolution.declared_dependencies_of(0), [*edge]);
        assert_eq!(resolution.dependents_of(1), [0, 2]);
        assert_eq!(
            resolution.declared_dependents_of(1).collect::<Vec<_>>(),
            [0]
        );
    }
}

#[test]
fn declared_dependencies_come_before_orderings() {
    let modules = [
        meta("api", &[]),
        meta("cache", &[]),
        meta("db", &[]),
        ordered("app", &["api"])
            .depends_on("db")
            .optionally_depends_on("cache"),
    ];
    let resolution = resolve(&modules).unwrap();
    let kinds: Vec<EdgeKind> = resolution
        .dependencies_of(3)
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            EdgeKind::DependsOn,
            EdgeKind::DependsOn,
            EdgeKind::StopsBefore
        ]
    );
    let declared: Vec<usize> = resolution
        .declared_dependencies_of(3)
        .iter()
        .map(|e| e.target)
        .collect();
    assert_eq!(declared, [2, 1]);
}

#[test]
fn an_ordering_to_an_absent_module_is_ignored() {
    let modules = [ordered("api", &["worker", "audit"]), meta("mail", &[])];
    let resolution = resolve(&modules).unwrap();
    assert!(resolution.dependencies_of(0).is_empty());
    assert_eq!(resolution.order().collect::<Vec<_>>(), ["api", "mail"]);
    assert_eq!(resolution.waves(), [vec!["api", "mail"]]);
}

#[test]
fn a_cycle_through_an_ordering_is_reported_with_its_edge_kinds() {
    use EdgeKind::{DependsOn, StopsBefore};
    let order_cycle = |path: &[&str], kinds: &[EdgeKind]| Problem::OrderCycle {
        path: path.iter().map(|s| s.to_string()).collect(),
        kinds: kinds.to_vec(),
    };
    let modules = [
        // Mixed: a stops before b, b depends on a.
        ordered("a", &["b"]),
        meta("b", &["a"]),
        // Orderings only.
        ordered("ping", &["pong"]),
        ordered("pong", &["ping"]),
        ordered("selfish", &["selfish"]),
        // Dependencies only: reported as before.
        meta("x", &["y"]),
        meta("y", &["x"]),
    ];
    let found = problems(&modules);
    assert_eq!(
        found,
        [
            order_cycle(&["a", "b", "a"], &[StopsBefore, DependsOn]),
            order_cycle(&["ping", "pong", "ping"], &[StopsBefore, StopsBefore]),
            order_cycle(&["selfish", "selfish"], &[StopsBefore]),
            cycle(&["x", "y", "x"]),
        ]
    );
    assert_eq!(
        found[0].to_string(),
        "start-order cycle a -(stops before)-> b -(depends on)-> a; \
         remove one of these dependencies or stops_before orderings to break it"
    );
}

#[test]
fn a_long_cycle_through_one_ordering_names_its_kinds() {
    let n = 10_000;
    let mut modules: Vec<ModuleMetadata> = (1..n)
        .map(|i| meta(&format!("m{i:05}"), &[&format!("m{:05}", i - 1)]))
        .collect();
    modules.push(ordered("m00000", &[&format!("m{:05}", n - 1)]));
    match &problems(&modules)[..] {
        [Problem::OrderCycle { path, kinds }] => {
            assert_eq!(path.len(), n + 1);
            assert_eq!(kinds.len(), n);
            assert_eq!(kinds[0], EdgeKind::StopsBefore);
            assert!(kinds[1..].iter().all(|&k| k == EdgeKind::DependsOn));
        }
        other => panic!("{other:?}"),
    }
}
