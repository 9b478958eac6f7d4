//! One replica of a small test application in a fleet, for the tests and the bench.
//!
//! `symphra-fleet-replica --nats URL[,URL…] --replica ID [--ttl-ms N] [--bucket-replicas N]
//! [--serve NAME]`
//!
//! Modules: `ticker`, a singleton that appends to a fenced ledger (a JetStream stream,
//! written with compare-and-swap and refused to any token older than the last writer's)
//! ten times a second while its lease is current; `reporter`, which requires it; `web`, a
//! plain module (`STARTED web`, `STOPPED web`); with `--serve NAME`, `greeter`, which
//! exposes service NAME (`SERVING NAME`): it answers `{"replica":…,"echo":…}`, fails on
//! `"fail"`, panics on `"panic"` and never answers `"hang"`. It prints one line per fact the tests wait for (`READY`, `LEASE`, `LOST`,
//! `WROTE`, `FENCED`, `STOPPED`, `EXIT`) and runs until SIGTERM or SIGINT.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, context::PublishErrorKind, stream};
use serde::{Deserialize, Serialize};
use symphra::prelude::*;
use symphra_fleet::{Exposed, Fleet, FleetOptions, LeaseTiming, ServiceFailure, Services};

/// The ledger's stream and subject.
const LEDGER: &str = "LEDGER";
const LEDGER_SUBJECT: &str = "ledger.ticker";

/// One line of the ledger.
#[derive(Serialize, Deserialize)]
struct Line {
    token: u64,
    replica: String,
    n: u64,
}

struct Ticker {
    ledger: stream::Stream,
    jetstream: jetstream::Context,
    replica: String,
}

impl Module for Ticker {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("ticker").singleton()
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let lease = ctx.lease().ok_or("ticker runs only under a fleet lease")?;
        let ledger = self.ledger.clone();
        let jetstream = self.jetstream.clone();
        let replica = self.replica.clone();
        println!("STARTED ticker token={}", lease.token());
        ctx.spawn("write", move |shutdown| async move {
            let mut every = tokio::time::interval(Duration::from_millis(100));
            let mut n = 0;
            loop {
                tokio::select! {
                    biased;
                    () = shutdown.cancelled() => return Ok(()),
                    () = lease.lost() => {
                        // Stop writing at once; the fleet stops the module.
                        shutdown.cancelled().await;
                        return Ok(());
                    }
                    _ = every.tick() => {}
                }
                if !lease.is_current() {
                    continue;
                }
                n += 1;
                let line = Line {
                    token: lease.token(),
                    replica: replica.clone(),
                    n,
                };
                match write(&ledger, &jetstream, &line).await {
                    Ok(Written::Yes) => println!("WROTE token={} n={n}", line.token),
                    Ok(Written::Fenced(newer)) => {
                        println!("FENCED token={} newer={newer}", line.token);
                    }
                    Ok(Written::Conflict) => {}
                    Err(error) => eprintln!("ledger write failed: {error}"),
                }
            }
        })?;
        Ok(())
    }

    async fn stop(&self, ctx: &Context) -> HookResult {
        let token = ctx.lease().map_or(0, |lease| lease.token());
        println!("STOPPED ticker token={token}");
        Ok(())
    }
}

enum Written {
    Yes,
    /// A newer token wrote last: this writer's lease is stale.
    Fenced(u64),
    /// Another write came between the read and the write.
    Conflict,
}

/// Appends `line` unless a newer token wrote last, with compare-and-swap on the subject's
/// last sequence.
async fn write(
    ledger: &stream::Stream,
    jetstream: &jetstream::Context,
    line: &Line,
) -> Result<Written, async_nats::Error> {
    let (expected, last_token) = match ledger.get_last_raw_message_by_subject(LEDGER_SUBJECT).await
    {
        Ok(message) => {
            let last: Line = serde_json::from_slice(&message.payload)?;
            (message.sequence, last.token)
        }
        Err(error) if error.kind() == stream::LastRawMessageErrorKind::NoMessageFound => (0, 0),
        Err(error) => return Err(error.into()),
    };
    if last_token > line.token {
        return Ok(Written::Fenced(last_token));
    }
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(
        async_nats::header::NATS_EXPECTED_LAST_SUBJECT_SEQUENCE,
        expected.to_string().as_str(),
    );
    let payload = serde_json::to_vec(line)?;
    let ack = jetstream
        .publish_with_headers(LEDGER_SUBJECT, headers, payload.into())
        .await?
        .await;
    match ack {
        Ok(_) => Ok(Written::Yes),
        Err(error) if error.kind() == PublishErrorKind::WrongLastSequence => Ok(Written::Conflict),
        Err(error) => Err(error.into()),
    }
}

struct Reporter;

impl Module for Reporter {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("reporter").depends_on("ticker")
    }
    async fn start(&self, _ctx: &Context) -> HookResult {
        println!("STARTED reporter");
        Ok(())
    }
}

struct Web;

impl Module for Web {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("web")
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        println!("STARTED web config={}", ctx.config().as_value());
        Ok(())
    }
    async fn stop(&self, _ctx: &Context) -> HookResult {
        println!("STOPPED web");
        Ok(())
    }
}

/// Exposes a service while it runs.
struct Greeter {
    services: Services,
    name: String,
    replica: String,
    exposed: tokio::sync::Mutex<Option<Exposed>>,
}

/// What the greeter answers.
#[derive(Serialize)]
struct Greeting {
    replica: String,
    echo: String,
}

impl Module for Greeter {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("greeter")
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        let replica = self.replica.clone();
        let exposed = self
            .services
            .expose(&self.name, move |request| {
                let replica = replica.clone();
                async move {
                    let echo: String = serde_json::from_slice(&request)
                        .map_err(|e| ServiceFailure::bad_request(e.to_string()))?;
                    match echo.as_str() {
                        "fail" => Err(ServiceFailure::internal("asked to fail")),
                        "hang" => std::future::pending().await,
                        "panic" => panic!("asked to panic"),
                        _ => serde_json::to_vec(&Greeting { replica, echo })
                            .map(Into::into)
                            .map_err(|e| ServiceFailure::internal(e.to_string())),
                    }
                }
            })
            .await?;
        *self.exposed.lock().await = Some(exposed);
        println!("SERVING {}", self.name);
        Ok(())
    }

    async fn stop(&self, _ctx: &Context) -> HookResult {
        if let Some(exposed) = self.exposed.lock().await.take() {
            exposed.withdraw().await;
        }
        Ok(())
    }
}

struct Args {
    nats: Vec<String>,
    serve: Option<String>,
    replica: String,
    ttl: Duration,
    bucket_replicas: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        nats: Vec::new(),
        serve: None,
        replica: String::new(),
        ttl: Duration::from_secs(3),
        bucket_replicas: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--nats" => args.nats = value.split(',').map(str::to_owned).collect(),
            "--replica" => args.replica = value,
            "--serve" => args.serve = Some(value),
            "--ttl-ms" => {
                let ms: u64 = value.parse().map_err(|_| "--ttl-ms takes milliseconds")?;
                args.ttl = Duration::from_millis(ms);
            }
            "--bucket-replicas" => {
                args.bucket_replicas = value
                    .parse()
                    .map_err(|_| "--bucket-replicas takes a number")?;
            }
            _ => return Err(format!("unknown flag {:.40}", flag)),
        }
    }
    if args.nats.is_empty() || args.replica.is_empty() {
        return Err("usage: symphra-fleet-replica --nats URL[,URL…] --replica ID".into());
    }
    Ok(args)
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("replica: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BoxError> {
    let args = parse_args()?;
    // Logs go to stderr, where a failing test shows them; `RUST_LOG` overrides the filter.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,symphra_fleet=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let lease = LeaseTiming::new(args.ttl)?;
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .reconnect_delay_callback(|attempts| Duration::from_millis(50 * attempts.min(20) as u64))
        .connect(args.nats.clone())
        .await?;
    let jetstream = jetstream::new(client.clone());
    let ledger_config = stream::Config {
        name: LEDGER.to_owned(),
        subjects: vec!["ledger.>".to_owned()],
        num_replicas: args.bucket_replicas,
        ..Default::default()
    };
    // A cluster that has just formed times requests out for a few seconds.
    let ledger = symphra::util::Retry::exponential(Duration::from_millis(200))
        .max_delay(Duration::from_secs(3))
        .max_attempts(12)
        .run(|| jetstream.get_or_create_stream(ledger_config.clone()))
        .await?;
    let options = FleetOptions {
        replica: args.replica.clone(),
        bucket_replicas: args.bucket_replicas,
        lease,
        heartbeat: Duration::from_millis(500),
    };
    if let Some(name) = args.serve.as_deref() {
        raw_echo(&client, name, &args.replica).await?;
    }
    let mut fleet = Fleet::join(client, options).await?;
    let mut builder = ModuleManager::builder()
        .module(Ticker {
            ledger,
            jetstream: jetstream.clone(),
            replica: args.replica.clone(),
        })
        .module(Reporter)
        .module(Web);
    if let Some(name) = args.serve.clone() {
        builder = builder.module(Greeter {
            services: fleet.services().clone(),
            name,
            replica: args.replica.clone(),
            exposed: tokio::sync::Mutex::new(None),
        });
    }
    let manager = builder.shutdown_timeout(lease.stop_budget() / 2).build()?;
    fleet.attach(&manager).await?;
    if let Some(mut changes) = fleet.lease_changes("ticker") {
        tokio::spawn(async move {
            let mut held = false;
            while changes.changed().await.is_ok() {
                let lease = changes.borrow_and_update().clone();
                match lease {
                    Some(lease) => {
                        held = true;
                        println!("LEASE ticker token={}", lease.token());
                    }
                    None if held => {
                        held = false;
                        println!("LOST ticker");
                    }
                    None => {}
                }
            }
        });
    }
    if let Err(error) = manager.start_all().await {
        eprintln!("start: {error}");
    }
    println!("READY {}", args.replica);
    let manager = Arc::new(manager);
    wait_for_signal().await?;
    if let Err(error) = manager.stop_all().await {
        eprintln!("stop: {error}");
    }
    fleet.leave().await;
    println!("EXIT");
    Ok(())
}

/// For the latency bench: plain `async-nats` request/reply on `bench.raw.NAME` in the
/// same process as the service, answering what the greeter answers.
async fn raw_echo(client: &async_nats::Client, name: &str, replica: &str) -> Result<(), BoxError> {
    use futures_util::StreamExt;
    let mut requests = client.subscribe(format!("bench.raw.{name}")).await?;
    let client = client.clone();
    let replica = replica.to_owned();
    tokio::spawn(async move {
        while let Some(request) = requests.next().await {
            let Some(reply) = request.reply else { continue };
            let Ok(echo) = serde_json::from_slice::<String>(&request.payload) else {
                continue;
            };
            let greeting = Greeting {
                replica: replica.clone(),
                echo,
            };
            if let Ok(answer) = serde_json::to_vec(&greeting)
                && let Err(error) = client.publish(reply, answer.into()).await
            {
                eprintln!("raw answer: {error}");
            }
        }
    });
    Ok(())
}

async fn wait_for_signal() -> Result<(), BoxError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
