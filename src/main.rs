//! The `patchbay` binary: `serve` (default), `check`, `translate`.

mod allocator;
mod global_alloc;

use clap::{Parser, Subcommand};
use patchbay::dialect::DialectId;
use patchbay::translate::{default_path, offline, Offline, Pair, Policy};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: a request allocates and frees many small buffers
/// (header maps, JSON values, bodies) from the same thread, which glibc's bins serve with
/// noticeably more work (+12 % req/s measured: `docs/benchmarks.md`, "Against the targets");
/// entered through its plain entry points where the alignment allows (`global_alloc`).
#[global_allocator]
static ALLOCATOR: global_alloc::Mimalloc = global_alloc::Mimalloc;

#[derive(Parser)]
#[command(
    name = "patchbay",
    version,
    about = "Translation gateway for customer-update APIs"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (the default when no command is given).
    Serve {
        /// The configuration file.
        #[arg(short = 'c', long = "config", default_value = "gateway.toml")]
        config: PathBuf,
        /// Take over the listening sockets of a running gateway (Pingora graceful upgrade).
        #[arg(short = 'u', long)]
        upgrade: bool,
        /// Run in the background (Pingora daemon mode).
        #[arg(short = 'd', long)]
        daemon: bool,
    },
    /// Validate a configuration file: print every problem with its key path.
    Check {
        /// The configuration file.
        file: PathBuf,
        /// Check secret references (`*_env`, `*_file`) without reading them, so a CI job can
        /// validate a production file without its secrets.
        #[arg(long)]
        no_secrets: bool,
    },
    /// Translate one client request body (stdin) offline and print what would be sent upstream,
    /// or the error the client would get.
    Translate {
        /// Client dialect.
        #[arg(long, value_parser = parse_dialect)]
        from: DialectId,
        /// Upstream dialect.
        #[arg(long, value_parser = parse_dialect)]
        to: DialectId,
        /// The customer as the upstream holds it (canonical JSON), for translations that need it.
        #[arg(long)]
        state: Option<PathBuf>,
        /// Unmappable policy.
        #[arg(long, default_value = "reject", value_parser = parse_policy)]
        policy: Policy,
        /// Client method (default: the dialect's update method).
        #[arg(long)]
        method: Option<String>,
        /// Client path (default: the dialect's update path for customer 100).
        #[arg(long)]
        path: Option<String>,
        /// Query string, without `?`.
        #[arg(long)]
        query: Option<String>,
        /// Type for entries created from single-slot values.
        #[arg(long, default_value = "work")]
        default_entry_type: String,
    },
}

fn parse_dialect(s: &str) -> Result<DialectId, String> {
    DialectId::parse(s).ok_or_else(|| {
        let known: Vec<&str> = DialectId::ALL.into_iter().map(DialectId::as_str).collect();
        format!("unknown dialect {s:?} ({})", known.join(", "))
    })
}

fn parse_policy(s: &str) -> Result<Policy, String> {
    Policy::parse(s).ok_or_else(|| format!("unknown policy {s:?} (reject, drop)"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve {
        config: PathBuf::from("gateway.toml"),
        upgrade: false,
        daemon: false,
    }) {
        Command::Serve {
            config,
            upgrade,
            daemon,
        } => {
            // A thread does not survive Pingora's fork into the background (`daemon`): there the
            // memory of closed connections is returned by later allocator calls only.
            if !daemon {
                allocator::spawn_trimmer();
            }
            patchbay::server::serve(&config, upgrade, daemon)
        }
        Command::Check { file, no_secrets } => {
            let (report, ok) = patchbay::config::check_file_with(&file, !no_secrets);
            // A report, not output: stdout stays free for tools that pipe it.
            eprint!("{report}");
            if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Command::Translate {
            from,
            to,
            state,
            policy,
            method,
            path,
            query,
            default_entry_type,
        } => {
            let mut body = Vec::new();
            if let Err(e) = std::io::stdin().read_to_end(&mut body) {
                eprintln!("cannot read stdin: {e}");
                return ExitCode::FAILURE;
            }
            let state = match state.map(|p| {
                std::fs::read(&p)
                    .map_err(|e| format!("{}: {e}", p.display()))
                    .and_then(|b| {
                        serde_json::from_slice(&b).map_err(|e| format!("{}: {e}", p.display()))
                    })
            }) {
                None => None,
                Some(Ok(s)) => Some(s),
                Some(Err(e)) => {
                    eprintln!("--state {e}");
                    return ExitCode::FAILURE;
                }
            };
            let (m, p) = default_path(from);
            let pair = Pair {
                client: from,
                upstream: to,
                policy,
                default_entry_type: &default_entry_type,
            };
            let result = offline(
                &pair,
                method.as_deref().unwrap_or(m),
                path.as_deref().unwrap_or(p),
                query.as_deref(),
                &body,
                state.as_ref(),
            );
            println!(
                "{}",
                serde_json::to_string_pretty(&result).unwrap_or_default()
            );
            match result {
                Offline::Forward { .. } => ExitCode::SUCCESS,
                Offline::NeedsState { reason } => {
                    eprintln!(
                        "this translation needs the customer's current state ({}): pass --state FILE",
                        reason.as_str()
                    );
                    ExitCode::from(3)
                }
                Offline::Error { .. } => ExitCode::from(2),
            }
        }
    }
}
