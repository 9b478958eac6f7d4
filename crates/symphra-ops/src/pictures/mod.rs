//! The pictures of an application, as SVG documents: its dependency graph and the timeline
//! of its start. `symphra graph --format svg` and `symphra analyze --svg` draw them, and the
//! operator's live page shows them.

pub mod graph;
mod svg;
pub mod timeline;

use symphra::ModuleManager;
use symphra::manager::Report;

/// The dependency graph of `manager`'s modules, headed by `title`.
pub fn manager_graph(manager: &ModuleManager, title: &str) -> String {
    let handles = manager.handles();
    let nodes: Vec<&str> = handles.iter().map(|handle| handle.name()).collect();
    let edges: Vec<graph::Edge<'_>> = handles
        .iter()
        .flat_map(|handle| {
            handle
                .metadata()
                .dependencies()
                .iter()
                .map(move |dependency| graph::Edge {
                    from: handle.name(),
                    to: dependency.name(),
                    optional: dependency.is_optional(),
                })
        })
        .collect();
    graph::render(title, &nodes, &edges)
}

/// The timeline of the start that `report` describes, headed by `title`.
pub fn start_timeline(report: &Report, title: &str) -> String {
    timeline::render(title, timeline::rows(report), report.elapsed())
}

/// A small picture that says `text`: what stands where a picture is not available yet.
pub fn note(text: &str) -> String {
    let width = svg::text_width(text) + 48.0;
    let body = format!(
        "<text x=\"24\" y=\"{:.1}\" fill=\"#555\">{}</text>\n",
        24.0 + svg::CENTRE_TO_BASELINE,
        svg::escape(text)
    );
    svg::document(width, 48.0, text, &body)
}
