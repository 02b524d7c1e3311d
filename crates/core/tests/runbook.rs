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
