//! Running one module through its lifecycle in a test, with fake dependencies.

use std::sync::Arc;
use std::time::Duration;

use semver::Version;
use serde_json::Value;

use crate::bus::EventBus;
use crate::error::Error;
use crate::lifecycle::{Hook, ModuleState};
use crate::manager::{ModuleEvent, ModuleHandle, ModuleManager, ModuleManagerBuilder, Report};
use crate::module::{Module, ModuleMetadata};
use crate::testing::{CallLog, EventRecorder, Probe};

/// Runs one module under test through its lifecycle, with a stand-in registered under every
/// dependency name it declares, and records what happens: its states, the hooks it went
/// through, and every event on the bus.
///
/// Dependencies given with [`dependency`](Self::dependency) are used as they are (so the
/// module's `ctx.get::<T>()` finds the type it expects); every other required dependency
/// gets a [`Probe`] whose version satisfies the declared requirement.
///
/// ```
/// use std::time::Duration;
/// use symphra::prelude::*;
/// use symphra::testing::Harness;
///
/// struct Users;
/// impl Module for Users {
///     fn metadata(&self) -> ModuleMetadata {
///         ModuleMetadata::new("users").depends_on("database >=1.2, <2")
///     }
///     async fn start(&self, ctx: &Context) -> HookResult {
///         ctx.publish("users.ready", ()).await?;
///         Ok(())
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() -> Result<(), symphra::Error> {
/// let harness = Harness::builder(Users).build()?;
/// harness.start().await?;
/// assert_eq!(harness.state(), ModuleState::Started);
/// harness.events().wait_for(|e| e.topic() == "users.ready", Duration::from_secs(1)).await.unwrap();
/// harness.stop().await?;
/// assert_eq!(harness.hooks(), [Hook::Bootstrap, Hook::Install, Hook::Start, Hook::Stop]);
/// assert_eq!(harness.calls().modules_calling(Hook::Start), ["database"]); // the stand-in
/// # Ok(()) }
/// ```
pub struct Harness {
    name: String,
    manager: ModuleManager,
    recorder: EventRecorder,
    log: CallLog,
}

/// Collects the module under test, its configuration and its stand-ins.
#[must_use = "call .build() to get a harness"]
pub struct HarnessBuilder {
    name: String,
    metadata: ModuleMetadata,
    builder: ModuleManagerBuilder,
    provided: Vec<String>,
    log: CallLog,
}

impl Harness {
    /// Starts building a harness for `module`.
    pub fn builder<M: Module>(module: M) -> HarnessBuilder {
        let metadata = module.metadata();
        HarnessBuilder {
            name: metadata.name().to_owned(),
            metadata,
            builder: ModuleManager::builder().module(module),
            provided: Vec::new(),
            log: CallLog::default(),
        }
    }

    /// Runs `bootstrap`, `install` and `start` on the module (its stand-ins first).
    pub async fn start(&self) -> Result<Report, Error> {
        self.manager.start(&self.name).await
    }

    /// Runs `stop` on the module.
    pub async fn stop(&self) -> Result<Report, Error> {
        self.manager.stop(&self.name).await
    }

    /// Runs `reload` on the module.
    pub async fn reload(&self) -> Result<(), Error> {
        self.manager.reload(&self.name).await
    }

    /// Runs `uninstall` on the module.
    pub async fn uninstall(&self) -> Result<(), Error> {
        self.manager.uninstall(&self.name).await
    }

    /// The module's state now.
    pub fn state(&self) -> ModuleState {
        self.handle()
            .map_or(ModuleState::Registered, |handle| handle.state())
    }

    /// A handle on the module under test (its failure, config, the module itself).
    pub fn handle(&self) -> Result<ModuleHandle, Error> {
        self.manager.module(&self.name)
    }

    /// The hooks of the module under test that completed or failed, in order, read from
    /// its lifecycle events.
    pub fn hooks(&self) -> Vec<Hook> {
        self.recorder
            .events()
            .iter()
            .filter(|event| event.topic() == crate::manager::STATE_CHANGED)
            .filter_map(|event| event.payload::<ModuleEvent>())
            .filter(|change| *change.module == *self.name)
            .filter(|change| !matches!(change.to, ModuleState::Starting | ModuleState::Stopping))
            .map(|change| change.hook)
            .collect()
    }

    /// Every event published on the bus since the harness was built (lifecycle events
    /// included), with waits for more.
    pub fn events(&self) -> &EventRecorder {
        &self.recorder
    }

    /// The hook calls of the generated stand-ins.
    pub fn calls(&self) -> &CallLog {
        &self.log
    }

    /// The manager behind the harness.
    pub fn manager(&self) -> &ModuleManager {
        &self.manager
    }

    /// Waits until the module reaches `state`; fails after `within`.
    pub async fn wait_for_state(
        &self,
        state: ModuleState,
        within: Duration,
    ) -> Result<(), crate::util::TimeoutError> {
        if self.state() == state {
            return Ok(());
        }
        let name = self.name.clone();
        self.recorder
            .wait_for(
                move |event| {
                    event
                        .payload::<ModuleEvent>()
                        .is_some_and(|change| *change.module == *name && change.to == state)
                },
                within,
            )
            .await
            .map(|_| ())
    }
}

impl HarnessBuilder {
    /// The configuration the module is installed with.
    pub fn config(mut self, config: Value) -> Self {
        self.builder = self.builder.config(self.name.clone(), config);
        self
    }

    /// Registers `module` as one of the dependencies, instead of a generated stand-in.
    pub fn dependency<M: Module>(mut self, module: M) -> Self {
        self.provided.push(module.metadata().name().to_owned());
        self.builder = self.builder.module(module);
        self
    }

    /// Registers `fake` as the dependency called `name`, providing the interface `T`
    /// (usually a `dyn Trait`) that the module under test asks for with
    /// [`Context::get_dyn`](crate::Context::get_dyn): a fake is any type implementing
    /// the trait, and the module needs no generics to take it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use symphra::prelude::*;
    /// use symphra::testing::Harness;
    ///
    /// trait Clock: Send + Sync { fn now(&self) -> u64; }
    /// struct Fixed;
    /// impl Clock for Fixed { fn now(&self) -> u64 { 42 } }
    ///
    /// struct Stamper;
    /// impl Module for Stamper {
    ///     fn metadata(&self) -> ModuleMetadata { ModuleMetadata::new("stamper").depends_on("clock ^1") }
    ///     async fn start(&self, ctx: &Context) -> HookResult {
    ///         assert_eq!(ctx.get_dyn::<dyn Clock>("clock")?.now(), 42);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> symphra::Result<()> {
    /// let harness = Harness::builder(Stamper)
    ///     .fake::<dyn Clock>("clock", Arc::new(Fixed))
    ///     .build()?;
    /// harness.start().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn fake<T: ?Sized + Send + Sync + 'static>(mut self, name: &str, fake: Arc<T>) -> Self {
        let version = self
            .metadata
            .dependencies()
            .iter()
            .find(|dependency| dependency.name() == name)
            .map_or_else(
                || Version::new(0, 1, 0),
                |d| satisfying_version(d.requirement()),
            )
            .to_string();
        let stand_in = Probe::new(name, &self.log).metadata_with(|m| m.version(&version));
        self.provided.push(name.to_owned());
        self.builder = self
            .builder
            .module(stand_in)
            .provides(move |_: Arc<Probe>| fake);
        self
    }

    /// Changes the manager's settings (timeouts, concurrency, ...).
    pub fn manager(
        mut self,
        change: impl FnOnce(ModuleManagerBuilder) -> ModuleManagerBuilder,
    ) -> Self {
        self.builder = change(self.builder);
        self
    }

    /// Registers a stand-in for every required dependency not given, and builds.
    pub fn build(self) -> Result<Harness, Error> {
        let Self {
            name,
            metadata,
            mut builder,
            provided,
            log,
        } = self;
        for dependency in metadata.dependencies() {
            if dependency.is_optional() || provided.iter().any(|p| p == dependency.name()) {
                continue;
            }
            let version = satisfying_version(dependency.requirement()).to_string();
            let stand_in =
                Probe::new(dependency.name(), &log).metadata_with(|m| m.version(&version));
            builder = builder.module(stand_in);
        }
        let bus = EventBus::new();
        let recorder = EventRecorder::new(&bus, "*")?;
        let manager = builder.bus(bus).build()?;
        Ok(Harness {
            name,
            manager,
            recorder,
            log,
        })
    }
}

/// A version that satisfies `requirement`: the lowest bound it names, or a common version.
fn satisfying_version(requirement: &semver::VersionReq) -> Version {
    let named = requirement
        .comparators
        .iter()
        .map(|c| Version::new(c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0)));
    let bumped = requirement
        .comparators
        .iter()
        .map(|c| Version::new(c.major, c.minor.unwrap_or(0), c.patch.unwrap_or(0) + 1));
    named
        .chain(bumped)
        .chain([Version::new(0, 1, 0), Version::new(1, 0, 0)])
        .find(|version| requirement.matches(version))
        .unwrap_or_else(|| Version::new(0, 1, 0))
}

impl std::fmt::Debug for Harness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("module", &self.name)
            .field("manager", &self.manager)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for HarnessBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HarnessBuilder")
            .field("module", &self.name)
            .field("provided", &self.provided)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_version_inside_the_requirement() {
        for (req, expected) in [
            (">=1.2, <2", "1.2.0"),
            ("^0.3", "0.3.0"),
            (">1.4.0", "1.4.1"),
            ("*", "0.1.0"),
            ("<1", "0.1.0"),
        ] {
            let req = semver::VersionReq::parse(req).unwrap();
            assert_eq!(satisfying_version(&req).to_string(), expected, "{req}");
        }
    }
}
