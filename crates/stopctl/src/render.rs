//! Text for people: colour on a terminal, plain when piped or with NO_COLOR.

use std::fmt::Write as _;

use stop_sim::Report;
use stop_sim::budget::Budget;

/// Writes to standard output; a reader that went away (`stopctl drill | head`)
/// is no reason to panic.
pub fn say(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub colour: bool,
}

impl Style {
    /// Colour when standard output is a terminal and NO_COLOR is unset.
    pub fn detect() -> Self {
        use std::io::IsTerminal;
        Style {
            colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }
    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    pub fn good(&self, text: &str) -> String {
        self.paint("32", text)
    }
    pub fn bad(&self, text: &str) -> String {
        self.paint("31;1", text)
    }
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
}

pub fn seconds(ms: Option<i64>) -> String {
    ms.map_or("–".to_owned(), stop_core::units::human_duration)
}

fn clock(ms: i64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}.{}", s / 60, s % 60, (ms % 1000) / 100)
}

/// One scenario: its timeline and its checks.
/// ✓ or ✗.
fn mark(passed: bool, style: Style) -> String {
    if passed {
        style.good("✓")
    } else {
        style.bad("✗")
    }
}

/// A scenario's first line, its timeline and the checks that failed.
fn head_and_timeline<'a>(
    title: &str,
    passed: bool,
    summary: &str,
    timeline: impl Iterator<Item = (i64, &'a str, &'a str)>,
    failed: impl Iterator<Item = (&'a str, &'a str)>,
    style: Style,
) -> String {
    let mut out = String::new();
    let verdict = if passed {
        style.good("PASS")
    } else {
        style.bad("FAIL")
    };
    let _ = writeln!(out, "{title} {verdict}  {}", style.dim(summary));
    for (at_ms, region, event) in timeline {
        let _ = writeln!(
            out,
            "  {}  {:<14} {}",
            style.dim(&clock(at_ms)),
            region,
            event
        );
    }
    for (name, detail) in failed {
        let _ = writeln!(out, "  {} {name}: {detail}", style.bad("✗"));
    }
    out
}

pub fn scenario(report: &Report, style: Style) -> String {
    let mut out = head_and_timeline(
        &format!(
            "{} {}",
            style.bold(&format!("#{:<2}", report.id)),
            style.bold(report.scenario)
        ),
        report.passed,
        report.summary,
        report
            .timeline
            .iter()
            .map(|e| (e.at_ms, e.region.as_str(), e.event.as_str())),
        report
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| (c.name, c.detail.as_str())),
        style,
    );
    let passed = report.checks.iter().filter(|c| c.ok).count();
    let _ = writeln!(
        out,
        "  {} {passed}/{} invariants hold; read RTO {}, write RTO {} (promotion {}), RPO {}, longest write gap {} (lease L {} s){}\n",
        mark(report.passed, style),
        report.checks.len(),
        seconds(report.rto_ms),
        seconds(report.write_rto_ms),
        seconds(report.promotion_ms),
        rpo(report),
        seconds(report.longest_write_gap_ms),
        report.lease_s,
        if report.writes_fenced > 0 {
            format!(
                " ({} writes refused by the fence during the move, retried)",
                report.writes_fenced
            )
        } else {
            String::new()
        }
    );
    out
}

fn rpo(report: &Report) -> String {
    match (report.rpo_writes, report.rpo_ms) {
        (Some(0), _) => "0 writes".to_owned(),
        (Some(n), Some(ms)) => format!("{n} writes ({})", seconds(Some(ms))),
        _ => "–".to_owned(),
    }
}

/// The summary table of a drill.
pub fn summary(reports: &[Report], style: Style) -> String {
    let mut out = String::new();
    if let Some(lease) = reports.first().map(|r| r.lease_s) {
        let _ = writeln!(
            out,
            "{}",
            style.dim(&format!(
                "write fence: a lease of L = {lease} s, read from a quorum of the fence record's copies; \
                 replication is cut only L + 1 % + 1 s after a decision is committed"
            ))
        );
    }
    let _ = writeln!(
        out,
        "{}",
        style.bold(&format!(
            "{:<3} {:<24} {:>10} {:>10} {:>10} {:>10} {:>20} {:>11} {:>5} {:>5}  {:<13} {}",
            "#",
            "scenario",
            "read RTO",
            "write RTO",
            "promotion",
            "outage",
            "RPO",
            "write gap",
            "calls",
            "steps",
            "epoch, Region",
            "result"
        ))
    );
    for r in reports {
        let done = r
            .steps
            .iter()
            .filter(|s| {
                matches!(
                    s.state,
                    stop_core::decision::StepState::Done | stop_core::decision::StepState::Skipped
                )
            })
            .count();
        let result = if r.passed {
            style.good("pass")
        } else {
            style.bad("FAIL")
        };
        let _ = writeln!(
            out,
            "{:<3} {:<24} {:>10} {:>10} {:>10} {:>10} {:>20} {:>11} {:>5} {:>5}  {:<13} {result}",
            r.id,
            r.scenario,
            seconds(r.rto_ms),
            seconds(r.write_rto_ms),
            seconds(r.promotion_ms),
            seconds(r.outage_ms),
            rpo(r),
            seconds(r.longest_write_gap_ms),
            r.api_calls,
            format!("{done}/{}", r.steps.len()),
            format!("{} {}", r.epoch, r.final_region),
        );
    }
    out.push_str(&style.dim(
        "read RTO: decision → the last client answered by the target Region. write RTO: decision → the first write \
         the new writer acknowledged (a planned move: at most the promotion + 30 s). promotion: the database \
         step, from the promotion's start to the record saying it is done. outage: the Region going dark → the last client answered. RPO: acknowledged \
         writes no later writer got (a planned move must show 0). write gap: the longest stretch with no write \
         acknowledged anywhere (write unavailability, whatever its cause).\n",
    ));
    out
}

/// `stopctl plan`'s budget table.
pub fn budget(budget: &Budget, style: Style) -> String {
    let mut out = format!(
        "{}\n",
        style.bold(&format!(
            "{}: {}–{} s",
            budget.path, budget.best_s, budget.worst_s
        ))
    );
    for stage in &budget.stages {
        let _ = writeln!(
            out,
            "  {:>4}–{:<4} s  {}  {}",
            stage.best_s,
            stage.worst_s,
            stage.stage,
            style.dim(&format!("({})", stage.why))
        );
    }
    out
}

/// A readiness report: one line a check, the fix under each failed one.
pub fn readiness(report: &stop_core::readiness::Report, style: Style) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let mark = if f.ok {
            style.good("✓")
        } else {
            style.bad("✗")
        };
        let _ = writeln!(out, "{mark} {:<34} {}", f.check, f.detail);
        if let Some(fix) = &f.fix {
            let _ = writeln!(out, "  {:<34} {}", "", style.dim(&format!("fix: {fix}")));
        }
    }
    let _ = writeln!(
        out,
        "{}",
        if report.ready {
            style.good("ready to fail over")
        } else {
            style.bad("NOT ready: fix the ✗ lines first")
        }
    );
    out
}

/// One real-engine scenario (`stopctl drill --engine postgres`): its timeline,
/// the checks that failed, and its figures.
pub fn pg_scenario(report: &stop_pg::drill::Report, style: Style) -> String {
    let mut out = head_and_timeline(
        &style.bold(report.scenario),
        report.passed,
        report.summary,
        report
            .timeline
            .iter()
            .map(|l| (l.at_ms, l.region.as_str(), l.event.as_str())),
        report
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| (c.name, c.detail.as_str())),
        style,
    );
    let passed = report.checks.iter().filter(|c| c.ok).count();
    let _ = writeln!(
        out,
        "  {} {passed}/{} checks hold; write RTO {} (promotion {}, drain {}), RPO {} of {} acknowledged writes missing from {} ({} rows)\n",
        mark(report.passed, style),
        report.checks.len(),
        seconds(report.write_rto_ms),
        seconds(report.promotion_ms),
        seconds(report.drain_ms),
        report.lost,
        report.acknowledged,
        report.final_writer,
        report.rows_on_final_writer,
    );
    out
}

/// The real-engine scenarios' table.
pub fn pg_summary(reports: &[stop_pg::drill::Report], style: Style) -> String {
    let mut out = format!(
        "{}\n",
        style.bold(&format!(
            "{:<24} {:>10} {:>10} {:>10} {:>14} {:>16}  {}",
            "scenario",
            "write RTO",
            "promotion",
            "drain",
            "acknowledged",
            "missing (RPO)",
            "result"
        ))
    );
    for r in reports {
        let result = if r.passed {
            style.good("pass")
        } else {
            style.bad("FAIL")
        };
        let _ = writeln!(
            out,
            "{:<24} {:>10} {:>10} {:>10} {:>14} {:>16}  {result}",
            r.scenario,
            seconds(r.write_rto_ms),
            seconds(r.promotion_ms),
            seconds(r.drain_ms),
            r.acknowledged,
            r.lost,
        );
    }
    out.push_str(&style.dim(
        "real PostgreSQL (a primary and a streaming replica on loopback, removed afterwards), the core's promoter, \
         a 5 s lease; a write is acknowledged once its INSERT committed, through its Region's write fence. \
         missing: acknowledged writes not on the final writer (a planned move must show 0).\n",
    ));
    out
}
