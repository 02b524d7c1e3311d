//! stopctl: drill the failover on a laptop, or drive and check a deployed one.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;
use stop_core::Config;
use stop_core::readiness::Expectations;
use stop_sim::budget::{self, Parameters};
use stopctl::remote::{self, Failure, Press};
use stopctl::render::{self, Style, say};
use stopctl::{exit, local};

/// `println!` and `print!` through [`say`]: a closed pipe ends no command with a panic.
macro_rules! sayln {
    () => { say("\n") };
    ($($arg:tt)*) => { say(&format!("{}\n", format_args!($($arg)*))) };
}
macro_rules! say_ {
    ($($arg:tt)*) => { say(&format!($($arg)*)) };
}

#[derive(Parser)]
#[command(
    name = "stopctl",
    version,
    about = "Fail a serverless application over to its standby Region and back: drill it on a laptop, drive and check it in AWS."
)]
struct Cli {
    /// Print JSON instead of text (every command).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run failover scenarios in the two-Region simulation: timeline, RTO, RPO, invariants.
    Drill {
        /// Scenario numbers or names; every scenario of the library (`--list`) when none is given.
        scenarios: Vec<String>,
        /// The seed of the simulation; the same seed gives the same run.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Only the summary table, no timelines.
        #[arg(long)]
        quiet: bool,
        /// List the scenarios and exit.
        #[arg(long)]
        list: bool,
        /// The database: the simulation's model (every scenario), or real
        /// PostgreSQL servers started on loopback for the planned moves
        /// (Debian's `postgresql`; about 20 s a scenario).
        #[arg(long, value_enum, default_value_t = Engine::Model)]
        engine: Engine,
    },
    /// Serve the simulated world on localhost: the demo endpoint and the operator console.
    Local {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Virtual seconds per wall-clock second.
        #[arg(long, default_value_t = 10.0, value_parser = positive)]
        speed: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The anti-flap cooldown between moves, in virtual seconds.
        #[arg(long, default_value_t = 300)]
        cooldown: u32,
        /// Stop after this many wall-clock seconds (default: at Ctrl-C).
        #[arg(long, value_parser = positive)]
        for_seconds: Option<f64>,
        /// The database: the simulated world (virtual time, every fault), or
        /// a real PostgreSQL pair on loopback, driven by hand (wall-clock
        /// time; `--speed`, `--seed` and `--cooldown` do not apply).
        #[arg(long, value_enum, default_value_t = Engine::Model)]
        engine: Engine,
    },
    /// The decision, the switches and the steps, from the deployed operator API.
    Status {
        #[command(flatten)]
        api: Api,
        #[arg(long)]
        service: Option<String>,
    },
    /// Press Failover on the deployed operator API.
    Failover(PressArgs),
    /// Press Failback on the deployed operator API.
    Failback(PressArgs),
    /// Ask for the data tier to be re-protected after a move (a new
    /// cross-Region replica of the writer; Aurora: the old Region rejoining).
    Reprotect {
        #[command(flatten)]
        api: Api,
        /// Why: it goes into the decision record and the audit log.
        #[arg(long)]
        reason: String,
        #[arg(long)]
        service: Option<String>,
    },
    /// Request URL every interval; print the time, the Region that answered and the latency.
    Watch {
        url: String,
        /// Seconds between requests.
        #[arg(long, default_value_t = 1.0, value_parser = positive)]
        interval: f64,
        /// Stop after this many requests (default: at Ctrl-C).
        #[arg(long)]
        count: Option<u64>,
    },
    /// The STOP alarm's state and the metric's last value, polled in the standby Region.
    Monitor {
        #[command(flatten)]
        env: EnvFile,
        #[arg(long, default_value_t = 10.0, value_parser = positive)]
        interval: f64,
        #[arg(long)]
        count: Option<u64>,
    },
    /// The runbook and the modeled RTO budget, STOP path against ARC path.
    Plan {
        /// The STOP alarm's period in seconds (template: 60).
        #[arg(long, default_value_t = 60)]
        alarm_period: i64,
        #[arg(long, default_value_t = 1)]
        evaluation_periods: i64,
        /// The failover record's TTL (alias to API Gateway: 60).
        #[arg(long, default_value_t = 60)]
        ttl: i64,
        #[arg(long, value_enum, default_value_t = DbKind::RdsReplica)]
        db: DbKind,
        /// The detector's probe interval in seconds (template ProbeIntervalSeconds: 30).
        #[arg(long, default_value_t = 30)]
        probe_interval: i64,
        /// Failed probes in a row that count as down (template ProbeFailures: 3).
        #[arg(long, default_value_t = 3)]
        probe_failures: i64,
    },
    /// Readiness of the standby: record, alarm, routing controls, replica and lag, group, secret.
    Check {
        #[command(flatten)]
        env: EnvFile,
    },
    /// What `sam delete` leaves behind (re-protect copies and old writers, the
    /// ARC stack, retained log groups, the SSM records), each with its monthly
    /// cost: a plan; `--yes` removes all but the current writer.
    Cleanup {
        #[command(flatten)]
        env: EnvFile,
        /// A deleted stack whose retained log groups to find (repeat for each).
        #[arg(long = "stack")]
        stacks: Vec<String>,
        /// The ARC stack (arc.yaml), if one was deployed.
        #[arg(long)]
        arc_stack: Option<String>,
        #[arg(long, default_value = "us-west-2")]
        arc_region: String,
        /// Remove what the plan lists.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum DbKind {
    RdsReplica,
    AuroraGlobal,
}

#[derive(clap::Args)]
struct Api {
    /// The operator API's base URL (the SECONDARY stack's OperatorApiUrl output).
    #[arg(long, env = "STOP_API")]
    api: String,
    /// A Cognito ID token of a user in the operators group.
    #[arg(long, env = "STOP_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Seconds to wait for an answer.
    #[arg(long, default_value_t = 30.0, value_parser = positive)]
    timeout: f64,
}

#[derive(clap::Args)]
struct PressArgs {
    #[command(flatten)]
    api: Api,
    /// Why: it goes into the decision record and the audit log.
    #[arg(long)]
    reason: String,
    #[arg(long, value_parser = ["graceful", "ungraceful"], default_value = "graceful")]
    mode: String,
    #[arg(long)]
    service: Option<String>,
    /// Show what would change; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Skip the anti-flap cooldown and, if allowed, break glass on ARC safety rules.
    #[arg(long)]
    override_safety: bool,
    /// Move although the data tier is not re-protected: the writes made since
    /// the last move stay behind in the Region being left.
    #[arg(long)]
    accept_data_loss: bool,
}

#[derive(clap::Args)]
struct EnvFile {
    /// KEY=VALUE lines with the standby stack's settings (as the functions get
    /// them); the environment fills in the rest.
    #[arg(long)]
    env_file: Option<PathBuf>,
}

fn positive(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v),
        _ => Err(format!("{text:?} is not a positive number")),
    }
}

fn print_json(value: &impl serde::Serialize) {
    let text =
        serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    say(&format!("{text}\n"));
}

fn fail(code: u8, message: &str, as_json: bool) -> ExitCode {
    if as_json {
        print_json(&json!({"error": message}));
    } else {
        eprintln!("stopctl: {message}");
    }
    ExitCode::from(code)
}

fn load_config(env: &EnvFile) -> Result<Config, String> {
    let vars = env_vars(env)?;
    Config::from_lookup(|k| vars.get(k).cloned().or_else(|| std::env::var(k).ok()))
        .map_err(|e| format!("configuration: {e}"))
}

/// The env file's KEY=VALUE lines.
fn env_vars(env: &EnvFile) -> Result<HashMap<String, String>, String> {
    let mut vars = HashMap::new();
    if let Some(path) = &env.env_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| format!("{}: not KEY=VALUE: {line:?}", path.display()))?;
            vars.insert(key.trim().to_owned(), value.trim().to_owned());
        }
    }
    Ok(vars)
}

/// What readiness holds the standby to, from the same env file.
fn load_expectations(env: &EnvFile) -> Result<Expectations, String> {
    let vars = env_vars(env)?;
    Expectations::from_lookup(|k| vars.get(k).cloned().or_else(|| std::env::var(k).ok()))
}

/// What `stopctl drill` runs the database on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Engine {
    /// The simulation's model of RDS and Aurora.
    Model,
    /// Real PostgreSQL servers on this machine.
    Postgres,
}

/// `stopctl drill --engine postgres`: the planned moves on a real pair.
fn drill_postgres(scenarios: &[String], quiet: bool, list: bool, as_json: bool) -> ExitCode {
    let style = Style::detect();
    let selected = match stop_pg::drill::select(scenarios) {
        Ok(selected) => selected,
        Err(e) => return fail(exit::USAGE, &e, as_json),
    };
    if list {
        for s in &selected {
            sayln!("{:<24} {}", s.name, s.summary);
        }
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(exit::FAILED, &e.to_string(), as_json),
    };
    let mut reports = Vec::new();
    for scenario in &selected {
        if !as_json {
            sayln!(
                "{}",
                style.dim(&format!(
                    "{}: starting a PostgreSQL primary and its streaming replica…",
                    scenario.name
                ))
            );
        }
        let sabotage = stop_pg::drill::Sabotage::default();
        let report = match runtime.block_on(stop_pg::drill::run(scenario, sabotage)) {
            Ok(report) => report,
            Err(e) => return fail(exit::FAILED, &e, as_json),
        };
        if !as_json && !quiet {
            say_!("{}", render::pg_scenario(&report, style));
        }
        reports.push(report);
    }
    let passed = reports.iter().all(|r| r.passed);
    if as_json {
        print_json(&json!({"engine": "postgres", "passed": passed, "scenarios": reports}));
    } else {
        say_!("{}", render::pg_summary(&reports, style));
        sayln!(
            "{} of {} real-engine scenarios hold every check.",
            reports.iter().filter(|r| r.passed).count(),
            reports.len()
        );
    }
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::FAILED)
    }
}

fn drill(scenarios: &[String], seed: u64, quiet: bool, list: bool, as_json: bool) -> ExitCode {
    let style = Style::detect();
    let selected = match stop_sim::select(scenarios) {
        Ok(selected) => selected,
        Err(e) => return fail(exit::USAGE, &e, as_json),
    };
    if list {
        for s in &selected {
            sayln!("{:>2} {:<23} {}", s.id, s.name, s.summary);
        }
        return ExitCode::SUCCESS;
    }
    let mut reports = Vec::new();
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(e) => return fail(exit::FAILED, &e.to_string(), as_json),
    };
    for scenario in &selected {
        let report = match runtime.block_on(stop_sim::run(scenario, seed)) {
            Ok(report) => report,
            Err(e) => return fail(exit::FAILED, &e, as_json),
        };
        if !as_json && !quiet {
            say_!("{}", render::scenario(&report, style));
        }
        reports.push(report);
    }
    let passed = reports.iter().all(|r| r.passed);
    if as_json {
        print_json(&json!({"seed": seed, "passed": passed, "scenarios": reports}));
    } else {
        say_!("{}", render::summary(&reports, style));
        let ok = reports.iter().filter(|r| r.passed).count();
        sayln!(
            "{} of {} scenarios hold every invariant (seed {seed}).",
            ok,
            reports.len()
        );
    }
    if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::FAILED)
    }
}

fn plan(p: Parameters, db: DbKind, as_json: bool) -> ExitCode {
    let db = match db {
        DbKind::RdsReplica => "rds-replica",
        DbKind::AuroraGlobal => "aurora-global",
    };
    let budgets = [
        budget::detection(&p),
        budget::stop_path(&p),
        budget::arc_path(&p),
        budget::data_tier(&p, db),
    ];
    if as_json {
        print_json(&json!({"parameters": p, "database": db, "budgets": budgets}));
        return ExitCode::SUCCESS;
    }
    let style = Style::detect();
    sayln!("{}", style.bold("The runbook (standby Region only):"));
    // The runbook module's table, the one the promoter walks.
    for stage in &stop_core::runbook::RUNBOOK {
        sayln!(
            "  {}. {} ({}; {}): {}.",
            stage.number,
            stage.name,
            stage.owner,
            stage.budget,
            stage.summary
        );
    }
    sayln!(
        "\n{}",
        style.bold("Modeled budget (template defaults unless overridden):")
    );
    for b in &budgets {
        say_!("{}", render::budget(b, style));
    }
    sayln!(
        "{}",
        style.dim("An automatic failover adds detection before the STOP path; traffic moves on the STOP or ARC budget; writes on the last. Seeds for comparison: seed 000 \"a few minutes\" per step; seed 002 a 15-minute target.")
    );
    ExitCode::SUCCESS
}

async fn cleanup(scope: &stopctl::cleanup::Scope, yes: bool, as_json: bool) -> ExitCode {
    let mut configs = HashMap::new();
    for region in [&scope.primary, &scope.standby]
        .into_iter()
        .chain(scope.witness.as_ref())
        .chain(scope.arc_stack.as_ref().map(|(r, _)| r))
    {
        let Ok(parsed) = region.parse::<stop_core::Region>() else {
            return fail(exit::USAGE, &format!("not a Region: {region}"), as_json);
        };
        configs.insert(region.clone(), stop_aws::sdk_config(&parsed).await);
    }
    let sdk = |region: &str| {
        configs
            .get(region)
            .cloned()
            .unwrap_or_else(|| configs[&scope.standby].clone())
    };
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day][hour][minute]"
        ))
        .unwrap_or_default();
    let survey = match stopctl::cleanup::survey(scope, sdk, &stamp).await {
        Ok(survey) => survey,
        Err(e) => return fail(exit::UNREACHABLE, &e, as_json),
    };
    let plan = stop_core::cleanup::plan(&survey);
    if !yes {
        if as_json {
            print_json(&json!({"plan": plan, "monthly_savings_usd": plan.monthly_savings_usd()}));
        } else {
            say(&stopctl::cleanup::render(&plan, false));
        }
        return ExitCode::SUCCESS;
    }
    let done = stopctl::cleanup::remove(&plan, sdk).await;
    let failures: Vec<String> = done
        .iter()
        .filter_map(|(l, r)| {
            r.as_ref()
                .err()
                .map(|e| format!("{} {}: {e}", l.region, l.name))
        })
        .collect();
    if as_json {
        print_json(
            &json!({"plan": plan, "removed": done.len() - failures.len(), "failed": failures}),
        );
    } else {
        say(&stopctl::cleanup::render(&plan, true));
        for failure in &failures {
            eprintln!("stopctl: not removed: {failure}");
        }
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::FAILED)
    }
}

async fn check(env: &EnvFile, as_json: bool) -> ExitCode {
    let (config, expect) = match load_config(env).and_then(|c| Ok((c, load_expectations(env)?))) {
        Ok(loaded) => loaded,
        Err(e) => return fail(exit::USAGE, &e, as_json),
    };
    let sdk = stop_aws::sdk_config(&config.region).await;
    let readers = stop_aws::readiness::StandbyReaders::new(&sdk, &config);
    let standby = readers.standby(&config, expect);
    let state = &readers.state;
    let report = standby.check().await;
    let scheduled = stop_core::readiness::last_report(&config, state)
        .await
        .ok()
        .flatten();
    let ready = report.ready;
    let findings = &report.findings;
    if as_json {
        print_json(&json!({
            "region": config.region.to_string(),
            "ready": ready,
            "checks": findings,
            "scheduled": scheduled,
        }));
    } else {
        let style = Style::detect();
        say_!("{}", render::readiness(&report, style));
        if let Some(last) = &scheduled {
            sayln!(
                "{}",
                style.dim(&format!(
                    "The scheduled readiness run at {} found {} of {} checks failing.",
                    last.checked_at,
                    last.failed().count(),
                    last.findings.len()
                ))
            );
        }
    }
    // Every failing check failing to read means AWS was out of reach, not that
    // the standby is unready (a check from the configuration alone may pass).
    let mut failed = findings.iter().filter(|f| !f.ok).peekable();
    if failed.peek().is_some() && failed.all(|f| f.unreachable) {
        return ExitCode::from(exit::UNREACHABLE);
    }
    if ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::FAILED)
    }
}

async fn monitor(env: &EnvFile, interval: f64, count: Option<u64>, as_json: bool) -> ExitCode {
    use stop_core::ports::StopSwitch;
    let config = match load_config(env) {
        Ok(config) => config,
        Err(e) => return fail(exit::USAGE, &e, as_json),
    };
    let switches: Vec<_> = config
        .services
        .iter()
        .filter_map(|s| s.stop_metric.clone().map(|m| (s.name.clone(), m)))
        .collect();
    if switches.is_empty() {
        return fail(
            exit::USAGE,
            "no service has a STOP metric configured",
            as_json,
        );
    }
    let sdk = stop_aws::sdk_config(&config.region).await;
    let stop =
        stop_aws::stop_metric::CloudWatchStopSwitch::new(aws_sdk_cloudwatch::Client::new(&sdk));
    let mut n = 0;
    let mut unreachable = false;
    loop {
        for (service, switch) in &switches {
            let read = stop.read(switch, service).await;
            unreachable = read.is_err();
            let now = time::OffsetDateTime::now_utc();
            if as_json {
                let line = match &read {
                    Ok(s) => {
                        json!({"at": now.unix_timestamp(), "service": service, "alarm": s.alarm_state, "last_value": s.last_value})
                    }
                    Err(e) => {
                        json!({"at": now.unix_timestamp(), "service": service, "error": e.to_string()})
                    }
                };
                sayln!("{line}");
            } else {
                match &read {
                    Ok(s) => sayln!(
                        "{} {service} {} {:?} last value {:?}",
                        now.time(),
                        switch.alarm_name,
                        s.alarm_state,
                        s.last_value
                    ),
                    Err(e) => sayln!(
                        "{} {service} {} unreadable: {e}",
                        now.time(),
                        switch.alarm_name
                    ),
                }
            }
        }
        n += 1;
        if count.is_some_and(|c| n >= c) {
            break;
        }
        tokio::time::sleep(Duration::from_secs_f64(interval)).await;
    }
    if unreachable {
        ExitCode::from(exit::UNREACHABLE)
    } else {
        ExitCode::SUCCESS
    }
}

async fn watch(url: &str, interval: f64, count: Option<u64>, as_json: bool) -> ExitCode {
    let http = match remote::client(Duration::from_secs(5)) {
        Ok(http) => http,
        Err(f) => return fail(f.code, &f.message, as_json),
    };
    if reqwest::Url::parse(url).is_err() {
        return fail(exit::USAGE, &format!("{url:?} is not a URL"), as_json);
    }
    let style = Style::detect();
    let mut n = 0;
    let mut last_region: Option<String> = None;
    let mut all_failed = true;
    loop {
        let probe = remote::probe(&http, url).await;
        all_failed &= probe.error.is_some();
        if as_json {
            sayln!("{}", serde_json::to_string(&probe).unwrap_or_default());
        } else {
            let region = probe.region.clone().unwrap_or_else(|| "-".into());
            let moved = last_region.as_ref().is_some_and(|r| *r != region);
            let region_text = if moved {
                style.bold(&region)
            } else {
                region.clone()
            };
            match &probe.error {
                None => sayln!(
                    "{}  {:<14} {:>3}  {:>7.1} ms{}",
                    probe.at,
                    region_text,
                    probe.status.unwrap_or(0),
                    probe.latency_ms,
                    if moved { "  ← moved" } else { "" }
                ),
                Some(e) => sayln!("{}  {}", probe.at, style.bad(&format!("error: {e}"))),
            }
            last_region = Some(region);
        }
        n += 1;
        if count.is_some_and(|c| n >= c) {
            break;
        }
        tokio::time::sleep(Duration::from_secs_f64(interval)).await;
    }
    if all_failed {
        ExitCode::from(exit::UNREACHABLE)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_answer(result: Result<remote::ApiAnswer, Failure>, as_json: bool) -> ExitCode {
    match result {
        Ok(answer) => {
            if as_json {
                print_json(&answer);
            } else {
                sayln!("{}", remote::describe(&answer));
            }
            ExitCode::from(answer.exit_code())
        }
        Err(f) => fail(f.code, &f.message, as_json),
    }
}

async fn press(args: &PressArgs, path: &str, as_json: bool) -> ExitCode {
    let http = match remote::client(Duration::from_secs_f64(args.api.timeout)) {
        Ok(http) => http,
        Err(f) => return fail(f.code, &f.message, as_json),
    };
    let body = Press {
        service: args.service.clone(),
        reason: args.reason.clone(),
        mode: args.mode.clone(),
        dry_run: args.dry_run,
        override_safety: args.override_safety,
        accept_data_loss: args.accept_data_loss,
    };
    let result = remote::press(&http, &args.api.api, args.api.token.as_deref(), path, &body).await;
    print_answer(result, as_json)
}

async fn reprotect(api: &Api, reason: &str, service: Option<&str>, as_json: bool) -> ExitCode {
    let http = match remote::client(Duration::from_secs_f64(api.timeout)) {
        Ok(http) => http,
        Err(f) => return fail(f.code, &f.message, as_json),
    };
    let body = json!({"reason": reason, "service": service});
    let result = remote::post(&http, &api.api, api.token.as_deref(), "/reprotect", &body).await;
    print_answer(result, as_json)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let as_json = cli.json;
    match cli.command {
        Command::Drill {
            scenarios,
            quiet,
            list,
            engine: Engine::Postgres,
            ..
        } => drill_postgres(&scenarios, quiet, list, as_json),
        Command::Drill {
            scenarios,
            seed,
            quiet,
            list,
            engine: Engine::Model,
        } => drill(&scenarios, seed, quiet, list, as_json),
        Command::Plan {
            alarm_period,
            evaluation_periods,
            ttl,
            db,
            probe_interval,
            probe_failures,
        } => plan(
            Parameters {
                alarm_period_s: alarm_period,
                evaluation_periods,
                dns_ttl_s: ttl,
                probe_interval_s: probe_interval,
                probe_failures,
                ..Parameters::default()
            },
            db,
            as_json,
        ),
        command => match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(remote_command(command, as_json)),
            Err(e) => fail(exit::FAILED, &e.to_string(), as_json),
        },
    }
}

async fn remote_command(command: Command, as_json: bool) -> ExitCode {
    match command {
        Command::Local {
            port,
            for_seconds,
            engine: Engine::Postgres,
            ..
        } => match stopctl::local_pg::run(port, for_seconds, Style::detect()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(exit::FAILED, &e, as_json),
        },
        Command::Local {
            port,
            speed,
            seed,
            cooldown,
            for_seconds,
            engine: Engine::Model,
        } => match local::run(
            port,
            speed,
            seed,
            cooldown,
            for_seconds,
            Style::detect(),
            as_json,
        )
        .await
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(exit::USAGE, &e, as_json),
        },
        Command::Status { api, service } => {
            let http = match remote::client(Duration::from_secs_f64(api.timeout)) {
                Ok(http) => http,
                Err(f) => return fail(f.code, &f.message, as_json),
            };
            let result =
                remote::status(&http, &api.api, api.token.as_deref(), service.as_deref()).await;
            print_answer(result, as_json)
        }
        Command::Failover(args) => press(&args, "/failover", as_json).await,
        Command::Failback(args) => press(&args, "/failback", as_json).await,
        Command::Reprotect {
            api,
            reason,
            service,
        } => reprotect(&api, &reason, service.as_deref(), as_json).await,
        Command::Watch {
            url,
            interval,
            count,
        } => watch(&url, interval, count, as_json).await,
        Command::Monitor {
            env,
            interval,
            count,
        } => monitor(&env, interval, count, as_json).await,
        Command::Check { env } => check(&env, as_json).await,
        Command::Cleanup {
            env,
            stacks,
            arc_stack,
            arc_region,
            yes,
        } => {
            let config = match load_config(&env) {
                Ok(config) => config,
                Err(e) => return fail(exit::USAGE, &e, as_json),
            };
            let scope = stopctl::cleanup::Scope {
                service: config.service.clone(),
                primary: config.primary_region().to_string(),
                standby: config.standby_region().to_string(),
                witness: config.witness_region.as_ref().map(ToString::to_string),
                decision_prefix: config.decision_prefix.clone(),
                stacks,
                arc_stack: arc_stack.map(|name| (arc_region, name)),
            };
            cleanup(&scope, yes, as_json).await
        }
        Command::Drill { .. } | Command::Plan { .. } => ExitCode::from(exit::USAGE),
    }
}
