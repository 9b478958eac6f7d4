//! A small service of three modules, each configured from `examples/service/service.toml`
//! and the environment: `db` keeps users in SQLite, `api` serves them over HTTP and
//! announces new ones on the bus, and `worker` greets each new user in the background.
//!
//! ```text
//! cargo run --example service [CONFIG.toml]
//! curl -d '{"name":"ada"}' -H 'content-type: application/json' localhost:8080/users
//! curl localhost:8080/users/1
//! ```
//!
//! It serves until SIGINT or SIGTERM, then stops every module and exits 0. The fourth part
//! of the service, configuration, is no module: `config::Layers` merges the file under the
//! environment and checks each module's table against the type it declares.
//!
//! Lines that exist only because of Symphra: 57 of the 256 lines of code before the tests
//! (the module structs, their `impl Module` and hook signatures, metadata, `set_running`,
//! registration, start and stop in `main`). How they were counted, and the comparison with
//! a hand-rolled version, are in `docs/dev/service-example.md`.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use symphra::bus::{QueueConfig, QueuePolicy, SubscribeOptions};
use symphra::config::Layers;
use symphra::prelude::*;
use symphra::signal::Signals;

/// A user as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct User {
    id: i64,
    name: String,
    /// Set by the worker once it has greeted the user.
    greeting: Option<String>,
}

/// What the API and the worker need of the database. Synchronous: SQLite is; callers run it
/// on tokio's blocking threads. A test's fake is any type implementing it.
trait UserStore: Send + Sync {
    fn create(&self, name: &str) -> Result<User, BoxError>;
    fn get(&self, id: i64) -> Result<Option<User>, BoxError>;
    fn greet(&self, id: i64, greeting: &str) -> Result<(), BoxError>;
}

/// Runs `work` with the store on a blocking thread.
async fn blocking<T: Send + 'static>(
    store: &Arc<dyn UserStore>,
    work: impl FnOnce(&dyn UserStore) -> Result<T, BoxError> + Send + 'static,
) -> Result<T, BoxError> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || work(&*store)).await?
}

// --- db: SQLite through rusqlite, with the `bundled` feature: SQLite is compiled in, so a
// fresh machine needs no library, and rusqlite's few dependencies build faster than sqlx's.
// SQLite is synchronous either way (sqlx runs it on a thread of its own too).

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct DbConfig {
    /// The database file (`:memory:` for one that lives as long as the process).
    path: String,
    busy_timeout_ms: u64,
}

/// The open database that `db`'s start hands over; it is closed when dropped, after `stop`.
struct Sqlite(Mutex<Connection>);

impl Sqlite {
    fn open(config: &DbConfig) -> Result<Self, BoxError> {
        let connection = Connection::open(&config.path)?;
        connection.busy_timeout(std::time::Duration::from_millis(config.busy_timeout_ms))?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS users (
                 id INTEGER PRIMARY KEY, name TEXT NOT NULL, greeting TEXT)",
        )?;
        Ok(Self(Mutex::new(connection)))
    }

    fn connection(&self) -> Result<std::sync::MutexGuard<'_, Connection>, BoxError> {
        self.0
            .lock()
            .map_err(|_| "the database connection's lock is poisoned".into())
    }
}

impl UserStore for Sqlite {
    fn create(&self, name: &str) -> Result<User, BoxError> {
        let connection = self.connection()?;
        connection.execute("INSERT INTO users (name) VALUES (?1)", [name])?;
        let id = connection.last_insert_rowid();
        Ok(User {
            id,
            name: name.to_owned(),
            greeting: None,
        })
    }

    fn get(&self, id: i64) -> Result<Option<User>, BoxError> {
        let user = self
            .connection()?
            .query_row(
                "SELECT id, name, greeting FROM users WHERE id = ?1",
                [id],
                |row| {
                    Ok(User {
                        id: row.get(0)?,
                        name: row.get(1)?,
                        greeting: row.get(2)?,
                    })
                },
            )
            .optional()?;
        Ok(user)
    }

    fn greet(&self, id: i64, greeting: &str) -> Result<(), BoxError> {
        let connection = self.connection()?;
        connection.execute(
            "UPDATE users SET greeting = ?2 WHERE id = ?1",
            (id, greeting),
        )?;
        Ok(())
    }
}

struct Db;

impl Module for Db {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("db")
            .version("1.0.0")
            .config_type::<DbConfig>()
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let config: DbConfig = ctx.config_as()?;
        let sqlite = tokio::task::spawn_blocking(move || Sqlite::open(&config)).await??;
        ctx.set_running(sqlite);
        Ok(())
    }
}

// --- api: axum, on the store through the trait.

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct ApiConfig {
    /// Address to listen on; port 0 picks a free one.
    listen: String,
}

/// A new user, as POSTed.
#[derive(Debug, Serialize, Deserialize)]
struct NewUser {
    name: String,
}

/// The bus event the API publishes for each new user.
#[derive(Clone, Debug)]
struct UserCreated(User);

/// What the api's start hands over: the address it listens on (port 0 resolved).
struct Listening(std::net::SocketAddr);

/// The longest name accepted, in characters.
const MAX_NAME_CHARS: usize = 100;

#[derive(Clone)]
struct Routes {
    store: Arc<dyn UserStore>,
    bus: EventBus,
}

type Reply<T> = Result<T, (StatusCode, String)>;

fn internal(error: BoxError) -> (StatusCode, String) {
    tracing::error!(error, "request failed");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error".to_owned(),
    )
}

async fn create_user(
    State(routes): State<Routes>,
    Json(new): Json<NewUser>,
) -> Reply<(StatusCode, Json<User>)> {
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        let problem = format!("a name has 1 to {MAX_NAME_CHARS} characters");
        return Err((StatusCode::UNPROCESSABLE_ENTITY, problem));
    }
    let user = blocking(&routes.store, move |s| s.create(&name))
        .await
        .map_err(internal)?;
    let published = routes
        .bus
        .publish("user.created", UserCreated(user.clone()))
        .await;
    published.map_err(|e| internal(e.into()))?;
    Ok((StatusCode::CREATED, Json(user)))
}

async fn get_user(State(routes): State<Routes>, Path(id): Path<i64>) -> Reply<Json<User>> {
    match blocking(&routes.store, move |s| s.get(id))
        .await
        .map_err(internal)?
    {
        Some(user) => Ok(Json(user)),
        None => Err((StatusCode::NOT_FOUND, format!("no user {id}"))),
    }
}

fn router(store: Arc<dyn UserStore>, bus: EventBus) -> Router {
    Router::new()
        .route("/users", post(create_user))
        .route("/users/{id}", get(get_user))
        .with_state(Routes { store, bus })
}

struct Api;

impl Module for Api {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("api")
            .depends_on("db ^1")
            .config_type::<ApiConfig>()
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let config: ApiConfig = ctx.config_as()?;
        let app = router(ctx.get_dyn::<dyn UserStore>("db")?, ctx.bus().clone());
        let listener = tokio::net::TcpListener::bind(&config.listen).await?;
        ctx.set_running(Listening(listener.local_addr()?));
        ctx.spawn("http", |shutdown| async move {
            let stopped = shutdown.cancelled_owned();
            axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await?;
            Ok(())
        })?;
        Ok(())
    }
}

// --- worker: greets each new user, on a queue of its own so the API never waits for it.

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct WorkerConfig {
    greeting: String,
}

struct Worker;

impl Module for Worker {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("worker")
            .depends_on("db ^1")
            .config_type::<WorkerConfig>()
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let greeting: Arc<str> = ctx.config_as::<WorkerConfig>()?.greeting.into();
        let store = ctx.get_dyn::<dyn UserStore>("db")?;
        let queue = SubscribeOptions::new().queue(QueueConfig::new(1024, QueuePolicy::Wait));
        ctx.subscribe_async_with("user.created", queue, move |event| {
            let (store, greeting) = (Arc::clone(&store), Arc::clone(&greeting));
            async move {
                let Some(UserCreated(user)) = event.payload::<UserCreated>().cloned() else {
                    return Ok(());
                };
                let text = format!("{greeting}, {}!", user.name);
                blocking(&store, move |s| s.greet(user.id, &text)).await?;
                println!("worker: greeted user {}", user.id);
                Ok::<(), BoxError>(())
            }
        })?;
        Ok(())
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let logs =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt()
        .with_env_filter(logs)
        .with_writer(std::io::stderr)
        .init();
    match serve().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}"); // a bad setting: which layer, which key, what is wanted
            std::process::ExitCode::FAILURE
        }
    }
}

/// Starts the modules, serves until a signal, stops them.
async fn serve() -> Result<(), BoxError> {
    let mut signals = Signals::listen(); // before any hook runs: a signal stops cleanly
    let config = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/service/service.toml").to_owned()
    });
    let manager = ModuleManager::builder()
        .module(Db)
        .provides_running(|sqlite: Arc<Sqlite>| -> Arc<dyn UserStore> { sqlite })
        .module(Api)
        .module(Worker)
        .layers(Layers::new("SERVICE").file(config).env())
        .build()?;
    manager.start_all().await?;
    let listening = manager
        .module("api")?
        .running::<Listening>()
        .ok_or("api not listening")?;
    println!("ready: http://{}", listening.0);
    let signal = signals.next().await;
    println!("stopping on {signal:?}");
    let report = manager.stop_all().await?;
    if !report.is_success() {
        return Err(report.to_string().into());
    }
    println!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use symphra::testing::Harness;

    /// A store in memory: the API takes it through the trait, with no generics.
    #[derive(Default)]
    struct FakeStore(Mutex<Vec<User>>);

    impl UserStore for FakeStore {
        fn create(&self, name: &str) -> Result<User, BoxError> {
            let mut users = self.0.lock().map_err(|_| "poisoned")?;
            let user = User {
                id: users.len() as i64 + 1,
                name: name.to_owned(),
                greeting: None,
            };
            users.push(user.clone());
            Ok(user)
        }
        fn get(&self, id: i64) -> Result<Option<User>, BoxError> {
            Ok(self
                .0
                .lock()
                .map_err(|_| "poisoned")?
                .iter()
                .find(|u| u.id == id)
                .cloned())
        }
        fn greet(&self, _: i64, _: &str) -> Result<(), BoxError> {
            Err("the API never greets".into())
        }
    }

    #[tokio::test]
    async fn the_api_serves_users_from_a_fake_store_and_announces_new_ones() -> Result<(), BoxError>
    {
        let fake = Arc::new(FakeStore::default());
        let harness = Harness::builder(Api)
            .fake::<dyn UserStore>("db", fake.clone())
            .config(serde_json::json!({ "listen": "127.0.0.1:0" }))
            .build()?;
        let announced = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&announced);
        let _subscription =
            harness
                .manager()
                .bus()
                .subscribe("user.created", move |e: &Event| {
                    if let (Some(UserCreated(user)), Ok(mut seen)) = (e.payload(), seen.lock()) {
                        seen.push(user.name.clone());
                    }
                })?;
        harness.start().await?;
        let address = harness
            .handle()?
            .running::<Listening>()
            .ok_or("not listening")?
            .0;
        // Tested below through a real socket: routing, JSON, status codes.
        let created = request(address, "POST", "/users", r#"{"name":" ada "}"#).await;
        assert!(created.starts_with("HTTP/1.1 201"), "{created}");
        assert!(
            created.ends_with(r#"{"id":1,"name":"ada","greeting":null}"#),
            "{created}"
        );
        assert_eq!(
            fake.get(1).ok().flatten().map(|u| u.name),
            Some("ada".to_owned())
        );
        assert_eq!(
            *announced.lock().map_err(|_| "poisoned")?,
            ["ada"],
            "one user.created"
        );
        let found = request(address, "GET", "/users/1", "").await;
        assert!(
            found.ends_with(r#""name":"ada","greeting":null}"#),
            "{found}"
        );
        let missing = request(address, "GET", "/users/2", "").await;
        assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
        let long = format!(r#"{{"name":"{}"}}"#, "x".repeat(MAX_NAME_CHARS + 1));
        let refused = request(address, "POST", "/users", &long).await;
        assert!(refused.starts_with("HTTP/1.1 422"), "{refused}");
        harness.stop().await?;
        Ok(())
    }

    /// One HTTP/1.1 request over a new connection; the whole answer, or the I/O error.
    async fn request(
        address: std::net::SocketAddr,
        method: &str,
        path: &str,
        body: &str,
    ) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect(address).await?;
            let head = format!(
                "{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\
                 content-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(body.as_bytes()).await?;
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await?;
            Ok::<_, std::io::Error>(answer)
        };
        exchange
            .await
            .unwrap_or_else(|error| format!("I/O error: {error}"))
    }
}
