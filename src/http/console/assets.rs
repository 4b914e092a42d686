//! The console's files, embedded at compile time and named by a fingerprint of their contents
//! (computed at compile time too), so a browser may cache each one for a year.

use crate::http::etag::fingerprint;

/// One embedded file.
pub struct Asset {
    /// Its plain name (`main.js`), as the page template refers to it.
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its contents.
    pub body: &'static [u8],
    hash: u64,
}

impl Asset {
    const fn new(name: &'static str, content_type: &'static str, body: &'static [u8]) -> Asset {
        Asset {
            name,
            content_type,
            body,
            hash: fingerprint(body),
        }
    }

    /// `main.0123456789abcdef.js`: the name it is served under.
    pub fn hashed_name(&self) -> String {
        match self.name.rsplit_once('.') {
            Some((stem, ext)) => format!("{stem}.{:016x}.{ext}", self.hash),
            None => format!("{}.{:016x}", self.name, self.hash),
        }
    }
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every asset, scripts in the order the page loads them.
static ASSETS: &[Asset] = &[
    Asset::new(
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("static/console.css"),
    ),
    Asset::new("util.js", JS, include_bytes!("static/util.js")),
    Asset::new("api.js", JS, include_bytes!("static/api.js")),
    Asset::new("charts.js", JS, include_bytes!("static/charts.js")),
    Asset::new("bulk.js", JS, include_bytes!("static/bulk.js")),
    Asset::new("list.js", JS, include_bytes!("static/list.js")),
    Asset::new("routes.js", JS, include_bytes!("static/routes.js")),
    Asset::new("actions.js", JS, include_bytes!("static/actions.js")),
    Asset::new("detail.js", JS, include_bytes!("static/detail.js")),
    Asset::new("overview.js", JS, include_bytes!("static/overview.js")),
    Asset::new(
        "destinations.js",
        JS,
        include_bytes!("static/destinations.js"),
    ),
    Asset::new("audit.js", JS, include_bytes!("static/audit.js")),
    Asset::new("main.js", JS, include_bytes!("static/main.js")),
];

const INDEX: &str = include_str!("static/index.html");

/// The asset served as `hashed` (only its current name: an old one is gone with its binary).
pub fn find(hashed: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.hashed_name() == hashed)
}

/// The page, its `{{name}}` placeholders replaced by the assets' current paths.
pub fn index_page() -> String {
    ASSETS.iter().fold(INDEX.to_owned(), |page, asset| {
        let path = format!("/console/assets/{}", asset.hashed_name());
        page.replace(&format!("{{{{{}}}}}", asset.name), &path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_asset_by_its_hash_and_nothing_else() {
        let page = index_page();
        assert!(!page.contains("{{"), "an unknown placeholder is left");
        for asset in ASSETS {
            let name = asset.hashed_name();
            assert!(page.contains(&format!("/console/assets/{name}")), "{name}");
            assert_eq!(find(&name).map(|a| a.name), Some(asset.name));
            assert!(find(asset.name).is_none(), "only hashed names are served");
        }
    }

    #[test]
    fn no_inline_script_or_style_in_the_page() {
        let page = index_page();
        assert!(!page.contains("<script>") && !page.contains(" style="));
        assert!(!page.contains("onclick") && !page.contains("javascript:"));
    }
}
