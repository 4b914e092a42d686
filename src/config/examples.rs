//! The provider sources in `examples/sources/` (one file each, kept out of the shipped
//! `config.toml` so a first start enables three sources, not 24): each must load on top of the
//! shipped config, and together they cover every scheme.

use std::path::PathBuf;

use super::load_str;

/// The shipped `config.toml`.
const SHIPPED: &str = include_str!("../../config.toml");

/// `(name, text)` of every file in `examples/sources/`, sorted by name.
pub(crate) fn example_sources() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/sources");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("examples/sources")
        .map(|entry| {
            let path = entry.expect("entry").path();
            let name = path
                .file_stem()
                .expect("stem")
                .to_string_lossy()
                .into_owned();
            (name, std::fs::read_to_string(&path).expect("read"))
        })
        .collect();
    out.sort();
    out
}

/// The shipped config with every example source appended: a source for every scheme.
pub(crate) fn shipped_with_examples() -> String {
    let mut text = SHIPPED.to_owned();
    for (_, example) in example_sources() {
        text.push('\n');
        text.push_str(&example);
    }
    text
}

#[test]
fn every_example_loads_on_top_of_the_shipped_config() {
    let examples = example_sources();
    assert_eq!(examples.len(), 21, "{:?}", examples.iter().map(|e| &e.0));
    for (name, example) in examples {
        let text = format!("{SHIPPED}\n{example}");
        let file = format!("examples/sources/{name}.toml");
        let config = load_str(&text, &file, &|_| None).unwrap_or_else(|e| panic!("{e}"));
        let source = config
            .source(&name)
            .unwrap_or_else(|| panic!("{file} defines {name}"));
        assert_eq!(source.verifier.scheme.name(), name, "{file}");
        assert!(
            source.uses_development_secret,
            "{file}: warned about at start"
        );
    }
}

#[test]
fn the_shipped_config_and_the_examples_cover_every_scheme() {
    let shipped = load_str(SHIPPED, "config.toml", &|_| None).expect("valid");
    let names: Vec<&str> = shipped.sources.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["github", "standard", "stripe"]);
    let all = load_str(&shipped_with_examples(), "all.toml", &|_| None).expect("valid");
    let names: Vec<&str> = all.sources.iter().map(|s| s.name.as_str()).collect();
    let mut schemes: Vec<&str> = crate::verify::Scheme::names()
        .filter(|n| *n != "hmac")
        .collect();
    schemes.sort_unstable();
    assert_eq!(names, schemes, "one source per scheme");
}
