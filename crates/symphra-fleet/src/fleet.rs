//! A replica's membership of the fleet: the buckets it uses, and the tasks it runs for
//! its manager.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use serde::{Deserialize, Serialize};
use symphra::ModuleManager;
use symphra::context::{CancellationToken, Lease};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::campaign::Campaign;
use crate::{FleetError, LeaseTiming, Services, buckets};

/// How long the fleet waits for an answer to a JetStream request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// Who holds a lease: what a holder writes as the lease's value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// The replica's id.
    pub replica: String,
    /// Its host name.
    pub host: String,
    /// Its process id.
    pub pid: u32,
}

/// How a replica joins the fleet.
#[derive(Clone, Debug)]
pub struct FleetOptions {
    /// The replica's id, unique in the fleet (a key of the heartbeat bucket): letters,
    /// digits, `-` and `_`. `<host>-<pid>` by default.
    pub replica: String,
    /// The number of servers each bucket is replicated on (1 for a single server, 3 for a
    /// three-node cluster).
    pub bucket_replicas: usize,
    /// The lease timings of singleton modules.
    pub lease: LeaseTiming,
    /// How often the replica publishes its state; its entry disappears after three
    /// periods without one. Every two periods (at least 1 s) its reconciler also checks
    /// with the decisions' stream leader that it has applied every decision.
    pub heartbeat: Duration,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self {
            replica: format!("{}-{}", crate::heartbeat::host_name(), std::process::id()),
            bucket_replicas: 1,
            lease: LeaseTiming::default(),
            heartbeat: Duration::from_secs(2),
        }
    }
}

/// One replica's membership of the fleet.
///
/// ```no_run
/// # async fn example(manager: symphra::ModuleManager) -> Result<(), Box<dyn std::error::Error>> {
/// use symphra_fleet::{Fleet, FleetOptions};
///
/// let client = async_nats::connect("nats://127.0.0.1:4222").await?;
/// let mut fleet = Fleet::join(client, FleetOptions::default()).await?;
/// fleet.attach(&manager).await?; // before the first start: singletons wait for their lease
/// manager.start_all().await?;
/// // … until shutdown:
/// manager.stop_all().await?;
/// fleet.leave().await; // hands the leases back
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Fleet {
    options: FleetOptions,
    jetstream: jetstream::Context,
    leases: jetstream::kv::Store,
    shutdown: CancellationToken,
    tasks: JoinSet<()>,
    holding: BTreeMap<String, watch::Receiver<Option<Lease>>>,
    services: Services,
}

impl Fleet {
    /// Joins the fleet through `client`: opens (or creates) the leases bucket.
    pub async fn join(
        client: async_nats::Client,
        options: FleetOptions,
    ) -> Result<Self, FleetError> {
        let services = Services::new(client.clone());
        let mut jetstream = jetstream::new(client);
        // Shorter than async-nats' 5 s: a request to a server that died is given up, and
        // the next one sent through the reconnected client, sooner.
        jetstream.set_timeout(REQUEST_TIMEOUT);
        let leases = buckets::open(
            &jetstream,
            buckets::leases(options.lease.ttl(), options.bucket_replicas),
        )
        .await?;
        Ok(Self {
            options,
            jetstream,
            leases,
            shutdown: CancellationToken::new(),
            tasks: JoinSet::new(),
            holding: BTreeMap::new(),
            services,
        })
    }

    /// The options the replica joined with.
    pub fn options(&self) -> &FleetOptions {
        &self.options
    }

    /// The services this replica exposes and calls (clones share its registry, so a
    /// call to a service exposed through any clone stays in this process).
    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The JetStream context the fleet talks through.
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.jetstream
    }

    /// Puts `manager` under the fleet: its singleton modules start only while this
    /// replica holds their lease, for which it campaigns from now on; the fleet's
    /// decisions already written are applied (before this returns) and then as they
    /// come; the replica's state is published with a heartbeat. Call it before the
    /// manager's first start. Returns the singletons' names.
    pub async fn attach(&mut self, manager: &ModuleManager) -> Result<Vec<String>, FleetError> {
        let singletons = self.campaign(manager)?;
        let replicas = self.options.bucket_replicas;
        let desired = buckets::open(&self.jetstream, buckets::desired(replicas)).await?;
        let heartbeats = buckets::open(
            &self.jetstream,
            buckets::replicas(self.options.heartbeat * 3, replicas),
        )
        .await?;
        let changed = Arc::new(Notify::new());
        let mut reconciler =
            crate::reconcile::Reconciler::new(manager.clone(), desired, Arc::clone(&changed));
        reconciler
            .apply_all()
            .await
            .map_err(|source| FleetError::Key {
                action: "read",
                bucket: buckets::DESIRED,
                key: String::new(),
                source,
            })?;
        self.tasks
            .spawn(reconciler.run(resync_period(self.options.heartbeat), self.shutdown.clone()));
        self.tasks.spawn(crate::heartbeat::beat(
            manager.clone(),
            heartbeats,
            self.options.replica.clone(),
            self.options.heartbeat,
            changed,
            self.shutdown.clone(),
        ));
        Ok(singletons)
    }

    /// Starts a campaign for each singleton of `manager`.
    fn campaign(&mut self, manager: &ModuleManager) -> Result<Vec<String>, FleetError> {
        let holder = Holder {
            replica: self.options.replica.clone(),
            host: crate::heartbeat::host_name(),
            pid: std::process::id(),
        };
        let holder = serde_json::to_vec(&holder).map_err(|error| FleetError::Malformed {
            bucket: buckets::LEASES,
            key: String::new(),
            reason: error.to_string(),
        })?;
        let singletons = manager.coordinate_singletons();
        for module in &singletons {
            let (holding, seen) = watch::channel(None);
            let campaign = Campaign {
                store: self.leases.clone(),
                key: module.clone(),
                holder: holder.clone().into(),
                timing: self.options.lease,
                holding,
                shutdown: self.shutdown.clone(),
            };
            self.tasks.spawn(campaign.run());
            self.tasks.spawn(crate::singletons::apply(
                manager.clone(),
                module.clone(),
                seen.clone(),
            ));
            self.holding.insert(module.clone(), seen);
        }
        Ok(singletons)
    }

    /// The lease this replica holds for `module` as it changes: `None` while another
    /// replica holds it. `None` for a module that is not an attached singleton.
    pub fn lease_changes(&self, module: &str) -> Option<watch::Receiver<Option<Lease>>> {
        self.holding.get(module).cloned()
    }

    /// Leaves the fleet: stops campaigning and hands back the leases held (their modules
    /// are stopped, if they still run). Waits at most one renewal period per task.
    pub async fn leave(mut self) {
        self.shutdown.cancel();
        let limit = self.options.lease.renew_every() + Duration::from_secs(1);
        let _ = tokio::time::timeout(limit, async {
            while self.tasks.join_next().await.is_some() {}
        })
        .await;
        self.tasks.abort_all();
    }
}

/// How often a replica checks that its watch has delivered every decision: twice the
/// heartbeat period, at least one second.
pub(crate) fn resync_period(heartbeat: Duration) -> Duration {
    (heartbeat * 2).max(Duration::from_secs(1))
}

/// Writes an operator's `decision` about `module` for the whole fleet (compare-and-swap;
/// see [`decide`](crate::desired::decide)), creating the bucket on a NATS that has none
/// yet with `bucket_replicas` replicas.
pub async fn decide(
    jetstream: &jetstream::Context,
    module: &str,
    decision: crate::Decision,
    bucket_replicas: usize,
) -> Result<crate::Desired, FleetError> {
    let store = buckets::open(jetstream, buckets::desired(bucket_replicas)).await?;
    let (desired, _) = crate::desired::decide(&store, module, decision).await?;
    Ok(desired)
}
