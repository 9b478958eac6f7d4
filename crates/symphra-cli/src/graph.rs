//! `symphra graph`: the dependency graph as Graphviz or Mermaid text, or an SVG picture.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use symphra_ops::pictures::graph::{self as graph_svg, Edge};
use symphra_wasm::discover;

use crate::{CliError, GraphFormat};

/// Runs `graph` on `dir`.
pub(crate) fn run(dir: &Path, format: GraphFormat) -> Result<ExitCode, CliError> {
    let found = discover(dir)?;
    let nodes: Vec<&str> = found
        .modules
        .iter()
        .map(|module| module.manifest.name.as_str())
        .collect();
    let mut edges = Vec::new();
    for module in &found.modules {
        let manifest = &module.manifest;
        for name in manifest.dependencies.keys() {
            edges.push(Edge {
                from: &manifest.name,
                to: name,
                optional: false,
            });
        }
        for name in manifest.optional_dependencies.keys() {
            edges.push(Edge {
                from: &manifest.name,
                to: name,
                optional: true,
            });
        }
    }
    let text = match format {
        GraphFormat::Dot => dot(&nodes, &edges),
        GraphFormat::Mermaid => mermaid(&nodes, &edges),
        GraphFormat::Svg => {
            let title = format!("modules of {}", dir.display());
            graph_svg::render(&title, &nodes, &edges)
        }
    };
    out_raw!("{text}");
    for rejected in &found.rejected {
        eprintln!("rejected {}: {}", rejected.dir.display(), rejected.error);
    }
    Ok(ExitCode::SUCCESS)
}

fn dot(nodes: &[&str], edges: &[Edge<'_>]) -> String {
    let mut out = String::from("digraph modules {\n");
    for node in nodes {
        let _ = writeln!(out, "  \"{node}\";");
    }
    for edge in edges {
        let style = if edge.optional { " [style=dashed]" } else { "" };
        let _ = writeln!(out, "  \"{}\" -> \"{}\"{style};", edge.from, edge.to);
    }
    out.push_str("}\n");
    out
}

/// Mermaid ids cannot hold `-`; the label keeps the real name.
fn mermaid_id(name: &str) -> String {
    name.replace('-', "_")
}

fn mermaid(nodes: &[&str], edges: &[Edge<'_>]) -> String {
    let mut out = String::from("graph TD\n");
    for node in nodes {
        let _ = writeln!(out, "  {}[\"{node}\"]", mermaid_id(node));
    }
    for edge in edges {
        let arrow = if edge.optional { "-.->" } else { "-->" };
        let _ = writeln!(
            out,
            "  {} {arrow} {}",
            mermaid_id(edge.from),
            mermaid_id(edge.to)
        );
    }
    out
}
