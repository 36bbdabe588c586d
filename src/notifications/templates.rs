//! Templates of what people read: the notification email (text and HTML) and the action-link pages.
//! minijinja escapes every value in the `.html` templates; the text template is not escaped.

use std::sync::LazyLock;

use minijinja::Environment;
use serde::Serialize;

#[expect(clippy::expect_used, reason = "built-in templates are parsed by the unit tests; a broken one never ships")]
static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("notification.txt", include_str!("templates/notification.txt")),
        ("notification.html", include_str!("templates/notification.html")),
        ("page.html", include_str!("templates/page.html")),
    ] {
        // Compiled into the binary and parsed by the unit test below: a broken one never ships.
        env.add_template(name, source).expect("built-in template parses");
    }
    env
});

/// Renders the built-in template `name` with `context`.
pub fn render(name: &str, context: impl Serialize) -> anyhow::Result<String> {
    Ok(TEMPLATES.get_template(name)?.render(context)?)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn html_escapes_values_and_text_does_not() {
        let context = json!({"title": "<script>alert(1)</script>", "heading": "Reminder", "links": null});
        let html = render("notification.html", &context).unwrap();
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"), "{html}");
        let text = render("notification.txt", &context).unwrap();
        assert!(text.contains("<script>alert(1)</script>"), "{text}");
        let page = render("page.html", json!({"title": "<b>", "message": "x", "form": null})).unwrap();
        assert!(page.contains("&lt;b&gt;"));
    }
}
