//! `symphra graph`: the dependency graph as Graphviz, Mermaid and SVG.

mod common;

use common::{attribute, modules, output, text, with_class};

#[test]
fn graph_dot_has_every_module_and_edge() {
    let dir = modules(&[("db", &[]), ("cache", &["db"]), ("api", &["db", "cache"])]);
    let cache = tempfile::tempdir().unwrap();
    let out = output(
        &["graph", dir.path().to_str().unwrap(), "--format", "dot"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let dot = text(&out);
    for line in [
        "\"db\";",
        "\"cache\";",
        "\"api\";",
        "\"cache\" -> \"db\";",
        "\"api\" -> \"db\";",
        "\"api\" -> \"cache\";",
    ] {
        assert!(dot.contains(line), "{line} missing from\n{dot}");
    }

    let out = output(
        &["graph", dir.path().to_str().unwrap(), "--format", "mermaid"],
        cache.path(),
    );
    assert!(text(&out).contains("api --> cache"), "{}", text(&out));
}

#[test]
fn graph_svg_draws_every_module_and_edge() {
    let dir = modules(&[
        ("db", &[]),
        ("cache", &["db"]),
        ("api", &["db", "cache"]),
        ("cron", &["missing"]),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let out = output(
        &["graph", dir.path().to_str().unwrap(), "--format", "svg"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let svg = text(&out);
    let document = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}:\n{svg}"));
    assert_eq!(document.root_element().tag_name().name(), "svg");
    let mut nodes: Vec<(&str, &str)> = with_class(&document, "node")
        .into_iter()
        .map(|n| (attribute(n, "data-name"), attribute(n, "data-missing")))
        .collect();
    nodes.sort();
    assert_eq!(
        nodes,
        [
            ("api", "false"),
            ("cache", "false"),
            ("cron", "false"),
            ("db", "false"),
            ("missing", "true"),
        ]
    );
    let mut edges: Vec<(&str, &str)> = with_class(&document, "edge")
        .into_iter()
        .map(|n| (attribute(n, "data-from"), attribute(n, "data-to")))
        .collect();
    edges.sort();
    assert_eq!(
        edges,
        [
            ("api", "cache"),
            ("api", "db"),
            ("cache", "db"),
            ("cron", "missing"),
        ]
    );
    // Each node has a box and its name as text.
    for node in with_class(&document, "node") {
        assert!(node.children().any(|c| c.has_tag_name("rect")));
        let label = node.children().find(|c| c.has_tag_name("text")).unwrap();
        assert!(
            label
                .text()
                .unwrap()
                .starts_with(attribute(node, "data-name"))
        );
    }
}
