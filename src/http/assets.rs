//! The stylesheet, script and icon of every HTML page (the console's and the pages a contact or a link
//! opens), embedded in the binary and served under names that carry a hash
//! of their content, so browsers may cache them forever and a new build is fetched at once.

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::header;
use sha2::{Digest, Sha256};

struct Asset {
    name: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

fn hashed(stem: &str, ext: &str, content_type: &'static str, bytes: &'static [u8]) -> Asset {
    let digest = Sha256::digest(bytes);
    Asset { name: format!("{stem}.{}.{ext}", &hex::encode(digest)[..12]), content_type, bytes }
}

/// An asset of `assets/` by stem and extension, hashed on first use.
macro_rules! asset {
    ($stem:literal, $ext:literal, $content_type:literal) => {
        LazyLock::new(|| hashed($stem, $ext, $content_type, include_bytes!(concat!("assets/", $stem, ".", $ext))))
    };
}

static CSS: LazyLock<Asset> = asset!("app", "css", "text/css; charset=utf-8");
static JS: LazyLock<Asset> = asset!("app", "js", "text/javascript; charset=utf-8");
static ICON: LazyLock<Asset> = asset!("icon", "svg", "image/svg+xml");
// The icon as PNGs, for what does not take SVG: Android's installer wants 192 and 512 px (and a full-bleed one
// it may crop to its own shape), iOS's home screen a 180 px `apple-touch-icon`. Made from `icon.svg` (the
// maskable and Apple ones from the same bell on a square) with Chromium's headless screenshot.
static ICON_192: LazyLock<Asset> = asset!("icon-192", "png", "image/png");
static ICON_512: LazyLock<Asset> = asset!("icon-512", "png", "image/png");
static ICON_MASKABLE: LazyLock<Asset> = asset!("icon-maskable-512", "png", "image/png");
static APPLE_TOUCH_ICON: LazyLock<Asset> = asset!("apple-touch-icon", "png", "image/png");

fn url_of(asset: &Asset) -> String {
    format!("/assets/{}", asset.name)
}

/// URL of the stylesheet.
pub fn css_url() -> String {
    url_of(&CSS)
}

/// URL of the script.
pub fn js_url() -> String {
    url_of(&JS)
}

/// URL of the icon.
pub fn icon_url() -> String {
    url_of(&ICON)
}

/// URL of the icon iOS puts on a home screen.
pub fn apple_touch_icon_url() -> String {
    url_of(&APPLE_TOUCH_ICON)
}

/// `GET /sw.js`: the console's service worker (browser push). Served at the root so its scope is the whole
/// console, and revalidated on every check, as browsers expect of a worker script.
pub fn service_worker() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(&include_bytes!("assets/sw.js")[..])
}

/// `GET /manifest.webmanifest`: makes the console an installable web app (iOS delivers push only to a web
/// app added to the home screen).
pub fn manifest() -> HttpResponse {
    let manifest = serde_json::json!({
        "name": "Escalating Reminders",
        "short_name": "Reminders",
        "description": "Reminders that cannot be ignored.",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1f6f5c",
        "icons": [
            {"src": icon_url(), "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
            {"src": url_of(&ICON_192), "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": url_of(&ICON_512), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": url_of(&ICON_MASKABLE), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
    });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/manifest+json"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(manifest.to_string())
}

/// The answer to `GET /assets/{name}`: only the exact hashed names exist (the caller renders its own 404).
pub fn response(name: &str) -> Option<HttpResponse> {
    let assets = [&*CSS, &*JS, &*ICON, &*ICON_192, &*ICON_512, &*ICON_MASKABLE, &*APPLE_TOUCH_ICON];
    let asset = assets.into_iter().find(|asset| asset.name == name)?;
    Some(
        HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, asset.content_type))
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(asset.bytes),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_carry_a_content_hash_and_the_css_stays_small() {
        assert!(super::css_url().starts_with("/assets/app.") && super::css_url().ends_with(".css"));
        assert_eq!(super::css_url().len(), "/assets/app.".len() + 12 + ".css".len());
        assert!(include_bytes!("assets/app.css").len() <= 30 * 1024, "our CSS stays under 30 KB");
    }
}
