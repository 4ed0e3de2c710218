//! The command line: the only module that knows clap. One function per subcommand; each
//! returns `Result<(), CliError>` and `main` maps the error to a sysexits code.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::digest::{self, Digest, DigestItem, Footer};
use crate::explain;
use crate::extract;
use crate::score;
use crate::source::local;

/// sysexits(3) codes, documented in README.
pub mod exit {
    pub const OK: u8 = 0;
    pub const USAGE: u8 = 64;
    pub const DATAERR: u8 = 65;
    pub const NOINPUT: u8 = 66;
    pub const UNAVAILABLE: u8 = 69;
    pub const SOFTWARE: u8 = 70;
    pub const IOERR: u8 = 74;
    pub const TEMPFAIL: u8 = 75;
    pub const CONFIG: u8 = 78;
}

/// An error at the edge: a message for the user and the exit code.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
        }
    }
}

pub use crate::error_chain as chain;

#[derive(Parser, Debug)]
#[command(
    name = "invite-digest",
    version,
    about = "Watches a mailbox for LinkedIn invitations and sends one digest: accept, review or ignore, and why.",
    long_about = None,
    after_help = "Examples:\n  invite-digest preview examples/mailbox            # the demo digest, no account needed\n  invite-digest explain --format json mail.eml       # why a message got its verdict\n  invite-digest config check /etc/invite-digest/config.toml\n  invite-digest run --config /etc/invite-digest/config.toml\n\nExit codes: 0 ok, 64 usage, 65 bad input data, 66 no input, 69 service unavailable,\n75 temporary failure, 78 configuration error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show, for each message, its kind, authenticity, extracted fields, every reason and the verdict.
    #[command(
        after_help = "Examples:\n  invite-digest explain invitation.eml\n  invite-digest explain --format json ~/Maildir/cur | jq '.[] | select(.kind==\"invitation\")'\n\nA PATH may be a file, a directory of .eml files, a Maildir or an mbox."
    )]
    Explain(ExplainArgs),
    /// Render the digest that these messages would produce, without sending anything.
    #[command(
        after_help = "Examples:\n  invite-digest preview examples/mailbox\n  invite-digest preview --format html examples/mailbox > digest.html\n  invite-digest preview --format eml ~/mail.mbox > digest.eml"
    )]
    Preview(PreviewArgs),
    /// Validate a configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Fetch, classify and store new mail from every account, then print a summary.
    #[command(
        after_help = "Examples:\n  invite-digest poll --once --config /etc/invite-digest/config.toml\n\nExits 0 when every account was polled, 75 when a server could not be reached,\n69 when a login failed (wrong password, refused TLS)."
    )]
    Poll(PollArgs),
    /// Show what the next digest would contain (same rendering as preview).
    #[command(
        after_help = "Examples:\n  invite-digest pending\n  invite-digest pending --format html > next-digest.html"
    )]
    Pending(PendingArgs),
    /// Print the next firing times of the digest schedule in its time zone.
    #[command(after_help = "Examples:\n  invite-digest schedule --next 5")]
    Schedule(ScheduleArgs),
    /// Build and send the digest now (or write it to a file with --dry-run).
    #[command(
        after_help = "Examples:\n  invite-digest digest --now --dry-run > digest.eml   # nothing is sent or marked reported\n  invite-digest digest --now                          # send it now"
    )]
    Digest(DigestArgs),
    /// Run the daemon: poll every account and send digests on schedule.
    #[command(
        after_help = "Examples:\n  invite-digest run --config /etc/invite-digest/config.toml\n\nSignals: SIGTERM/SIGINT stop within a few seconds; SIGHUP reloads the config\n(an invalid new config is logged and the old one kept)."
    )]
    Run(RunArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell) to stdout.
    #[command(
        after_help = "Examples:\n  invite-digest completions bash > /usr/share/bash-completion/completions/invite-digest\n  invite-digest completions zsh > \"${fpath[1]}/_invite-digest\""
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout.
    #[command(
        after_help = "Examples:\n  invite-digest man > /usr/local/share/man/man1/invite-digest.1\n  invite-digest man | man -l -"
    )]
    Man,
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct PollArgs {
    #[command(flatten)]
    pub config: ConfigOpt,
    /// Poll once and exit (the daemon polls continuously; see `run`).
    #[arg(long, required = true)]
    pub once: bool,
}

#[derive(Args, Debug)]
pub struct PendingArgs {
    #[command(flatten)]
    pub config: ConfigOpt,
    #[arg(long, value_enum, default_value_t = PreviewFormat::Text)]
    pub format: PreviewFormat,
}

#[derive(Args, Debug)]
pub struct ScheduleArgs {
    #[command(flatten)]
    pub config: ConfigOpt,
    /// How many firing times to print.
    #[arg(long, default_value_t = 5)]
    pub next: usize,
}

#[derive(Args, Debug)]
pub struct DigestArgs {
    #[command(flatten)]
    pub config: ConfigOpt,
    /// Build the digest now instead of waiting for the schedule.
    #[arg(long, required = true)]
    pub now: bool,
    /// Write the exact email (.eml) instead of sending it; nothing is marked reported.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: write to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE", requires = "dry_run")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub config: ConfigOpt,
}

#[derive(Args, Debug)]
pub struct ConfigOpt {
    /// Configuration file (default: $INVITE_DIGEST_CONFIG, $CONFIGURATION_DIRECTORY/config.toml,
    /// $XDG_CONFIG_HOME/invite-digest/config.toml, /etc/invite-digest/config.toml).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub config: ConfigOpt,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    pub format: ExplainFormat,
    /// Messages to explain.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExplainFormat {
    Text,
    Json,
}

#[derive(Args, Debug)]
pub struct PreviewArgs {
    #[command(flatten)]
    pub config: ConfigOpt,
    /// Output format: the text part, the HTML part, or the whole email.
    #[arg(long, value_enum, default_value_t = PreviewFormat::Text)]
    pub format: PreviewFormat,
    /// Mail to build the digest from.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreviewFormat {
    Text,
    Html,
    Eml,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Check a config file: every error as FILE:LINE:COL: key.path: what is wrong (exit 78).
    #[command(
        after_help = "Examples:\n  invite-digest config check config/invite-digest.example.toml\n  invite-digest config check   # the default config location\n  invite-digest config check --connect /etc/invite-digest/config.toml   # also log in"
    )]
    Check(CheckArgs),
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The file to check (default: the usual config location).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Also log in to every IMAP account (and open its mailboxes) and to the SMTP server,
    /// and report each. Exits 69 or 75 when one fails.
    #[arg(long)]
    pub connect: bool,
}

/// Entry point used by `main.rs`.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    exit::OK
                }
                _ => exit::USAGE,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(e) => {
            eprintln!("invite-digest: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Explain(a) => cmd_explain(a),
        Command::Preview(a) => cmd_preview(a),
        Command::Config(ConfigCommand::Check(a)) => cmd_config_check(a),
        Command::Poll(a) => cmd_poll(a),
        Command::Pending(a) => cmd_pending(a),
        Command::Schedule(a) => cmd_schedule(a),
        Command::Digest(a) => cmd_digest(a),
        Command::Run(a) => cmd_run(a),
        Command::Completions(a) => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(a.shell, &mut cmd, "invite-digest", &mut std::io::stdout());
            Ok(())
        }
        Command::Man => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .map_err(|e| CliError::new(exit::IOERR, e.to_string()))?;
            std::io::stdout()
                .lock()
                .write_all(&out)
                .map_err(|e| CliError::new(exit::IOERR, e.to_string()))
        }
    }
}

/// The config file to use when none is given, in order of precedence.
pub fn default_config_path() -> PathBuf {
    if let Some(p) = std::env::var_os("INVITE_DIGEST_CONFIG") {
        return PathBuf::from(p);
    }
    if let Some(d) = std::env::var_os("CONFIGURATION_DIRECTORY") {
        return Path::new(&d).join("config.toml");
    }
    if let Some(d) = std::env::var_os("XDG_CONFIG_HOME") {
        let p = Path::new(&d).join("invite-digest/config.toml");
        if p.exists() {
            return p;
        }
    } else if let Some(h) = std::env::var_os("HOME") {
        let p = Path::new(&h).join(".config/invite-digest/config.toml");
        if p.exists() {
            return p;
        }
    }
    PathBuf::from("/etc/invite-digest/config.toml")
}

/// Loads the config for commands that need one.
fn load_config(opt: &ConfigOpt) -> Result<Config, CliError> {
    let path = opt.config.clone().unwrap_or_else(default_config_path);
    Config::load(&path).map_err(|e| CliError::new(exit::CONFIG, chain(&e)))
}

/// Offline commands work without a config: an explicit `--config` is loaded, otherwise a
/// config at the default location is used if there is one, else built-in defaults.
fn load_config_optional(opt: &ConfigOpt) -> Result<Config, CliError> {
    if opt.config.is_some() {
        return load_config(opt);
    }
    let path = default_config_path();
    if path.exists() {
        return load_config(&ConfigOpt { config: Some(path) });
    }
    Config::from_str("", None).map_err(|e| CliError::new(exit::SOFTWARE, chain(&e)))
}

fn extract_options(cfg: &Config) -> extract::Options {
    extract::Options {
        trusted_authserv_ids: cfg.authenticity.trusted_authserv_ids.clone(),
        extra_default_texts: cfg.notes.default_texts.clone(),
    }
}

fn rules(cfg: &Config) -> score::Rules<'_> {
    score::Rules {
        scoring: &cfg.scoring,
        filters: &cfg.filters,
        cues: &cfg.notes,
    }
}

fn read_all(paths: &[PathBuf]) -> Result<Vec<local::LocalMessage>, CliError> {
    let mut out = Vec::new();
    for p in paths {
        out.extend(local::read_path(p).map_err(|e| CliError::new(exit::NOINPUT, chain(&e)))?);
    }
    Ok(out)
}

fn cmd_explain(a: ExplainArgs) -> Result<(), CliError> {
    let cfg = load_config_optional(&a.config)?;
    let opts = extract_options(&cfg);
    let messages = read_all(&a.paths)?;
    let mut json = Vec::new();
    let mut stdout = std::io::stdout().lock();
    let mut failures = 0;
    for m in &messages {
        match extract::classify(&m.raw, &opts) {
            Ok(c) => {
                let j = score::judge(&c, rules(&cfg));
                match a.format {
                    ExplainFormat::Json => json.push(explain::to_json(&m.label, &c, j.as_ref())),
                    ExplainFormat::Text => {
                        let _ = writeln!(stdout, "{}", explain::to_text(&m.label, &c, j.as_ref()));
                    }
                }
            }
            Err(e) => {
                failures += 1;
                // One bad message never stops the rest.
                eprintln!("invite-digest: {}: {}", m.label, chain(&e));
                if a.format == ExplainFormat::Json {
                    json.push(explain::error_json(&m.label, &chain(&e)));
                }
            }
        }
    }
    if a.format == ExplainFormat::Json {
        let text = serde_json::to_string_pretty(&json)
            .map_err(|e| CliError::new(exit::SOFTWARE, e.to_string()))?;
        let _ = writeln!(stdout, "{text}");
    }
    if failures > 0 && failures == messages.len() {
        return Err(CliError::new(exit::DATAERR, "no message could be read"));
    }
    Ok(())
}

/// Classifies, judges and collates messages into digest items.
pub fn items_from_messages(cfg: &Config, messages: &[local::LocalMessage]) -> Vec<DigestItem> {
    let opts = extract_options(cfg);
    let classified: Vec<_> = messages
        .iter()
        .filter_map(|m| match extract::classify(&m.raw, &opts) {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("invite-digest: {}: {}", m.label, chain(&e));
                None
            }
        })
        .collect();
    digest::collate(classified)
        .into_iter()
        .filter_map(|(c, n)| {
            let j = score::judge(&c, rules(cfg))?;
            Some(DigestItem {
                classified: c,
                judgement: j,
                account: None,
                times_seen: n,
            })
        })
        .collect()
}

fn cmd_preview(a: PreviewArgs) -> Result<(), CliError> {
    let cfg = load_config_optional(&a.config)?;
    let messages = read_all(&a.paths)?;
    let items = items_from_messages(&cfg, &messages);
    let tz = cfg.digest.schedule.timezone();
    let now = chrono::Utc::now().with_timezone(&tz);
    let footer = Footer {
        generated: now.format("%a %-d %b %Y %H:%M %Z").to_string(),
        scans: vec![digest::ScanLine {
            account: "preview".into(),
            mailbox: a
                .paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            messages: messages.len() as u64,
        }],
        problems: Vec::new(),
    };
    let d = Digest::build(items, footer, &now.format("%-d %b").to_string());
    let out = render_for_format(
        &cfg,
        &d,
        a.format,
        &format!("preview.{}@invite-digest", now.timestamp()),
    )?;
    std::io::stdout()
        .lock()
        .write_all(&out)
        .map_err(|e| CliError::new(exit::IOERR, e.to_string()))
}

fn cmd_config_check(a: CheckArgs) -> Result<(), CliError> {
    let path = a.file.unwrap_or_else(default_config_path);
    match crate::config::check(&path) {
        Ok((cfg, warnings)) => {
            for w in warnings {
                eprintln!("{w}");
            }
            println!("{}: ok", path.display());
            if a.connect {
                check_connections(&cfg)
            } else {
                Ok(())
            }
        }
        Err(e) => {
            // The rendered error already has one FILE:LINE:COL line per problem.
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{e}");
            Err(CliError::new(
                exit::CONFIG,
                format!("{}: configuration is invalid", path.display()),
            ))
        }
    }
}

/// `config check --connect`: logs in everywhere, one line per account and for SMTP.
fn check_connections(cfg: &Config) -> Result<(), CliError> {
    let mut worst = exit::OK;
    let mut note = |transient: bool| {
        let code = if transient {
            exit::TEMPFAIL
        } else {
            exit::UNAVAILABLE
        };
        if worst != exit::UNAVAILABLE {
            worst = code;
        }
    };
    for acct in &cfg.accounts {
        let mut src = crate::source::imap::ImapSource::new(acct.clone());
        let result = src.connect().and_then(|()| {
            let mut counts = Vec::new();
            for m in &acct.mailboxes {
                let st = src.examine(m)?;
                counts.push(format!("{m} ({} messages)", st.exists));
            }
            Ok(counts)
        });
        src.logout();
        match result {
            Ok(counts) => println!("account \"{}\": ok: {}", acct.name, counts.join(", ")),
            Err(e) => {
                println!("account \"{}\": FAILED: {}", acct.name, chain(&e));
                note(e.is_transient());
            }
        }
    }
    if let Some(smtp) = &cfg.smtp {
        let rt = runtime()?;
        match rt.block_on(crate::send::check_login(smtp)) {
            Ok(()) => println!("smtp {}:{}: ok", smtp.host, smtp.port),
            Err(e) => {
                println!("smtp {}:{}: FAILED: {}", smtp.host, smtp.port, chain(&e));
                note(e.is_transient());
            }
        }
    }
    if worst == exit::OK {
        Ok(())
    } else {
        Err(CliError::new(
            worst,
            "some servers could not be reached or refused the login",
        ))
    }
}

/// Sets up logging to stderr: level from RUST_LOG, else the config's `[log] level`, else
/// info. No colours unless stderr is a terminal, no timestamps under systemd (the journal
/// adds its own).
pub fn init_logging(config_level: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .or_else(|| config_level.and_then(|l| EnvFilter::try_new(l).ok()))
        .unwrap_or_else(|| EnvFilter::new("info"));
    let (ansi, timestamps) = log_style();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false);
    let _ = if timestamps {
        builder.try_init()
    } else {
        builder.without_time().try_init()
    };
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::new(exit::SOFTWARE, format!("cannot start the runtime: {e}")))
}

/// The daemon's runtime: one thread. Its async work is waiting (timers, signals, the SMTP
/// dialogue of a daily digest); IMAP and SQLite run on the blocking pool anyway. Worker
/// threads would each cost a stack and a malloc arena for nothing.
fn daemon_runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(exit::SOFTWARE, format!("cannot start the runtime: {e}")))
}

fn open_store(cfg: &Config) -> Result<crate::store::Store, CliError> {
    crate::store::Store::open(&cfg.state.dir).map_err(|e| {
        CliError::new(
            exit::IOERR,
            format!("state store in {}: {}", cfg.state.dir.display(), chain(&e)),
        )
    })
}

fn cmd_poll(a: PollArgs) -> Result<(), CliError> {
    let cfg = load_config(&a.config)?;
    init_logging(cfg.log.level.as_deref());
    if cfg.accounts.is_empty() {
        return Err(CliError::new(
            exit::CONFIG,
            "no [[accounts]] configured: nothing to poll",
        ));
    }
    let opts = extract_options(&cfg);
    let mut worst = exit::OK;
    // Accounts are polled concurrently, each on its own thread, like the daemon does.
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = cfg
            .accounts
            .iter()
            .map(|acct| {
                let opts = opts.clone();
                let dir = cfg.state.dir.clone();
                scope.spawn(move || {
                    let mut src = crate::source::imap::ImapSource::new(acct.clone());
                    let r = crate::daemon::poll_once(&mut src, acct, &dir, &opts);
                    src.logout();
                    (acct.name.clone(), r)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    for r in results {
        match r {
            Ok((_, Ok(summary))) => println!("{}", summary.line()),
            Ok((_, Err(e))) => {
                let code = if e.is_transient() {
                    exit::TEMPFAIL
                } else {
                    exit::UNAVAILABLE
                };
                if worst == exit::OK || code == exit::UNAVAILABLE {
                    worst = code;
                }
                // The error already names the account.
                eprintln!("invite-digest: {}", chain(&e));
            }
            Err(_) => worst = exit::SOFTWARE,
        }
    }
    if worst == exit::OK {
        Ok(())
    } else {
        Err(CliError::new(worst, "some accounts could not be polled"))
    }
}

fn render_for_format(
    cfg: &Config,
    d: &Digest,
    format: PreviewFormat,
    message_id: &str,
) -> Result<Vec<u8>, CliError> {
    Ok(match format {
        PreviewFormat::Text => digest::render_text(d).into_bytes(),
        PreviewFormat::Html => digest::render_html(d).into_bytes(),
        PreviewFormat::Eml => {
            let from = cfg
                .digest
                .from
                .clone()
                .unwrap_or_else(|| "invite-digest <invite-digest@localhost>".into());
            let to = if cfg.digest.to.is_empty() {
                vec!["you@localhost".to_string()]
            } else {
                cfg.digest.to.clone()
            };
            digest::to_email(
                d,
                &cfg.digest.subject,
                &from,
                &to,
                message_id,
                std::time::SystemTime::now(),
            )
            .map_err(|e| CliError::new(exit::CONFIG, chain(&e)))?
        }
    })
}

fn cmd_pending(a: PendingArgs) -> Result<(), CliError> {
    let cfg = load_config(&a.config)?;
    let store = open_store(&cfg)?;
    let (d, _) = crate::deliver::build(&cfg, &store, crate::daemon::now_unix())
        .map_err(|e| CliError::new(exit::IOERR, chain(&e)))?;
    let out = render_for_format(&cfg, &d, a.format, "pending@invite-digest")?;
    std::io::stdout()
        .lock()
        .write_all(&out)
        .map_err(|e| CliError::new(exit::IOERR, e.to_string()))
}

fn cmd_schedule(a: ScheduleArgs) -> Result<(), CliError> {
    let cfg = load_config_optional(&a.config)?;
    let s = &cfg.digest.schedule;
    println!("{s}");
    let times = s.upcoming(chrono::Utc::now(), a.next);
    if times.is_empty() {
        return Err(CliError::new(exit::CONFIG, "this schedule never fires"));
    }
    for t in times {
        println!("{}", t.format("%a %Y-%m-%d %H:%M:%S %Z"));
    }
    Ok(())
}

fn cmd_digest(a: DigestArgs) -> Result<(), CliError> {
    let cfg = load_config(&a.config)?;
    init_logging(cfg.log.level.as_deref());
    let mut store = open_store(&cfg)?;
    let now = crate::daemon::now_unix();
    if a.dry_run {
        let (d, ids) = crate::deliver::build(&cfg, &store, now)
            .map_err(|e| CliError::new(exit::IOERR, chain(&e)))?;
        let from = cfg.digest.from.clone().unwrap_or_default();
        let (_, message_id) = crate::deliver::digest_identity(&ids, now, &from);
        let eml = render_for_format(&cfg, &d, PreviewFormat::Eml, &message_id)?;
        return match a.output {
            Some(p) => std::fs::write(&p, &eml)
                .map_err(|e| CliError::new(exit::IOERR, format!("{}: {e}", p.display()))),
            None => std::io::stdout()
                .lock()
                .write_all(&eml)
                .map_err(|e| CliError::new(exit::IOERR, e.to_string())),
        };
    }
    cfg.require_sending()
        .map_err(|e| CliError::new(exit::CONFIG, chain(&e)))?;
    let when_empty = if cfg.digest.send_empty {
        crate::deliver::WhenEmpty::Send
    } else {
        crate::deliver::WhenEmpty::Skip
    };
    let prepared = crate::deliver::prepare(&cfg, &mut store, now, when_empty)
        .map_err(|e| CliError::new(exit::IOERR, chain(&e)))?;
    let Some(p) = prepared else {
        println!("nothing new since the last digest: nothing sent (set send_empty = true to send anyway)");
        return Ok(());
    };
    let rt = runtime()?;
    rt.block_on(crate::deliver::send_prepared(
        &cfg,
        &mut store,
        &p,
        crate::daemon::now_unix,
        std::time::Duration::from_secs(60),
    ))
    .map_err(|e| {
        let code = if e.is_transient() {
            exit::TEMPFAIL
        } else {
            exit::UNAVAILABLE
        };
        CliError::new(
            code,
            format!(
                "{} (the digest stays in the outbox; the daemon retries it)",
                chain(&e)
            ),
        )
    })?;
    println!("digest sent: {} ({})", p.summary, p.message_id);
    Ok(())
}

fn cmd_run(a: RunArgs) -> Result<(), CliError> {
    crate::daemon::memory::single_arena();
    let path = a.config.config.clone().unwrap_or_else(default_config_path);
    let cfg = Config::load(&path).map_err(|e| CliError::new(exit::CONFIG, chain(&e)))?;
    init_logging(cfg.log.level.as_deref());
    for w in cfg.warnings() {
        tracing::warn!("{w}");
    }
    let rt = daemon_runtime()?;
    let result = rt.block_on(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(|e| {
            CliError::new(
                exit::SOFTWARE,
                format!("cannot install SIGTERM handler: {e}"),
            )
        })?;
        let mut hup = signal(SignalKind::hangup()).map_err(|e| {
            CliError::new(
                exit::SOFTWARE,
                format!("cannot install SIGHUP handler: {e}"),
            )
        })?;
        let (reload_tx, reload_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                tracing::info!("SIGHUP: reloading the configuration");
                if reload_tx.send(()).is_err() {
                    break;
                }
            }
        });
        let shutdown = async move {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: stopping"),
                _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT: stopping"),
            }
        };
        crate::daemon::run(path, cfg, shutdown, reload_rx)
            .await
            .map_err(|e| {
                let code = match e {
                    crate::daemon::DaemonError::Config(_) => exit::CONFIG,
                    _ => exit::IOERR,
                };
                CliError::new(code, chain(&e))
            })
    });
    // A blocking IMAP IDLE wait may still hold a runtime thread; everything it would
    // commit is consistent, so do not wait for it to time out.
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

/// Whether stderr goes to a terminal (colours) and whether systemd's journal already adds
/// timestamps (JOURNAL_STREAM is set for services whose stderr is the journal).
pub fn log_style() -> (bool, bool) {
    let ansi = std::io::stderr().is_terminal();
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    (ansi, !journald)
}
