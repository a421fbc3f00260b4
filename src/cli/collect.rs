//! `trailaudit collect`: the evidence directory, live through the AWS SDK.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};

use super::Status;
use crate::collect::{self, Options, Progress, Summary};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Named profile of the AWS config and credentials files, SSO and credential_process
    /// profiles included (else the default chain: environment, default profile, container or
    /// instance credentials).
    #[arg(long)]
    profile: Option<String>,
    /// Region to collect; repeat or list several (`--region us-east-1 eu-west-1`). Default: the
    /// configured region.
    #[arg(long = "region", num_args = 1..)]
    regions: Vec<String>,
    /// Every region enabled for the account (account:ListRegions).
    #[arg(long)]
    all_regions: bool,
    /// Send every request to this endpoint (an emulator, a VPC endpoint).
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Window of --lookup-events and --logs-from-bucket, back from now: `90d`, `12h`, `30m`,
    /// `2w`.
    #[arg(long, default_value = "90d", value_parser = parse_since)]
    since: Duration,
    /// Also collect the event history through LookupEvents (management events, at most 90
    /// days, 2 requests per second per region).
    #[arg(long)]
    lookup_events: bool,
    /// Also download the trails' log files and digest files (with their signatures) for the
    /// window, and CloudTrail's public keys, from the trail buckets.
    #[arg(long)]
    logs_from_bucket: bool,
    /// The evidence directory; the account's files go under DIR/<account>/.
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// Regions collected at the same time.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    concurrency: u16,
}

fn parse_since(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{text:?}: expected a number and a unit: 90d, 12h, 30m, 2w"))?;
    let secs = match unit {
        "w" => 7 * 86400,
        "d" => 86400,
        "h" => 3600,
        "m" => 60,
        _ => return Err(format!("{text:?}: the unit is one of w, d, h, m")),
    };
    if n == 0 {
        return Err(format!("{text:?}: the window is empty"));
    }
    Ok(Duration::from_secs(n.saturating_mul(secs)))
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn start(&self, steps: u64) {
        self.0.set_length(steps);
    }
    fn step(&self, what: &str) {
        self.0.set_message(what.to_string());
        self.0.inc(1);
    }
}

pub fn run(args: &Args, quiet: bool) -> anyhow::Result<Status> {
    if args.all_regions && !args.regions.is_empty() {
        bail!("--all-regions and --region exclude each other");
    }
    std::fs::create_dir_all(&args.output)
        .with_context(|| format!("cannot create {}", args.output.display()))?;
    let opts = Options {
        profile: args.profile.clone(),
        regions: args.regions.clone(),
        all_regions: args.all_regions,
        endpoint_url: args.endpoint_url.clone(),
        since: args.since,
        lookup_events: args.lookup_events,
        logs_from_bucket: args.logs_from_bucket,
        out: args.output.clone(),
        concurrency: usize::from(args.concurrency),
    };
    let bar = if !quiet && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} collecting [{bar:30}] {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let progress: Arc<dyn Progress> = Arc::new(Bar(bar.clone()));
    let summary = runtime.block_on(collect::run(&opts, progress));
    bar.finish_and_clear();
    let summary = summary?;
    if !quiet {
        eprint!("{}", report(&summary, &args.output));
    }
    Ok(if summary.gaps.is_empty() {
        Status::Clean
    } else {
        Status::Error
    })
}

fn report(s: &Summary, dir: &std::path::Path) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "Collected account {}: {} region(s) ({}), {} trail(s), {} bucket(s): {} files under {}",
        s.account,
        s.regions.len(),
        s.regions.join(", "),
        s.trails,
        s.buckets.len(),
        s.files,
        s.root.display()
    );
    if !s.lookup_dirs.is_empty() {
        let _ = writeln!(t, "LookupEvents: {} events", s.lookup_events);
    }
    if s.logs_dir.is_some() {
        let _ = writeln!(
            t,
            "Trail buckets: {} log files, {} digest files",
            s.log_files, s.digest_files
        );
    }
    if s.answers > 0 {
        let _ = writeln!(
            t,
            "{} call(s) answered \"not configured\" (no bucket policy, no insight selectors, ...): recorded as facts",
            s.answers
        );
    }
    if s.gaps.is_empty() {
        let _ = writeln!(t, "Every call succeeded: the evidence is complete.");
    } else {
        let _ = writeln!(
            t,
            "{} call(s) failed: the evidence is partial (exit 2); `audit` lists these as collection gaps:",
            s.gaps.len()
        );
        for g in &s.gaps {
            let rel = g.path.strip_prefix(&s.root).unwrap_or(&g.path);
            let _ = writeln!(t, "  {}  {}  {}", rel.display(), g.code, g.operation);
        }
    }
    let quote = |p: &std::path::Path| {
        let s = p.display().to_string();
        if s.contains(|c: char| c.is_whitespace() || "'\"$`\\".contains(c)) {
            format!("'{}'", s.replace('\'', r"'\''"))
        } else {
            s
        }
    };
    let mut logs: Vec<String> = s.logs_dir.iter().map(|p| quote(p)).collect();
    logs.extend(s.lookup_dirs.iter().map(|p| quote(p)));
    let _ = writeln!(t, "Audit it with:");
    let _ = writeln!(t, "  trailaudit audit --config {}", quote(dir));
    if logs.is_empty() {
        let _ = writeln!(
            t,
            "  trailaudit audit --config {} --logs <the trail's log files>",
            quote(dir)
        );
    } else {
        let _ = writeln!(
            t,
            "  trailaudit audit --config {} --logs {}",
            quote(dir),
            logs.join(" ")
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_number_and_a_unit() {
        assert_eq!(parse_since("90d"), Ok(Duration::from_secs(90 * 86400)));
        assert_eq!(parse_since("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_since("2w"), Ok(Duration::from_secs(14 * 86400)));
        assert!(parse_since("90").is_err());
        assert!(parse_since("0d").is_err());
        assert!(parse_since("d").is_err());
    }
}
