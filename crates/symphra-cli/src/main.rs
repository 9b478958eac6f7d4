//! `symphra`: check, list, graph, run and analyze a directory of component modules.
//!
//! Exit codes: 0 success; 1 the modules have problems (or one failed); 2 a usage or I/O
//! error (printed as `error: ...`); 3 (`start`, `stop`) the state store is locked by a
//! running process.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]

#[macro_use]
mod output;

mod analyze;
mod check;
mod error;
mod fleet;
mod grants;
mod graph;
mod list;
mod log_writer;
mod module_configs;
mod new;
mod operator;
mod progress;
mod run;
mod session;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

pub use error::CliError;

/// Command-line interface of the Symphra module runtime.
#[derive(Debug, Parser)]
#[command(
    name = "symphra",
    version,
    about = "Check, list, graph, run and analyze a directory of Symphra modules, or create one",
    after_help = "Examples:\n  symphra check ./modules\n  symphra run ./modules --config app.toml\n  symphra analyze ./modules --svg start.svg\n  symphra stop ./modules cache --ops\n  symphra new hello --lang c --dir ./modules\n\nExit codes: 0 success; 1 the modules have problems (or one failed); 2 a usage or I/O\nerror (printed as `error: ...`); 3 (start, stop) the state store is locked by a running\nprocess. `symphra help <COMMAND>` describes each command."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Output format of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Lines of text.
    Text,
    /// One JSON object.
    Json,
}

/// Output format of `graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
    /// An SVG picture, drawn by `symphra` itself (no Graphviz needed).
    Svg,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Loads, compiles and resolves the modules of DIR and checks their configuration,
    /// without starting anything. Exits 0 when clean, 1 when there are problems.
    #[command(
        after_help = "Examples:\n  symphra check ./modules\n  symphra check ./modules --format json\n  symphra check ./modules --config app.toml\n  SYMPHRA__GREETER__GREETING=hey symphra check ./modules\n\nThe configuration is taken as by `run` (see `symphra run --help`); an environment\nvariable SYMPHRA__<MODULE>__<KEY> that names no module is a problem here."
    )]
    Check {
        /// The modules directory (one folder per module).
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// The configuration file `run --config` would use (one table per module), checked
        /// against the schemas instead of the defaults. Environment variables
        /// `SYMPHRA__<MODULE>__<KEY>=<value>` override single keys, as for `run`.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The operator's grants (TOML): host folders and environment variables each module
        /// may use beyond its own folder, and whether a reload may widen its grants. See
        /// docs/security.md. Without it, nothing beyond the module folders is granted.
        #[arg(long, value_name = "FILE")]
        grants: Option<PathBuf>,
    },
    /// Lists the modules of DIR: version, dependencies, capabilities and the availability
    /// recorded in the state store.
    #[command(
        after_help = "Examples:\n  symphra list ./modules\n  symphra list ./modules --state ./symphra.redb"
    )]
    List {
        /// The modules directory.
        dir: PathBuf,
        /// A state store (redb file) to read recorded availability from (default:
        /// `DIR/.symphra/state.redb` when it exists).
        #[arg(long, value_name = "PATH")]
        state: Option<PathBuf>,
        /// The operator's grants (TOML), as for `check`.
        #[arg(long, value_name = "FILE")]
        grants: Option<PathBuf>,
    },
    /// Prints the dependency graph of DIR (an edge points from a module to what it needs).
    #[command(
        after_help = "Examples:\n  symphra graph ./modules --format svg > modules.svg\n  symphra graph ./modules --format mermaid\n  symphra graph ./modules --format dot | dot -Tpng > modules.png"
    )]
    Graph {
        /// The modules directory.
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Starts every module of DIR, runs until SIGINT or SIGTERM, then stops them all.
    /// Exits 1 when a module failed.
    #[command(
        after_help = "Examples:\n  symphra run ./modules\n  symphra run ./modules --max-concurrency 4 --shutdown-timeout 10s --config app.toml\n  symphra run ./modules --watch    # edit a module, rebuild it: it is reloaded\n  SYMPHRA__GREETER__GREETING=hey symphra run ./modules --progress plain\n\nThe config file holds one table per module:\n  [greeter]\n  greeting = \"hi\"\nSYMPHRA__<MODULE>__<KEY>=<value> in the environment overrides one key of it (the value\nread as JSON, else as a string; `_` in MODULE matches `-` too)."
    )]
    Run(run::RunArgs),
    /// Stops MODULE (and first what needs it) as an operator: it stays stopped across
    /// restarts until `symphra start`. Of a stopped application, recorded in its state
    /// store for the next `run`; of a running one, done there through its endpoint (--ops).
    #[command(
        after_help = "Examples:\n  symphra stop ./modules cache            # the application is not running\n  symphra stop ./modules cache --ops      # it runs with `symphra run ./modules --ops`\n  symphra stop ./modules cache --ops 127.0.0.1:9500\n\nExit codes: 0 done; 1 a hook failed; 2 a usage or I/O error (an unknown module among\nthem); 3 the state store is locked by a running process (use --ops)."
    )]
    Stop(operator::OperatorArgs),
    /// Starts MODULE (and first what it needs) as an operator, releasing an operator's
    /// stop. Of a stopped application, the next `run` starts it; of a running one, it is
    /// started there through its endpoint (--ops).
    #[command(
        after_help = "Examples:\n  symphra start ./modules cache\n  symphra start ./modules cache --ops\n\nExit codes: 0 done; 1 a hook failed, or the module is disabled; 2 a usage or I/O\nerror (an unknown module among them); 3 the state store is locked by a running\nprocess (use --ops)."
    )]
    Start(operator::OperatorArgs),
    /// Starts every module of DIR once, stops them, and shows where the start time went:
    /// the modules by time in their hooks (blame), the critical chain of dependencies, and
    /// with --svg a timeline picture of the start.
    #[command(
        after_help = "Examples:\n  symphra analyze ./modules\n  symphra analyze ./modules --max-concurrency 4 --svg start.svg\n  symphra analyze ./modules --config app.toml\n  SYMPHRA__GREETER__GREETING=hey symphra analyze ./modules\n\nThe configuration is taken as by `run` (see `symphra run --help`)."
    )]
    Analyze {
        /// The modules directory.
        dir: PathBuf,
        /// At most this many hooks at once while starting.
        #[arg(long, value_name = "N")]
        max_concurrency: Option<usize>,
        /// Also write an SVG timeline of the start to FILE: one row per module, one bar per
        /// hook, sorted by start, the axis in milliseconds.
        #[arg(long, value_name = "FILE")]
        svg: Option<PathBuf>,
        /// A TOML file with one table per module name, its configuration, as for `run`.
        /// Environment variables `SYMPHRA__<MODULE>__<KEY>=<value>` override single keys (a
        /// JSON value, or a string).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The operator's grants (TOML), as for `run`.
        #[arg(long, value_name = "FILE")]
        grants: Option<PathBuf>,
    },
    /// Creates a module folder PARENT/NAME: a manifest (module.toml), source that answers
    /// NAME.request on NAME.reply, a build script (build.sh) that writes module.wasm, and the
    /// WIT world it implements. Refuses a folder that already exists.
    #[command(
        after_help = "Examples:\n  symphra new hello --lang c --dir ./modules && ./modules/hello/build.sh && symphra check ./modules\n  symphra new echo --lang python --dir ./modules\n  symphra new counter --lang rust\n\nBuilding needs: C: clang, wasm-ld and wasm-tools; Python: componentize-py;\nRust: rustup target add wasm32-wasip2."
    )]
    New {
        /// The module's name: 1 to 64 lowercase letters, digits, '_' or '-', starting with a
        /// letter or digit.
        name: String,
        /// The language of the source.
        #[arg(long, value_enum)]
        lang: new::Lang,
        /// The folder to create the module in (its modules directory).
        #[arg(long, value_name = "PARENT", default_value = ".")]
        dir: PathBuf,
    },
    /// A fleet of replicas on NATS JetStream: `status` shows each replica's modules;
    /// `enable`, `disable`, `start`, `stop` and `config` decide for all of them.
    #[command(
        after_help = "Examples:\n  symphra fleet status --nats nats://127.0.0.1:4222\n  symphra fleet disable mailer --nats nats://a:4222,nats://b:4222\n  symphra fleet config mailer '{\"rate\": 5}'\n\nSee docs/fleet.md."
    )]
    Fleet(fleet::FleetArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let result = match cli.command {
        Command::Check {
            dir,
            format,
            config,
            grants,
        } => check::run(&dir, format, config.as_deref(), grants.as_deref()),
        Command::List { dir, state, grants } => {
            list::run(&dir, state.as_deref(), grants.as_deref())
        }
        Command::Graph { dir, format } => graph::run(&dir, format),
        Command::Run(args) => run::run(&args),
        Command::Analyze {
            dir,
            max_concurrency,
            svg,
            config,
            grants,
        } => analyze::run(
            &dir,
            max_concurrency,
            svg.as_deref(),
            config.as_deref(),
            grants.as_deref(),
        ),
        Command::New { name, lang, dir } => new::run(&name, lang, &dir),
        Command::Stop(args) => operator::run(operator::Action::Stop, &args),
        Command::Start(args) => operator::run(operator::Action::Start, &args),
        Command::Fleet(args) => fleet::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

/// Logs go to stderr; `RUST_LOG` sets the filter (default: warnings, except the rejected
/// module folders that every command reports in its own output).
fn init_logging() {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,symphra_wasm::discover=error")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| log_writer::LogWriter)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
