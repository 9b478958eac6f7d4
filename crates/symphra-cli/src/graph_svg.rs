//! `graph --format svg`: the dependency graph drawn by the tool itself, with no Graphviz.
//!
//! Modules are laid out in columns by wave (a module's column is one past the furthest of
//! its dependencies, as the resolver's start waves), so the picture reads left to right in
//! start order; within a column, modules are ordered by where their dependencies sit, to
//! keep edges from crossing. An edge points from a module to what it needs.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::graph::Edge;
use crate::svg::{document, escape, text_width};

const MARGIN: f64 = 24.0;
const HEADER: f64 = 36.0;
const NODE_HEIGHT: f64 = 34.0;
const ROW_GAP: f64 = 22.0;
const COLUMN_GAP: f64 = 90.0;
const PADDING: f64 = 14.0;

/// Where a module's box is drawn.
struct Placed {
    x: f64,
    y: f64,
    width: f64,
    /// Named as a dependency but not in the directory.
    missing: bool,
}

/// Each module's column: 0 for a module without dependencies, else one past the furthest
/// of its dependencies. Modules on a cycle have no such column; they stop growing after as
/// many rounds as there are modules.
pub(crate) fn columns(nodes: &[&str], edges: &[Edge<'_>]) -> BTreeMap<String, usize> {
    let mut column: BTreeMap<String, usize> = nodes.iter().map(|n| ((*n).to_owned(), 0)).collect();
    for edge in edges {
        column.entry(edge.to.to_owned()).or_insert(0);
    }
    for _ in 0..column.len() {
        let mut changed = false;
        for edge in edges {
            let wanted = column.get(edge.to).copied().unwrap_or(0) + 1;
            if let Some(from) = column.get_mut(edge.from)
                && *from < wanted
                && wanted < nodes.len().max(1) + 1
            {
                *from = wanted;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    column
}

/// The SVG of the graph of `nodes` and `edges`; `title` heads the picture.
pub fn render(title: &str, nodes: &[&str], edges: &[Edge<'_>]) -> String {
    let column = columns(nodes, edges);
    let count = column.values().max().map_or(0, |max| max + 1);
    // Columns in registration order first, then reordered by their dependencies' rows.
    let mut layers: Vec<Vec<String>> = vec![Vec::new(); count];
    let mut names: Vec<String> = nodes.iter().map(|n| (*n).to_owned()).collect();
    for name in column.keys() {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    for name in &names {
        layers[column[name]].push(name.clone());
    }
    let mut row: BTreeMap<String, f64> = BTreeMap::new();
    for layer in &mut layers {
        let rank = |name: &String| -> f64 {
            let rows: Vec<f64> = edges
                .iter()
                .filter(|e| e.from == name)
                .filter_map(|e| row.get(e.to).copied())
                .collect();
            if rows.is_empty() {
                f64::MAX
            } else {
                rows.iter().sum::<f64>() / rows.len() as f64
            }
        };
        let mut ranked: Vec<(f64, usize, String)> = layer
            .iter()
            .enumerate()
            .map(|(i, n)| (rank(n), i, n.clone()))
            .collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        *layer = ranked.into_iter().map(|(_, _, n)| n).collect();
        for (i, name) in layer.iter().enumerate() {
            row.insert(name.clone(), i as f64);
        }
    }

    let tallest = layers.iter().map(Vec::len).max().unwrap_or(0);
    let plot_height = tallest as f64 * (NODE_HEIGHT + ROW_GAP) - ROW_GAP;
    let mut placed: BTreeMap<&str, Placed> = BTreeMap::new();
    let mut x = MARGIN;
    for layer in layers.iter().filter(|layer| !layer.is_empty()) {
        let width = layer
            .iter()
            .map(|n| text_width(n) + 2.0 * PADDING)
            .fold(60.0, f64::max);
        // Centre a short column against the tallest.
        let own = layer.len() as f64 * (NODE_HEIGHT + ROW_GAP) - ROW_GAP;
        let top = MARGIN + HEADER + (plot_height - own) / 2.0;
        for (i, name) in layer.iter().enumerate() {
            placed.insert(
                name.as_str(),
                Placed {
                    x,
                    y: top + i as f64 * (NODE_HEIGHT + ROW_GAP),
                    width,
                    missing: !nodes.contains(&name.as_str()),
                },
            );
        }
        x += width + COLUMN_GAP;
    }
    let width = (x - COLUMN_GAP + MARGIN).max(2.0 * MARGIN + text_width(title));
    let height = MARGIN + HEADER + plot_height.max(0.0) + MARGIN + 18.0;

    let mut body = String::new();
    body.push_str(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\">\
         <path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#555\"/></marker></defs>\n",
    );
    let _ = writeln!(
        body,
        "<text class=\"heading\" x=\"{MARGIN}\" y=\"{}\" font-weight=\"bold\" font-size=\"15\">{}</text>",
        MARGIN + 6.0,
        escape(title)
    );
    for (index, layer) in layers.iter().enumerate() {
        if let Some(first) = layer.first().and_then(|n| placed.get(n.as_str())) {
            let _ = writeln!(
                body,
                "<text class=\"wave\" x=\"{:.1}\" y=\"{:.1}\" fill=\"#888\" font-size=\"11\">wave {index}</text>",
                first.x,
                MARGIN + HEADER - 8.0
            );
        }
    }
    for edge in edges {
        let (Some(from), Some(to)) = (placed.get(edge.from), placed.get(edge.to)) else {
            continue;
        };
        let (x1, y1) = (from.x, from.y + NODE_HEIGHT / 2.0);
        let (x2, y2) = if to.x < from.x {
            (to.x + to.width, to.y + NODE_HEIGHT / 2.0)
        } else {
            // A cycle can point back right or within a column: aim at the box's top.
            (to.x + to.width / 2.0, to.y)
        };
        let bend = ((x1 - x2).abs() / 2.0).max(30.0);
        let dash = if edge.optional {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let _ = writeln!(
            body,
            "<g class=\"edge\" data-from=\"{f}\" data-to=\"{t}\" data-optional=\"{o}\"><title>{f} needs {t}{opt}</title>\
             <path d=\"M {x1:.1} {y1:.1} C {:.1} {y1:.1}, {:.1} {y2:.1}, {x2:.1} {y2:.1}\" fill=\"none\" \
             stroke=\"#555\" stroke-width=\"1.4\"{dash} marker-end=\"url(#arrow)\"/></g>",
            x1 - bend,
            x2 + bend,
            f = escape(edge.from),
            t = escape(edge.to),
            o = edge.optional,
            opt = if edge.optional { " (optional)" } else { "" },
        );
    }
    for (name, at) in &placed {
        let (fill, stroke, extra) = if at.missing {
            ("#fdecea", "#c0392b", " stroke-dasharray=\"5 3\"")
        } else {
            ("#e8f1fb", "#2f6db5", "")
        };
        let label = if at.missing {
            format!("{name} (missing)")
        } else {
            (*name).to_owned()
        };
        let _ = writeln!(
            body,
            "<g class=\"node\" data-name=\"{n}\" data-missing=\"{m}\"><title>{n}</title>\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{NODE_HEIGHT}\" rx=\"7\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"{extra}/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" dominant-baseline=\"central\" fill=\"#1a1a1a\">{}</text></g>",
            at.x,
            at.y,
            at.width,
            at.x + at.width / 2.0,
            at.y + NODE_HEIGHT / 2.0,
            escape(&label),
            n = escape(name),
            m = at.missing,
        );
    }
    let _ = writeln!(
        body,
        "<text class=\"legend\" x=\"{MARGIN}\" y=\"{:.1}\" fill=\"#888\" font-size=\"11\">an arrow points to what a module needs; dashed: optional</text>",
        height - MARGIN / 2.0
    );
    document(width, height, title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge<'a>(from: &'a str, to: &'a str) -> Edge<'a> {
        Edge {
            from,
            to,
            optional: false,
        }
    }

    #[test]
    fn columns_follow_the_longest_dependency_chain() {
        let edges = [edge("api", "db"), edge("api", "cache"), edge("cache", "db")];
        let columns = columns(&["db", "cache", "api", "cron"], &edges);
        assert_eq!(columns["db"], 0);
        assert_eq!(columns["cron"], 0);
        assert_eq!(columns["cache"], 1);
        assert_eq!(columns["api"], 2);
    }

    #[test]
    fn a_cycle_ends_and_a_missing_module_gets_a_column() {
        let edges = [
            edge("left", "right"),
            edge("right", "left"),
            edge("api", "gone"),
        ];
        let columns = columns(&["left", "right", "api"], &edges);
        assert!(columns["left"] <= 4 && columns["right"] <= 4);
        assert_eq!(columns["gone"], 0);
        assert_eq!(columns["api"], 1);
    }
}
