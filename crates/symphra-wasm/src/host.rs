//! The shared wasmtime engine, linkers, epoch ticker and compile cache.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::cache::{CacheOutcome, CompileCache};
use crate::error::{HostError, LoadError};
use crate::grants::OperatorGrants;
use crate::manifest::Manifest;
use crate::module::{State, WasmModule};
use crate::{bindings, bindings_v2};

/// How often the engine's epoch advances: the granularity of hook time limits.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The newest WIT package version this host implements.
pub const WIT_VERSION: semver::Version = semver::Version::new(0, 2, 0);

/// Every WIT package version this host implements, oldest first: a component built against
/// any of them (or a later patch of one) loads (see `wit/README.md`).
pub const WIT_VERSIONS: [semver::Version; 2] =
    [semver::Version::new(0, 1, 0), semver::Version::new(0, 2, 0)];

/// Settings of a [`WasmHost`].
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Use wasmtime's pooling instance allocator (faster instantiation, memory reserved up
    /// front). On by default.
    pub pooling: bool,
    /// With pooling: how many component instances may live at once.
    pub max_instances: u32,
    /// The largest memory limit a manifest may ask for, in bytes (1 GiB by default).
    pub max_memory: u64,
    /// Where compiled components are cached; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    /// What the operator grants modules beyond their folders (nothing by default).
    pub grants: OperatorGrants,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            pooling: true,
            max_instances: 128,
            max_memory: 1 << 30,
            cache_dir: None,
            grants: OperatorGrants::none(),
        }
    }
}

impl HostConfig {
    /// Caches compiled components in `dir` (created when missing).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Grants modules what `grants` says, beyond their folders.
    pub fn grants(mut self, grants: OperatorGrants) -> Self {
        self.grants = grants;
        self
    }

    /// The default settings with the compile cache in `$XDG_CACHE_HOME/symphra-wasm` (or
    /// `~/.cache/symphra-wasm`, or the temporary folder): those of [`WasmHost::shared`].
    pub fn standard() -> Self {
        Self::default().cache_dir(default_cache_dir())
    }

    /// Turns the pooling allocator on or off.
    pub fn pooling(mut self, on: bool) -> Self {
        self.pooling = on;
        self
    }
}

pub(crate) struct HostInner {
    pub(crate) engine: Engine,
    pub(crate) plain: Linker<State>,
    pub(crate) with_wasi: Linker<State>,
    pub(crate) cache: Option<CompileCache>,
    pub(crate) config: HostConfig,
}

/// Runs WebAssembly component modules: one wasmtime [`Engine`] shared by every module, the
/// host functions of `symphra:module/host`, an epoch ticker that bounds hook time, and an
/// optional on-disk compile cache. Cheap to clone.
///
/// ```no_run
/// use symphra_wasm::{HostConfig, WasmHost};
///
/// let host = WasmHost::new(HostConfig::default().cache_dir("/var/tmp/symphra-cache"))?;
/// let module = host.load_dir("modules/echo".as_ref())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct WasmHost {
    pub(crate) inner: Arc<HostInner>,
}

impl std::fmt::Debug for WasmHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmHost")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl WasmHost {
    /// Creates a host: configures and creates the engine, links the host functions, and
    /// starts the epoch ticker thread (which ends when the last clone is dropped).
    pub fn new(config: HostConfig) -> Result<Self, HostError> {
        let mut wasm = wasmtime::Config::new();
        wasm.wasm_component_model(true);
        wasm.epoch_interruption(true);
        if config.pooling {
            let mut pool = PoolingAllocationConfig::default();
            let n = config.max_instances.max(1);
            pool.total_component_instances(n)
                .total_core_instances(n.saturating_mul(8))
                .total_memories(n.saturating_mul(2))
                .total_tables(n.saturating_mul(4))
                .max_memory_size(usize::try_from(config.max_memory).unwrap_or(usize::MAX));
            wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        let engine = Engine::new(&wasm).map_err(|e| HostError::Engine(format!("{e:#}")))?;

        let mut plain = Linker::<State>::new(&engine);
        bindings::Module::add_to_linker::<State, wasmtime::component::HasSelf<State>>(
            &mut plain,
            |state| state,
        )
        .map_err(|e| HostError::Engine(format!("{e:#}")))?;
        // Both versions' host interfaces: their names differ by version, so one linker
        // serves components of either.
        bindings_v2::ModuleWithHealth::add_to_linker::<State, wasmtime::component::HasSelf<State>>(
            &mut plain,
            |state| state,
        )
        .map_err(|e| HostError::Engine(format!("{e:#}")))?;
        let mut with_wasi = plain.clone();
        wasmtime_wasi::p2::add_to_linker_async(&mut with_wasi)
            .map_err(|e| HostError::Engine(format!("{e:#}")))?;

        let cache = match &config.cache_dir {
            Some(dir) => Some(CompileCache::open(dir, &engine)?),
            None => None,
        };
        let inner = Arc::new(HostInner {
            engine,
            plain,
            with_wasi,
            cache,
            config,
        });
        spawn_ticker(Arc::downgrade(&inner))?;
        Ok(Self { inner })
    }

    /// A host with default settings and a compile cache in `$XDG_CACHE_HOME/symphra-wasm`
    /// (or `~/.cache/symphra-wasm`, or the temporary folder), shared by the whole process
    /// (used by
    /// [`DirectoryExt::load_from_directory`](crate::DirectoryExt::load_from_directory)).
    pub fn shared() -> Result<Self, HostError> {
        static SHARED: OnceLock<WasmHost> = OnceLock::new();
        if let Some(host) = SHARED.get() {
            return Ok(host.clone());
        }
        let host = Self::with_fallbacks(HostConfig::standard())?;
        Ok(SHARED.get_or_init(|| host).clone())
    }

    /// A host with `config`, falling back to no cache when the cache folder cannot be used,
    /// and to allocating on demand when the pooling allocator cannot reserve its memory.
    pub fn with_fallbacks(config: HostConfig) -> Result<Self, HostError> {
        let host = match Self::new(config.clone()) {
            Ok(host) => host,
            Err(error @ HostError::Cache { .. }) => {
                tracing::warn!(%error, "compile cache unavailable; compiling every time");
                Self::new(HostConfig {
                    cache_dir: None,
                    ..config
                })?
            }
            Err(error) => {
                // The pooling allocator reserves address space up front; where that is
                // refused (e.g. `ulimit -v`), allocate on demand instead.
                tracing::warn!(%error, "pooling allocator unavailable; allocating on demand");
                Self::new(config.pooling(false))?
            }
        };
        Ok(host)
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The host's settings.
    pub fn config(&self) -> &HostConfig {
        &self.inner.config
    }

    /// Compiles (or takes from the cache) the component of a module folder, checks it
    /// against the WIT world and the manifest, and returns the module ready to register.
    pub fn load_dir(&self, dir: &Path) -> Result<WasmModule, LoadError> {
        let manifest = Manifest::from_dir(dir)?;
        self.load(dir, manifest)
    }

    /// Like [`load_dir`](Self::load_dir) with a manifest already read. The component
    /// must be inside `dir` (symlinks resolved).
    pub fn load(&self, dir: &Path, manifest: Manifest) -> Result<WasmModule, LoadError> {
        let path = dir.join(&manifest.component);
        crate::grants::check_component(&manifest.name, dir, &path)?;
        let bytes = std::fs::read(&path).map_err(|source| LoadError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(self.load_bytes(&path, &bytes, manifest)?.with_dir(dir))
    }

    /// Loads a module from component bytes; `path` names it in errors. What the manifest
    /// asks for is checked against the folder of its file and the operator's grants
    /// ([`HostConfig::grants`]).
    pub fn load_bytes(
        &self,
        path: &Path,
        bytes: &[u8],
        manifest: Manifest,
    ) -> Result<WasmModule, LoadError> {
        if manifest.capabilities.memory_limit > self.inner.config.max_memory {
            return Err(LoadError::MemoryLimitTooHigh {
                path: manifest.path.clone(),
                asked: manifest.capabilities.memory_limit,
                max: self.inner.config.max_memory,
            });
        }
        let folder = manifest.path.parent().unwrap_or(Path::new("."));
        let dirs = self.inner.config.grants.review(folder, &manifest)?;
        if !bytes.starts_with(b"\0asm") {
            // Never quote the bytes: the file may be anything (a secret the manifest named).
            return Err(LoadError::Compile {
                path: path.to_owned(),
                reason: "the file does not start with the WebAssembly magic number (\\0asm)"
                    .to_owned(),
            });
        }
        let component = self.compile(path, bytes)?;
        WasmModule::new(self.clone(), path, component, manifest, dirs)
    }

    /// Compiles component bytes, through the cache when there is one.
    pub fn compile(&self, path: &Path, bytes: &[u8]) -> Result<Component, LoadError> {
        self.compile_with_outcome(path, bytes).map(|(c, _)| c)
    }

    /// Like [`compile`](Self::compile), also saying whether the cache was hit (always
    /// [`CacheOutcome::Miss`] without a cache).
    pub fn compile_with_outcome(
        &self,
        path: &Path,
        bytes: &[u8],
    ) -> Result<(Component, CacheOutcome), LoadError> {
        let compile = |bytes: &[u8]| {
            Component::new(&self.inner.engine, bytes).map_err(|e| LoadError::Compile {
                path: path.to_owned(),
                reason: format!("{e:#}"),
            })
        };
        match &self.inner.cache {
            Some(cache) => cache.lookup(&self.inner.engine, path, bytes, compile),
            None => compile(bytes).map(|c| (c, CacheOutcome::Miss)),
        }
    }

    /// The compile cache, when configured.
    pub fn cache(&self) -> Option<&CompileCache> {
        self.inner.cache.as_ref()
    }
}

fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("symphra-wasm")
}

fn spawn_ticker(host: Weak<HostInner>) -> Result<(), HostError> {
    std::thread::Builder::new()
        .name("symphra-wasm-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(EPOCH_TICK);
                match host.upgrade() {
                    Some(inner) => inner.engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
        .map_err(|e| HostError::Engine(format!("cannot start the epoch ticker thread: {e}")))
}
