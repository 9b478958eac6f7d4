//! `symphra check`: problems found without starting anything, text and JSON, configuration
//! checked against the schemas.

mod common;

use common::modules;
use common::{Guest, output, symphra, text, web_with_a_port_schema, write_module};

#[test]
fn check_passes_on_a_good_directory() {
    let dir = modules(&[("db", &[]), ("api", &["db"])]);
    let cache = tempfile::tempdir().unwrap();
    let out = output(&["check", dir.path().to_str().unwrap()], cache.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("no problems"), "{}", text(&out));

    let out = output(
        &["check", dir.path().to_str().unwrap(), "--format", "json"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["modules"].as_array().unwrap().len(), 2);
    assert!(json["problems"].as_array().unwrap().is_empty());
}

#[test]
fn check_reports_every_problem() {
    let dir = modules(&[
        ("api", &["missing"]),
        ("left", &["right"]),
        ("right", &["left"]),
    ]);
    let broken = "name = \"broken\"\nversion = \"not a version\"\n";
    write_module(dir.path(), "broken", broken, &Guest::new().component());
    let cache = tempfile::tempdir().unwrap();

    let out = output(&["check", dir.path().to_str().unwrap()], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("problem: api:") && stdout.contains("\"missing\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("left") && stdout.contains("right"),
        "{stdout}"
    );
    assert!(stdout.contains("problem: broken:"), "{stdout}");

    let out = output(
        &["check", dir.path().to_str().unwrap(), "--format", "json"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    let modules: Vec<&str> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["module"].as_str())
        .collect();
    for expected in ["api", "broken"] {
        assert!(modules.contains(&expected), "{json}");
    }
    assert!(
        modules.contains(&"left") || modules.contains(&"right"),
        "cycle not reported: {json}"
    );
}

#[test]
fn check_on_a_missing_directory_is_a_usage_error() {
    let cache = tempfile::tempdir().unwrap();
    let out = output(&["check", "/nonexistent/symphra-modules"], cache.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
}

#[test]
fn check_validates_configurations_against_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = Guest::new().component();
    let schema = "[config]\nschema = { type = \"object\", properties = { port = { type = \"integer\" } } }\n";
    let good = format!("name = \"web\"\nversion = \"1.0.0\"\n{schema}default = {{ port = 80 }}\n");
    write_module(dir.path(), "web", &good, &wasm);
    let bad = format!(
        "name = \"admin\"\nversion = \"1.0.0\"\n{schema}default = {{ port = \"eighty\" }}\n"
    );
    write_module(dir.path(), "admin", &bad, &wasm);
    let cache = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();

    // The defaults: admin's is wrong.
    let out = output(&["check", path], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "problem: admin: module \"admin\": key \"port\" from the defaults of module \"admin\""
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("problem: web:"), "{stdout}");

    // A configuration file fixes admin, breaks web, and names a module that is not there.
    let config = cache.path().join("app.toml");
    std::fs::write(
        &config,
        "[admin]\nport = 8080\n[web]\nport = \"http\"\n[nobody]\nx = 1\n",
    )
    .unwrap();
    let out = output(
        &["check", path, "--config", config.to_str().unwrap()],
        cache.path(),
    );
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(!stdout.contains("problem: admin:"), "{stdout}");
    assert!(
        stdout.contains("problem: web: module \"web\": key \"port\" from TOML file")
            && stdout.contains("app.toml"),
        "{stdout}"
    );
    assert!(stdout.contains("problem: nobody:"), "{stdout}");

    // A configuration file that cannot be read is a usage error.
    let out = output(
        &["check", path, "--config", "/nonexistent/app.toml"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn environment_variables_override_configuration_keys() {
    let dir = web_with_a_port_schema();
    let cache = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let check = |vars: &[(&str, &str)]| {
        let mut command = symphra(&["check", path], cache.path());
        command.envs(vars.iter().copied());
        command.output().unwrap()
    };

    let out = check(&[("SYMPHRA__WEB__PORT", "8080")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = check(&[("SYMPHRA__WEB__PORT", "http")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(
            "environment variable SYMPHRA__WEB__PORT (key \"port\") wants an integer, got \"http\""
        ),
        "{}",
        text(&out)
    );

    let out = check(&[("SYMPHRA__NOBODY__PORT", "1")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("SYMPHRA__NOBODY__PORT"),
        "{}",
        text(&out)
    );

    // `run` lays the same layers: a port that is not an integer stops it before any start.
    let mut command = symphra(&["run", path, "--no-state"], cache.path());
    command.env("SYMPHRA__WEB__PORT", "\"http\"");
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out)
            .lines()
            .any(|l| l.contains("SYMPHRA__WEB__PORT") && l.contains("wants an integer")),
        "{}",
        text(&out)
    );
}
