#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure should panic

//! docs/design.md's runbook table is the runbook module's, row for row: the
//! order, who runs each stage, its budget and when it is done live in
//! `stop_core::runbook::RUNBOOK` and nowhere else.

use stop_core::runbook::{RUNBOOK, markdown_row};

#[test]
fn the_design_documents_runbook_table_is_the_modules() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/design.md");
    let design = std::fs::read_to_string(path).unwrap();
    let section = design
        .split("\n## The runbook\n")
        .nth(1)
        .expect("docs/design.md has a \"## The runbook\" section");
    let rows: Vec<&str> = section
        .lines()
        .skip_while(|l| !l.starts_with("| # |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect();
    let expected: Vec<String> = RUNBOOK.iter().map(markdown_row).collect();
    assert_eq!(
        rows,
        expected,
        "docs/design.md's runbook table differs from stop_core::runbook::RUNBOOK; its rows should read:\n{}",
        expected.join("\n")
    );
    assert!(
        section.contains("| # | step | who | budget | done when |"),
        "the table's header"
    );
}

/// The README's account of the promoter names its data steps in bold, in the
/// runbook's order.
#[test]
fn the_readmes_promoter_names_the_data_steps_in_the_runbooks_order() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
    let readme = std::fs::read_to_string(path).unwrap();
    let section = readme
        .split("### The data and compute tier follows")
        .nth(1)
        .and_then(|s| s.split("\n### ").next())
        .expect("README has \"### The data and compute tier follows\"");
    let names: Vec<String> = stop_core::runbook::data_steps()
        .map(|s| s.as_str().to_owned())
        .collect();
    let mut found: Vec<(usize, String)> = names
        .iter()
        .filter_map(|n| section.find(&format!("**{n}**")).map(|at| (at, n.clone())))
        .collect();
    found.sort();
    let order: Vec<String> = found.into_iter().map(|(_, n)| n).collect();
    assert_eq!(order, names, "the README's bold data steps, in order");
}
