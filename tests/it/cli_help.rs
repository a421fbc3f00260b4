//! `--help`: every argument of every subcommand says what it is, and the exit codes are shown.

use crate::common;

use clap::CommandFactory;
use common::*;
use trailaudit::cli::Cli;

/// Arguments without help, as `trailaudit sub sub --arg`, over the whole command tree.
fn blank_help(cmd: &clap::Command, path: &str, blank: &mut Vec<String>) {
    for arg in cmd.get_arguments() {
        let text = |s: Option<&clap::builder::StyledStr>| {
            s.map(|s| s.to_string().trim().to_string())
                .unwrap_or_default()
        };
        if text(arg.get_help()).is_empty() && text(arg.get_long_help()).is_empty() {
            blank.push(format!("{path} {}", arg.get_id()));
        }
    }
    for sub in cmd.get_subcommands() {
        blank_help(sub, &format!("{path} {}", sub.get_name()), blank);
    }
}

#[test]
fn every_argument_of_every_subcommand_has_help() {
    let mut cmd = Cli::command();
    // Built, the tree has clap's own --help, --version and `help` subcommands too.
    cmd.build();
    let mut blank = Vec::new();
    blank_help(&cmd, "trailaudit", &mut blank);
    assert!(blank.is_empty(), "arguments without help: {blank:?}");
    // The walk sees positional arguments and nested subcommands.
    let explain = cmd
        .find_subcommand("policy")
        .and_then(|p| p.find_subcommand("explain"))
        .unwrap();
    assert!(explain.get_positionals().any(|a| a.get_id() == "id"));
}

#[test]
fn help_shows_the_exit_codes() {
    for args in [vec!["--help"], vec!["audit", "--help"]] {
        let run = trailaudit(args.clone());
        assert_eq!(run.code, 0, "{args:?}");
        for line in ["Exit codes:", "  0  ", "  1  ", "  2  usage error"] {
            assert!(run.stdout.contains(line), "{args:?}: {}", run.stdout);
        }
    }
}

#[test]
fn verify_from_says_it_selects_digests() {
    let run = trailaudit(["verify", "--help"]);
    let from = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("--from"))
        .unwrap();
    assert!(from.contains("Only digests"), "{from}");
}
