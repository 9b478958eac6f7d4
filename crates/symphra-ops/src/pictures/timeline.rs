//! A timeline of the start as an SVG picture (`symphra analyze --svg`, and the operator's
//! live page): one row per module and one bar per hook, on
//! an axis in milliseconds.

use std::fmt::Write as _;
use std::time::Duration;

use symphra::manager::{Outcome, Report};

use super::svg::{CENTRE_TO_BASELINE, document, escape, text_width};

const MARGIN: f64 = 24.0;
const HEADER: f64 = 58.0;
const ROW: f64 = 24.0;
const BAR: f64 = 16.0;
const PLOT_WIDTH: f64 = 760.0;
const LEGEND: f64 = 40.0;

/// One hook a module ran while starting.
#[derive(Clone, Debug, PartialEq)]
pub struct HookBar {
    /// The hook's name (`bootstrap`, `install`, `start`).
    pub hook: String,
    /// When it began, from the start of the operation.
    pub began: Duration,
    /// How long it ran.
    pub duration: Duration,
}

/// One module's row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The module.
    pub name: String,
    /// Its hooks, in the order they ran.
    pub hooks: Vec<HookBar>,
    /// The hook that failed, if one did (the last of `hooks`).
    pub failed: Option<String>,
}

impl Row {
    fn began(&self) -> Duration {
        self.hooks.iter().map(|h| h.began).min().unwrap_or_default()
    }

    fn ended(&self) -> Duration {
        self.hooks
            .iter()
            .map(|h| h.began + h.duration)
            .max()
            .unwrap_or_default()
    }
}

/// The rows of a start's timeline: every module of `report` that ran a hook.
pub fn rows(report: &Report) -> Vec<Row> {
    report
        .modules()
        .iter()
        .filter(|module| !module.hooks().is_empty())
        .map(|module| Row {
            name: module.name().to_owned(),
            failed: match module.outcome() {
                Outcome::Failed(failure) => Some(failure.hook().to_string()),
                _ => None,
            },
            hooks: module
                .hooks()
                .into_iter()
                .map(|h| HookBar {
                    hook: h.hook.to_string(),
                    began: h.began,
                    duration: h.duration,
                })
                .collect(),
        })
        .collect()
}

/// The fill of a hook's bar; the legend lists the same.
fn colour(hook: &str) -> &'static str {
    match hook {
        "bootstrap" => "#9dc3e6",
        "install" => "#f4b183",
        "start" => "#70ad47",
        "stop" => "#c55a5a",
        _ => "#a5a5a5",
    }
}

/// The colour of failure: a failed module's name, and the outline of its failed hook.
const FAILED: &str = "#c0392b";

/// The line under the title: how many modules started and failed, and how long it took.
fn summary(rows: &[Row], elapsed: Duration) -> String {
    let failed = rows.iter().filter(|r| r.failed.is_some()).count();
    let started = rows.len() - failed;
    let mut text = format!("{started} modules started");
    if failed > 0 {
        text.push_str(&format!(", {failed} failed"));
    }
    text.push_str(&format!(" in {:.2} ms", ms(elapsed)));
    text
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A step between axis ticks, 1, 2 or 5 times a power of ten, giving about eight ticks.
fn tick_step(total_ms: f64) -> f64 {
    let rough = (total_ms / 8.0).max(1e-3);
    let power = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= rough)
        .unwrap_or(10.0 * power)
}

/// `value` ms as a short label: no more decimals than the step needs.
fn tick_label(value: f64, step: f64) -> String {
    let decimals = if step >= 1.0 {
        0
    } else {
        (-step.log10().floor()) as usize
    };
    format!("{value:.decimals$} ms")
}

/// The SVG timeline of `rows` (sorted here by when each module began); the operation took
/// `elapsed`.
pub fn render(title: &str, mut rows: Vec<Row>, elapsed: Duration) -> String {
    rows.sort_by(|a, b| a.began().cmp(&b.began()).then_with(|| a.name.cmp(&b.name)));
    let end = rows
        .iter()
        .map(Row::ended)
        .max()
        .unwrap_or_default()
        .max(elapsed);
    let total = ms(end).max(1e-3);
    let step = tick_step(total);
    let axis_end = (total / step).ceil() * step;
    let scale = PLOT_WIDTH / axis_end;
    let label_width = rows
        .iter()
        .map(|r| text_width(&r.name))
        .fold(60.0, f64::max);
    let left = MARGIN + label_width + 12.0;
    // Room right of the plot for the duration (and failure) written after the last bar.
    let width = left + PLOT_WIDTH + 190.0;
    let top = MARGIN + HEADER;
    let height = top + rows.len() as f64 * ROW + LEGEND + MARGIN;

    let mut body = String::new();
    let _ = writeln!(
        body,
        "<text class=\"heading\" x=\"{MARGIN}\" y=\"{:.1}\" font-weight=\"bold\" font-size=\"15\">{}</text>",
        MARGIN + 6.0,
        escape(title)
    );
    let _ = writeln!(
        body,
        "<text class=\"summary\" x=\"{MARGIN}\" y=\"{:.1}\" fill=\"#555\" font-size=\"12\">{}</text>",
        MARGIN + 24.0,
        summary(&rows, elapsed)
    );
    // The axis: a tick and a grid line every step.
    body.push_str("<g class=\"axis\">\n");
    let ticks = (axis_end / step).round() as usize;
    for k in 0..=ticks {
        let value = k as f64 * step;
        let x = left + value * scale;
        let _ = writeln!(
            body,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#ddd\" stroke-width=\"1\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\" font-size=\"11\">{}</text>",
            top - 6.0,
            top + rows.len() as f64 * ROW,
            top - 10.0,
            tick_label(value, step)
        );
    }
    body.push_str("</g>\n");
    for (index, row) in rows.iter().enumerate() {
        let y = top + index as f64 * ROW;
        let stripe = if index % 2 == 0 { "#f7f7f7" } else { "white" };
        let _ = writeln!(
            body,
            "<g class=\"module\" data-name=\"{n}\" data-began-ms=\"{:.3}\" data-ended-ms=\"{:.3}\" data-failed=\"{}\"><title>{n}</title>\
             <rect x=\"{MARGIN}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{ROW}\" fill=\"{stripe}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"{}\">{n}</text>",
            ms(row.began()),
            ms(row.ended()),
            row.failed.is_some(),
            width - 2.0 * MARGIN,
            left - 10.0,
            y + ROW / 2.0 + CENTRE_TO_BASELINE,
            if row.failed.is_some() {
                FAILED
            } else {
                "#1a1a1a"
            },
            n = escape(&row.name),
        );
        for hook in &row.hooks {
            let x = left + ms(hook.began) * scale;
            // A hook of a few microseconds still shows as a sliver.
            let w = (ms(hook.duration) * scale).max(1.5);
            // The failed hook is the last; it keeps its colour, outlined in red.
            let outline = if row.failed.as_deref() == Some(hook.hook.as_str()) {
                format!(" stroke=\"{FAILED}\" stroke-width=\"2\"")
            } else {
                String::new()
            };
            let _ = writeln!(
                body,
                "  <rect class=\"hook\" data-hook=\"{h}\" data-began-ms=\"{:.3}\" data-ended-ms=\"{:.3}\" \
                 x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{BAR}\" fill=\"{}\"{outline}><title>{n} {h}: {:.3} ms</title></rect>",
                ms(hook.began),
                ms(hook.began + hook.duration),
                y + (ROW - BAR) / 2.0,
                colour(&hook.hook),
                ms(hook.duration),
                h = escape(&hook.hook),
                n = escape(&row.name),
            );
        }
        let busy: Duration = row.hooks.iter().map(|h| h.duration).sum();
        let _ = writeln!(
            body,
            "  <text x=\"{:.1}\" y=\"{:.1}\" fill=\"{}\" font-size=\"11\">{:.2} ms{}</text></g>",
            left + ms(row.ended()) * scale + 6.0,
            y + ROW / 2.0 + CENTRE_TO_BASELINE - 0.5,
            if row.failed.is_some() { FAILED } else { "#555" },
            ms(busy),
            row.failed
                .as_deref()
                .map(|hook| format!(", failed in {}", escape(hook)))
                .unwrap_or_default()
        );
    }
    // The legend: each hook's colour.
    let y = top + rows.len() as f64 * ROW + 22.0;
    let mut x = left;
    body.push_str("<g class=\"legend\">\n");
    for hook in ["bootstrap", "install", "start"] {
        let _ = writeln!(
            body,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"14\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{hook}</text>",
            y - 6.0,
            colour(hook),
            x + 20.0,
            y + CENTRE_TO_BASELINE
        );
        x += 20.0 + text_width(hook) + 24.0;
    }
    body.push_str("</g>\n");
    document(width, height, title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(tick_step(80.0), 10.0);
        assert_eq!(tick_step(15.0), 2.0);
        assert!((tick_step(0.3) - 0.05).abs() < 1e-12);
        assert_eq!(tick_label(0.1, 0.05), "0.10 ms");
        assert_eq!(tick_label(20.0, 10.0), "20 ms");
    }
}
