//! The README and docs/ link to each other's sections by anchor; text moves between pages, so
//! every relative link must name a file that exists and, with `#anchor`, a heading in it (the
//! anchor GitHub makes: lower case, punctuation dropped, spaces as `-`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn pages(root: &Path) -> Vec<PathBuf> {
    let mut pages = vec![root.join("README.md")];
    let docs = std::fs::read_dir(root.join("docs")).expect("docs/");
    pages.extend(
        docs.flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "md")),
    );
    pages
}

fn anchor(heading: &str) -> String {
    let text = heading.trim().to_lowercase();
    text.chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a Markdown file's headings, code blocks left out.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut in_code = false;
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
        } else if !in_code && line.starts_with('#') {
            out.insert(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// Every `](target)` in `text` that is not a URL with a scheme.
fn relative_links(text: &str) -> Vec<&str> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split([')', ' ']).next())
        .filter(|target| !target.contains("://") && !target.starts_with("mailto:"))
        .collect()
}

#[test]
fn every_link_between_the_readme_and_docs_lands_on_a_file_and_a_heading() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut broken = Vec::new();
    for page in pages(root) {
        let text = std::fs::read_to_string(&page).expect("read page");
        for link in relative_links(&text) {
            let (path, fragment) = link.split_once('#').unwrap_or((link, ""));
            let target = match path {
                "" => page.clone(),
                path => page.parent().expect("dir").join(path),
            };
            let shown = format!(
                "{}: {link}",
                page.strip_prefix(root).unwrap_or(&page).display()
            );
            let Ok(target_text) = std::fs::read(&target) else {
                broken.push(format!("{shown} (no such file)"));
                continue;
            };
            let is_markdown = target.extension().is_some_and(|e| e == "md");
            if !fragment.is_empty()
                && is_markdown
                && !anchors(&String::from_utf8_lossy(&target_text)).contains(fragment)
            {
                broken.push(format!("{shown} (no such heading)"));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
