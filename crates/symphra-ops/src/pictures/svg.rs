//! What the two pictures share: escaping, the document frame, and a text width estimate
//! for laying out labels.

use std::fmt::Write as _;

/// The font every label uses; the width estimate below is for it.
pub(crate) const FONT: &str =
    "font-family=\"DejaVu Sans, Verdana, Arial, sans-serif\" font-size=\"13\"";

/// Roughly how wide `text` is drawn in [`FONT`], in pixels: sans-serif glyphs at 13px
/// average a little under 8px (no font metrics without a renderer, so this errs wide).
pub(crate) fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * 7.8
}

/// How far below a line's vertical centre to put the baseline of text in [`FONT`] so
/// that it looks centred; `dominant-baseline` would say it, but renderers differ on it.
pub(crate) const CENTRE_TO_BASELINE: f64 = 4.5;

/// `text` with the five XML special characters escaped, for text and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// An SVG document of `width` by `height` pixels on a white background, with `title` for
/// viewers that show one; `body` is the content.
pub(crate) fn document(width: f64, height: f64, title: &str, body: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {width:.0} {height:.0}\" {FONT}>"
    );
    let _ = writeln!(out, "<title>{}</title>", escape(title));
    let _ = writeln!(
        out,
        "<rect class=\"background\" x=\"0\" y=\"0\" width=\"{width:.0}\" height=\"{height:.0}\" fill=\"white\"/>"
    );
    out.push_str(body);
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b & \"c\"'"), "a&lt;b &amp; &quot;c&quot;&apos;");
    }
}
