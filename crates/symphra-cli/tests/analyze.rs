//! `symphra analyze`: blame, the critical chain and the SVG timeline of a start.

mod common;

use common::{
    attribute, critical_chain, modules, output, symphra, text, web_with_a_port_schema, with_class,
};

#[test]
fn analyze_prints_blame_and_critical_chain() {
    let dir = modules(&[("db", &[]), ("cache", &["db"]), ("api", &["cache"])]);
    let cache = tempfile::tempdir().unwrap();
    let out = output(&["analyze", dir.path().to_str().unwrap()], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("blame"), "{stdout}");
    let chain = critical_chain(&stdout);
    assert_eq!(chain, ["api", "cache", "db"], "{stdout}");
}

#[test]
fn analyze_writes_an_svg_timeline_of_every_module() {
    let dir = modules(&[("db", &[]), ("cache", &["db"]), ("api", &["cache"])]);
    let cache = tempfile::tempdir().unwrap();
    let svg_path = cache.path().join("start.svg");
    let out = output(
        &[
            "analyze",
            dir.path().to_str().unwrap(),
            "--svg",
            svg_path.to_str().unwrap(),
        ],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let document = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}:\n{svg}"));
    let rows = with_class(&document, "module");
    let names: Vec<&str> = rows.iter().map(|r| attribute(*r, "data-name")).collect();
    // Sorted by start: a module starts after what it needs.
    assert_eq!(names, ["db", "cache", "api"], "{svg}");
    for row in rows {
        let hooks: Vec<&str> = row
            .children()
            .filter(|c| c.attribute("class") == Some("hook"))
            .map(|c| {
                let began: f64 = attribute(c, "data-began-ms").parse().unwrap();
                let ended: f64 = attribute(c, "data-ended-ms").parse().unwrap();
                assert!(began <= ended);
                attribute(c, "data-hook")
            })
            .collect();
        assert_eq!(hooks, ["bootstrap", "install", "start"], "{svg}");
    }
    // An axis in milliseconds.
    assert!(
        document
            .descendants()
            .any(|n| n.text().is_some_and(|t| t.ends_with(" ms"))),
        "{svg}"
    );
}

#[test]
fn analyze_takes_the_configuration_file_and_environment_of_run() {
    let dir = web_with_a_port_schema();
    let cache = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let config = cache.path().join("app.toml");
    std::fs::write(&config, "[web]\nport = \"http\"\n").unwrap();
    let config = config.to_str().unwrap();

    // A port that is not an integer breaks web's schema: refused before any start, the
    // error naming the module, the key and the file it came from.
    let out = output(&["analyze", path, "--config", config], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.lines().any(
            |l| l.contains("module \"web\": key \"port\" from TOML file") && l.contains("app.toml")
        ),
        "{stdout}"
    );

    // An override from the environment mends the file's value: everything starts.
    let out = symphra(&["analyze", path, "--config", config], cache.path())
        .env("SYMPHRA__WEB__PORT", "8080")
        .output()
        .unwrap();
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.trim_start().starts_with("web @")),
        "{stdout}"
    );
}
