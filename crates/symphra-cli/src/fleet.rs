//! `symphra fleet`: the state of a fleet of replicas, and the operator's decisions for all
//! of them, through NATS (see docs/fleet.md).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use symphra_fleet::{Decision, FleetStatus};

use crate::CliError;

/// `symphra fleet …`.
#[derive(Debug, Args)]
pub struct FleetArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: FleetAction,
    /// The NATS servers, comma-separated (`nats://host:4222,nats://other:4222`).
    #[arg(
        long,
        value_name = "URL[,URL…]",
        global = true,
        default_value = "nats://127.0.0.1:4222"
    )]
    pub nats: String,
    /// Replicas of the decisions' bucket when this creates it (3 on a three-node cluster).
    #[arg(long, value_name = "N", global = true, default_value_t = 1)]
    pub bucket_replicas: usize,
}

/// The fleet's subcommands.
#[derive(Debug, Subcommand)]
pub enum FleetAction {
    /// A table of the live replicas and their modules, then the fleet's decisions.
    Status,
    /// Lets MODULE run on every replica again, and starts it.
    Enable {
        /// The module.
        module: String,
    },
    /// Stops MODULE on every replica and keeps it from starting.
    Disable {
        /// The module.
        module: String,
    },
    /// Starts MODULE on every replica (a singleton: on its lease holder).
    Start {
        /// The module.
        module: String,
    },
    /// Stops MODULE on every replica and holds it down until `fleet start`.
    Stop {
        /// The module.
        module: String,
    },
    /// Replaces MODULE's configuration on every replica (it is reinstalled with it).
    Config {
        /// The module.
        module: String,
        /// The configuration, as JSON (`'{"port": 8080}'`).
        json: String,
    },
}

/// At most this many bytes of configuration are accepted on the command line.
const MAX_CONFIG_BYTES: usize = 64 * 1024;

/// Runs `symphra fleet …`.
pub(crate) fn run(args: &FleetArgs) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime.block_on(async {
        let servers: Vec<String> = args.nats.split(',').map(|s| s.trim().to_owned()).collect();
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(std::time::Duration::from_secs(5))
            .connect(servers)
            .await
            .map_err(|error| CliError::Fleet(symphra_fleet::FleetError::Connect(error.into())))?;
        let jetstream = async_nats::jetstream::new(client);
        let (module, decision) = match &args.action {
            FleetAction::Status => {
                print!("{}", FleetStatus::read(&jetstream).await?.table());
                return Ok(ExitCode::SUCCESS);
            }
            FleetAction::Enable { module } => (module, Decision::Enable),
            FleetAction::Disable { module } => (module, Decision::Disable),
            FleetAction::Start { module } => (module, Decision::Start),
            FleetAction::Stop { module } => (module, Decision::Stop),
            FleetAction::Config { module, json } => {
                if json.len() > MAX_CONFIG_BYTES {
                    return Err(CliError::FleetConfig(
                        "the configuration is over 64 KiB".into(),
                    ));
                }
                let config = serde_json::from_str(json).map_err(|error| {
                    CliError::FleetConfig(format!("the configuration is not JSON: {error}"))
                })?;
                (module, Decision::Config(config))
            }
        };
        let desired =
            symphra_fleet::decide(&jetstream, module, decision, args.bucket_replicas).await?;
        let text = serde_json::to_string(&desired).unwrap_or_default();
        println!("{module}: {text}");
        Ok(ExitCode::SUCCESS)
    })
}
