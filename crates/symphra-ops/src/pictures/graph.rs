//! The dependency graph as an SVG picture, drawn with no Graphviz (`symphra graph --format
//! svg`, and the operator's live page).
//!
//! Modules are laid out in columns by the resolver's start waves (a module's column is one
//! past the furthest of its dependencies), so the picture reads left to right in start
//! order; within a column, modules are ordered by where their dependencies sit, to keep
//! edges from crossing. An edge points from a module to what it needs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use symphra::ModuleMetadata;
use symphra::resolver::{Problem, resolve};

use super::svg::{CENTRE_TO_BASELINE, document, escape, text_width};

const MARGIN: f64 = 24.0;
const HEADER: f64 = 36.0;
const NODE_HEIGHT: f64 = 34.0;
const ROW_GAP: f64 = 22.0;
const COLUMN_GAP: f64 = 90.0;
const PADDING: f64 = 14.0;

/// Each module's column: its start wave, as [`symphra::resolver::Resolution::waves`] gives
/// it (0 for a module without dependencies, else one past the furthest of them).
///
/// The graph may be one the resolver refuses, and the picture is how one sees why: a
/// dependency named but absent is drawn as a module of its own, without dependencies, and
/// each cycle the resolver names is cut at its closing edge (over again, until none is
/// left), so that the modules on a cycle get a column too. Version requirements play no
/// part in the layout and are left out.
fn columns(nodes: &[&str], edges: &[Edge<'_>]) -> BTreeMap<String, usize> {
    // Every module once, in the order drawn: the directory's, then the absent ones.
    let mut seen = BTreeSet::new();
    let names: Vec<&str> = nodes
        .iter()
        .copied()
        .chain(edges.iter().map(|edge| edge.to))
        .filter(|name| seen.insert(*name))
        .collect();
    // Optional or not, a dependency that is there starts first: both are edges to the
    // resolver's waves.
    let mut kept: Vec<(&str, &str)> = edges.iter().map(|edge| (edge.from, edge.to)).collect();
    loop {
        let metadata: Vec<ModuleMetadata> = names
            .iter()
            .map(|&name| {
                kept.iter()
                    .filter(|(from, _)| *from == name)
                    .fold(ModuleMetadata::new(name), |meta, (_, to)| {
                        meta.depends_on(to)
                    })
            })
            .collect();
        let error = match resolve(&metadata) {
            Ok(resolution) => {
                return resolution
                    .waves()
                    .into_iter()
                    .enumerate()
                    .flat_map(|(wave, names)| {
                        names.into_iter().map(move |name| (name.to_owned(), wave))
                    })
                    .collect();
            }
            Err(error) => error,
        };
        let before = kept.len();
        for problem in error.problems() {
            // A path runs from a module to what it needs and back to the first.
            if let Problem::Cycle { path } = problem
                && let [.., from, to] = path.as_slice()
            {
                kept.retain(|edge| *edge != (from.as_str(), to.as_str()));
            }
        }
        if kept.len() == before {
            // Not a cycle: names that discovery has not checked (none reach here from a
            // directory). One column beats no picture.
            tracing::warn!(%error, "the graph cannot be ordered in waves; drawn in one column");
            return names.iter().map(|name| ((*name).to_owned(), 0)).collect();
        }
    }
}

/// One edge: from a module to a module it depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge<'a> {
    /// The module that needs.
    pub from: &'a str,
    /// The module needed.
    pub to: &'a str,
    /// Whether the dependency is optional (drawn dashed).
    pub optional: bool,
}

/// The line under the picture that says how to read it.
const LEGEND: &str = "an arrow points to what a module needs; dashed: optional";

/// The SVG of the graph of `nodes` and `edges`; `title` heads the picture. A module named
/// by an edge but not in `nodes` is drawn as missing.
pub fn render(title: &str, nodes: &[&str], edges: &[Edge<'_>]) -> String {
    let column = columns(nodes, edges);
    // Slots: the modules (those named as dependencies but absent included), then a bend
    // for each column an edge crosses, so that long edges go round boxes, not through.
    let mut names: Vec<&str> = nodes.to_vec();
    for name in column.keys() {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let id: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut slot_column: Vec<usize> = names.iter().map(|n| column[*n]).collect();
    let mut chains: Vec<Vec<usize>> = Vec::new();
    for edge in edges {
        let (from, to) = (id[edge.from], id[edge.to]);
        let mut chain = vec![from];
        for crossed in (slot_column[to] + 1..slot_column[from]).rev() {
            slot_column.push(crossed);
            chain.push(slot_column.len() - 1);
        }
        chain.push(to);
        chains.push(chain);
    }
    // Each slot's neighbours one column to the left, which its row follows.
    let mut left: Vec<Vec<usize>> = vec![Vec::new(); slot_column.len()];
    for chain in &chains {
        for pair in chain.windows(2) {
            if slot_column[pair[1]] < slot_column[pair[0]] {
                left[pair[0]].push(pair[1]);
            }
        }
    }
    let count = slot_column.iter().max().map_or(0, |max| max + 1);
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (slot, &c) in slot_column.iter().enumerate() {
        layers[c].push(slot);
    }
    // Column by column from the left, each slot goes by the mean row of its left
    // neighbours (ties keep registration order): few crossings, cheaply.
    let mut row: Vec<Option<f64>> = vec![None; slot_column.len()];
    for layer in &mut layers {
        let rank = |slot: &usize| -> f64 {
            let rows: Vec<f64> = left[*slot].iter().filter_map(|&l| row[l]).collect();
            if rows.is_empty() {
                f64::MAX
            } else {
                rows.iter().sum::<f64>() / rows.len() as f64
            }
        };
        let mut ranked: Vec<(f64, usize)> = layer.iter().map(|s| (rank(s), *s)).collect();
        ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
        *layer = ranked.into_iter().map(|(_, s)| s).collect();
        for (i, &slot) in layer.iter().enumerate() {
            row[slot] = Some(i as f64);
        }
    }

    let tallest = layers.iter().map(Vec::len).max().unwrap_or(0);
    let plot_height = (tallest as f64 * (NODE_HEIGHT + ROW_GAP) - ROW_GAP).max(0.0);
    // Each slot's box: left x, top y, width.
    let mut boxes: Vec<(f64, f64, f64)> = vec![(0.0, 0.0, 0.0); slot_column.len()];
    let mut wave_x: Vec<Option<f64>> = vec![None; count];
    let mut x = MARGIN;
    for (index, layer) in layers.iter().enumerate() {
        if layer.is_empty() {
            continue;
        }
        let width = layer
            .iter()
            .filter_map(|&slot| names.get(slot))
            .map(|n| text_width(&label(n, nodes)) + 2.0 * PADDING)
            .fold(60.0, f64::max);
        // Centre a short column against the tallest.
        let own = layer.len() as f64 * (NODE_HEIGHT + ROW_GAP) - ROW_GAP;
        let top = MARGIN + HEADER + (plot_height - own) / 2.0;
        for (i, &slot) in layer.iter().enumerate() {
            boxes[slot] = (x, top + i as f64 * (NODE_HEIGHT + ROW_GAP), width);
        }
        wave_x[index] = Some(x);
        x += width + COLUMN_GAP;
    }
    // The heading is drawn at 15px bold and the legend at 11px; `text_width` measures 13px.
    let heading = text_width(title) * 15.0 / 13.0 * 1.1;
    let legend = text_width(LEGEND) * 11.0 / 13.0;
    let width = (x - COLUMN_GAP + MARGIN).max(2.0 * MARGIN + heading.max(legend));
    let height = MARGIN + HEADER + plot_height + MARGIN + 18.0;

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
    for (index, x) in wave_x.iter().enumerate() {
        if let Some(x) = x {
            let _ = writeln!(
                body,
                "<text class=\"wave\" x=\"{x:.1}\" y=\"{:.1}\" fill=\"#888\" font-size=\"11\">wave {index}</text>",
                MARGIN + HEADER - 8.0
            );
        }
    }
    for (edge, chain) in edges.iter().zip(&chains) {
        let (from, to) = (boxes[chain[0]], boxes[chain[chain.len() - 1]]);
        let mut at = (from.0, from.1 + NODE_HEIGHT / 2.0);
        let mut path = format!("M {:.1} {:.1}", at.0, at.1);
        for &bend in &chain[1..chain.len() - 1] {
            let (bx, by, bw) = boxes[bend];
            let y = by + NODE_HEIGHT / 2.0;
            curve(&mut path, at, (bx + bw, y));
            let _ = write!(path, " L {bx:.1} {y:.1}");
            at = (bx, y);
        }
        if to.0 < at.0 {
            curve(&mut path, at, (to.0 + to.2, to.1 + NODE_HEIGHT / 2.0));
        } else {
            // A cycle points back right or within a column: aim at the box's top.
            curve(&mut path, at, (to.0 + to.2 / 2.0, to.1));
        }
        let dash = if edge.optional {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let _ = writeln!(
            body,
            "<g class=\"edge\" data-from=\"{f}\" data-to=\"{t}\" data-optional=\"{o}\"><title>{f} needs {t}{opt}</title>\
             <path d=\"{path}\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.4\"{dash} marker-end=\"url(#arrow)\"/></g>",
            f = escape(edge.from),
            t = escape(edge.to),
            o = edge.optional,
            opt = if edge.optional { " (optional)" } else { "" },
        );
    }
    for (slot, name) in names.iter().enumerate() {
        let (x, y, width) = boxes[slot];
        let missing = !nodes.contains(name);
        let (fill, stroke, extra) = if missing {
            ("#fdecea", "#c0392b", " stroke-dasharray=\"5 3\"")
        } else {
            ("#e8f1fb", "#2f6db5", "")
        };
        let label = label(name, nodes);
        let _ = writeln!(
            body,
            "<g class=\"node\" data-name=\"{n}\" data-missing=\"{m}\"><title>{n}</title>\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{NODE_HEIGHT}\" rx=\"7\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"{extra}/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#1a1a1a\">{}</text></g>",
            x,
            y,
            width,
            x + width / 2.0,
            y + NODE_HEIGHT / 2.0 + CENTRE_TO_BASELINE,
            escape(&label),
            n = escape(name),
            m = missing,
        );
    }
    let _ = writeln!(
        body,
        "<text class=\"legend\" x=\"{MARGIN}\" y=\"{:.1}\" fill=\"#888\" font-size=\"11\">{LEGEND}</text>",
        height - MARGIN / 2.0
    );
    document(width, height, title, &body)
}

/// The text in a module's box: its name, marked when the directory does not have it.
fn label(name: &str, nodes: &[&str]) -> String {
    if nodes.contains(&name) {
        name.to_owned()
    } else {
        format!("{name} (missing)")
    }
}

/// Appends to `path` a curve from `from` to `to` that leaves and arrives horizontally.
fn curve(path: &mut String, from: (f64, f64), to: (f64, f64)) {
    let bend = ((from.0 - to.0).abs() / 2.0).max(30.0);
    let _ = write!(
        path,
        " C {:.1} {:.1}, {:.1} {:.1}, {:.1} {:.1}",
        from.0 - bend,
        from.1,
        to.0 + bend,
        to.1,
        to.0,
        to.1
    );
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

    /// The `width` attribute of an SVG document.
    fn width_of(svg: &str) -> f64 {
        let start = svg.find(" width=\"").map(|at| at + 8).unwrap();
        let end = start + svg[start..].find('"').unwrap();
        svg[start..end].parse().unwrap()
    }

    #[test]
    fn a_long_heading_widens_the_picture_to_its_bold_size() {
        let title = "h".repeat(80);
        let svg = render(&title, &["db"], &[]);
        // 80 characters at 15px bold: 15/13 of the 13px estimate, and a tenth more for bold.
        let heading = 80.0 * 7.8 * 15.0 / 13.0 * 1.1;
        assert_eq!(width_of(&svg), (2.0 * MARGIN + heading).round());
    }

    #[test]
    fn a_short_heading_leaves_room_for_the_legend() {
        let svg = render("x", &["db"], &[]);
        let legend = LEGEND.chars().count() as f64 * 7.8 * 11.0 / 13.0;
        assert_eq!(width_of(&svg), (2.0 * MARGIN + legend).round());
        assert!(svg.contains(LEGEND));
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

    #[test]
    fn every_cycle_is_cut_and_what_needs_it_comes_after() {
        let edges = [
            edge("a", "b"),
            edge("b", "c"),
            edge("c", "a"),
            edge("self", "self"),
            edge("api", "a"),
        ];
        let columns = columns(&["a", "b", "c", "self", "api"], &edges);
        // The path a -> b -> c -> a is cut at c -> a: c first, then b, then a.
        assert_eq!((columns["c"], columns["b"], columns["a"]), (0, 1, 2));
        assert_eq!(columns["self"], 0);
        assert_eq!(columns["api"], 3);
    }
}
