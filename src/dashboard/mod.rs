//! `factory dashboard` and `factory report --html`: seven views of a `.factory/` directory
//! (session, timeline, kanban, reviews, scorecards, lessons, decisions).
//!
//! [`data`] builds the JSON of each view; [`server`] serves it with Server-Sent Events for live
//! updates; [`page`] is the one HTML page both use, with the hand-written assets embedded in
//! the binary (no CDN, works offline). The log is read incrementally by [`tail`].

pub mod data;
pub mod server;
pub mod tail;

pub use data::{DashboardError, Which};
pub use server::{Options, serve};

/// The page's stylesheet.
pub const APP_CSS: &str = include_str!("assets/app.css");
/// The page's script: renders every view from a snapshot (fetched, or embedded by the report).
pub const APP_JS: &str = include_str!("assets/app.js");
const INDEX_HTML: &str = include_str!("assets/index.html");

/// The HTML page. Without a snapshot it links the assets and fetches `/api/snapshot` (the
/// dashboard); with one it inlines the assets and the data, so the file stands alone (the
/// report).
pub fn page(snapshot: Option<&serde_json::Value>) -> String {
    match snapshot {
        None => INDEX_HTML
            .replace("{{TITLE}}", "factory dashboard")
            .replace(
                "{{STYLE}}",
                r#"<link rel="stylesheet" href="assets/app.css">"#,
            )
            .replace("{{SCRIPT}}", r#"<script src="assets/app.js"></script>"#),
        Some(snap) => {
            let title = snap["session"]["id"]
                .as_str()
                .map(|id| format!("factory report: {}", html_escape(id)))
                .unwrap_or_else(|| "factory report".to_string());
            INDEX_HTML
                .replace("{{TITLE}}", &title)
                .replace("{{STYLE}}", &format!("<style>\n{APP_CSS}</style>"))
                .replace(
                    "{{SCRIPT}}",
                    &format!(
                        "<script>window.FACTORY_SNAPSHOT = {};</script>\n<script>\n{APP_JS}</script>",
                        script_json(snap)
                    ),
                )
        }
    }
}

/// JSON that is safe inside a `<script>` element: `<` only occurs inside JSON strings, where
/// `\u003c` means the same, so no `</script>` or `<!--` from the data can end the element.
fn script_json(v: &serde_json::Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_report_page_inlines_everything_and_data_cannot_close_the_script() {
        let snap = json!({"session": {"id": "s</title>"}, "timeline": {"detail": "</script><script>alert(1)</script>"}});
        let html = page(Some(&snap));
        assert!(!html.contains("assets/app.js"));
        assert!(html.contains("window.FACTORY_SNAPSHOT"));
        assert!(!html.contains("</script><script>alert(1)"));
        assert!(html.contains("factory report: s&lt;/title&gt;"));
        assert_eq!(html.matches("</script>").count(), 2);
    }

    #[test]
    fn the_assets_are_self_contained() {
        for text in [APP_JS, APP_CSS, INDEX_HTML] {
            assert!(!text.contains("http://") || text.contains("http://www.w3.org/2000/svg"));
            assert!(!text.contains("https://"), "no CDN or remote asset");
        }
        assert!(!APP_JS.contains("</script"), "the script can be inlined");
        assert!(!APP_JS.contains("innerHTML"), "data is set as text only");
    }
}
