//! The canonical state machine: one call history per log, faults that fail one entry alike
//! everywhere, base points that a snapshot restores exactly, idempotency keys, installs and
//! config entries.

use std::sync::Arc;

use openraft::entry::RaftEntry;
use openraft::testing::log_id;
use openraft::EntryPayload;

use super::canonical::{Applied, Canonical};
use super::image::SnapshotImage;
use super::local::{LocalPool, LocalReplica};
use super::tail::Tail;
use super::{Machine, StateMachine};
use crate::plugin::tests::{bundled_plugin, plugin_file};
use crate::plugin::{
    ConsoleAction, ConsoleLine, ConsoleMode, Digest, Limits, PluginImage, Runtime, ENTROPY_BYTES,
};
use crate::raft::entry::{ApplyOutcome, Envelope, MachineConfig, Payload, RequestKey};
use crate::raft::snapshot_store::{SnapshotFile, SnapshotStore};
use crate::raft::typ::{Entry, SnapshotMeta};
use crate::raft::TypeConfig;

/// One runtime for every test here: compiling the plugin once is enough.
fn runtime() -> Arc<Runtime> {
    static RUNTIME: std::sync::OnceLock<Arc<Runtime>> = std::sync::OnceLock::new();
    RUNTIME.get_or_init(|| Arc::new(Runtime::new())).clone()
}

/// The bundled plugin's command for a demo console line, built by its own console front with
/// fresh entropy (so two bookings never mint the same token).
fn command(line: &str) -> Vec<u8> {
    static MINTED: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);
    let plugin = runtime()
        .load(&bundled_plugin(), Limits::default().stack_bytes)
        .expect("valid plugin");
    let mut front = plugin.instantiate(Limits::default()).expect("instance");
    let mut entropy = [0; ENTROPY_BYTES];
    entropy[0] = MINTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    entropy[1..9].copy_from_slice(&(line.len() as u64).to_le_bytes());
    let line = ConsoleLine {
        text: line.to_string(),
        mode: ConsoleMode::Demo,
        entropy,
    };
    match front.console_parse(&line).expect("parse") {
        Some(ConsoleAction::Write(command)) => command,
        other => panic!("{} is not a write: {other:?}", line.text),
    }
}

/// One replica's canonical machine fed by hand-made entries.
struct Replica {
    canonical: Canonical,
    index: u64,
    snapshots: Vec<(SnapshotMeta, SnapshotImage)>,
    /// Every entry applied, in order.
    log: Vec<Entry>,
}

impl Replica {
    /// A replica whose first entry installs `image` with `config`.
    fn new(image: PluginImage, config: MachineConfig) -> Replica {
        let mut replica = Replica::empty();
        let installed = replica.apply(Payload::InstallPlugin {
            image,
            bootstrap: true,
            config,
        });
        assert!(
            matches!(installed, ApplyOutcome::PluginInstalled { .. }),
            "{installed:?}"
        );
        replica
    }

    /// A replica with nothing applied.
    fn empty() -> Replica {
        Replica {
            canonical: Canonical::new(runtime()),
            index: 0,
            snapshots: Vec::new(),
            log: Vec::new(),
        }
    }

    /// A replica restored from a snapshot (as after a restart or an install from the leader).
    fn restored(meta: &SnapshotMeta, image: SnapshotImage) -> Replica {
        let mut replica = Replica::empty();
        replica
            .canonical
            .restore_snapshot(meta, image, false)
            .expect("restore");
        replica.index = meta.last_log_id.map_or(0, |id| id.index);
        replica
    }

    fn bundled(config: MachineConfig) -> Replica {
        Replica::new(bundled_plugin(), config)
    }

    fn entry(&mut self, payload: Payload, time_ms: u64) -> Entry {
        self.index += 1;
        Entry::new_normal(
            log_id::<TypeConfig>(1, 0, self.index),
            Envelope {
                leader_time_ms: time_ms,
                payload,
            },
        )
    }

    fn apply_entry(&mut self, entry: Entry) -> ApplyOutcome {
        self.index = entry.log_id.index;
        self.log.push(entry.clone());
        let Applied {
            outcome, snapshot, ..
        } = self.canonical.apply(&entry).expect("not poisoned");
        if let Some(job) = snapshot {
            self.snapshots.push((job.meta, job.image));
        }
        outcome
    }

    fn apply(&mut self, payload: Payload) -> ApplyOutcome {
        let time = 1_000 + self.index;
        let entry = self.entry(payload, time);
        self.apply_entry(entry)
    }

    fn book(&mut self, line: &str) -> ApplyOutcome {
        self.apply(Payload::Command(command(line)))
    }

    /// A hash of the state, taken on a separate instance (base bytes plus the tail), never by
    /// calling the canonical instance.
    fn state_hash(&self) -> String {
        hash_of(&self.canonical.tail)
    }

    /// The fuel the canonical instance used for its last call.
    fn last_fuel(&self) -> u64 {
        self.canonical
            .active
            .as_ref()
            .expect("plugin")
            .instance
            .last_fuel_used()
    }
}

/// A hash of the state a tail describes, taken on a separate instance (base bytes plus the
/// tail), never by calling a canonical instance.
fn hash_of(tail: &Tail) -> String {
    let base = tail.base();
    let plugin = base.plugin.as_ref().expect("plugin");
    let mut instance = plugin.instantiate(base.limits).expect("instance");
    instance
        .restore(&base.state)
        .expect("call")
        .expect("restore");
    for entry in tail.entries() {
        instance.apply(entry.ctx, &entry.command).expect("replay");
    }
    Digest::of(&instance.snapshot().expect("snapshot")).hex()
}

fn config(limits: Limits, snapshot_every: u64) -> MachineConfig {
    MachineConfig {
        limits,
        snapshot_every,
    }
}

#[test]
fn a_command_that_runs_out_of_fuel_fails_alone_and_the_state_survives() {
    // The same command bytes on two replicas with the same history cost the same fuel: measure
    // them on one, then give the other a budget that the big command exceeds and the rest fit.
    let (d1, a1, big, b1) = (
        Payload::Command(command("d1")),
        Payload::Command(command("a1")),
        Payload::Command(command("b1 b2 b3 b4 b5 b6 c1 c2")),
        Payload::Command(command("b1")),
    );
    // A first entry may do one-time work (the bundled plugin dates its first-start data on the
    // first log time), so a clock tick goes first on both replicas, outside the measurement.
    let tick = Payload::Command(Vec::new());
    let mut calibration = Replica::bundled(MachineConfig::default());
    assert!(matches!(
        calibration.apply(tick.clone()),
        ApplyOutcome::Applied(_)
    ));
    let mut fuel = Vec::new();
    for payload in [&d1, &a1, &big] {
        assert!(matches!(
            calibration.apply(payload.clone()),
            ApplyOutcome::Applied(_)
        ));
        fuel.push(calibration.last_fuel());
    }
    let (small, large) = (fuel[0].max(fuel[1]), fuel[2]);
    assert!(
        large > small,
        "the larger command costs more fuel than the small ones: {small} vs {large}"
    );

    let limits = Limits {
        fuel_per_call: small + (large - small) / 2,
        ..Limits::default()
    };
    let mut replica = Replica::bundled(config(limits, 10_000));
    assert!(matches!(replica.apply(tick), ApplyOutcome::Applied(_)));
    assert!(matches!(replica.apply(d1), ApplyOutcome::Applied(_)));
    assert!(matches!(
        replica.apply(a1.clone()),
        ApplyOutcome::Applied(_)
    ));
    match replica.apply(big) {
        ApplyOutcome::Failed(reason) => assert!(reason.contains("ran out of fuel"), "{reason}"),
        other => panic!("expected an out-of-fuel failure, got {other:?}"),
    }
    // The instance was rebuilt as it was before the failed command: a1 is still taken and
    // nothing of the failed command stuck (b1 is free).
    assert!(matches!(replica.apply(a1), ApplyOutcome::Rejected(_)));
    assert!(matches!(replica.apply(b1), ApplyOutcome::Applied(_)));
}

#[test]
fn replicas_fed_the_same_log_agree_even_when_one_restarts_from_a_base_point() {
    let every = 16;
    let lines = ["a1", "a2", "a1", "b1 b2", "c3", "b2", "d4", "a3 a4", "c1"];
    let mut first = Replica::bundled(config(Limits::default(), every));
    let mut second = Replica::bundled(config(Limits::default(), every));
    for round in 0..5 {
        for line in lines {
            let line = if round % 2 == 0 {
                line.to_string()
            } else {
                format!("cancel {round}")
            };
            let payload = Payload::Command(command(&line));
            assert_eq!(
                first.apply(payload.clone()),
                second.apply(payload),
                "same entry, same outcome"
            );
        }
    }
    assert!(
        first.snapshots.len() >= 2,
        "base points every {every} entries"
    );
    for (meta, _) in &first.snapshots {
        let index = meta.last_log_id.map_or(0, |id| id.index);
        // The install at index 1 is the first base point; the next come every `every` entries.
        assert!((index - 1) % every == 0, "base point at {index}");
    }
    assert_eq!(first.state_hash(), second.state_hash());

    // A third replica restores the latest base-point snapshot and applies the rest of the log,
    // as a restarted node or a follower installing the leader's snapshot does.
    let (meta, image) = first.snapshots.last().cloned().expect("a snapshot");
    let mut third = Replica::restored(&meta, image);
    let since = third.index;
    for entry in first
        .log
        .iter()
        .filter(|e| e.log_id.index > since)
        .cloned()
        .collect::<Vec<_>>()
    {
        third.apply_entry(entry);
    }
    assert_eq!(third.index, first.index);
    assert_eq!(third.state_hash(), first.state_hash());
    // From here on all three decide every entry alike.
    for line in ["e1", "e2", "a1", "e3", "e1 e2"] {
        let payload = Payload::Command(command(line));
        let a = first.apply(payload.clone());
        assert_eq!(second.apply(payload.clone()), a);
        assert_eq!(third.apply(payload), a);
    }
    assert_eq!(third.state_hash(), first.state_hash());
}

#[test]
fn a_keyed_command_applies_once_and_its_key_survives_a_snapshot() {
    let key = |fingerprint: u8| RequestKey {
        key: "retry-me".into(),
        fingerprint: [fingerprint; 32],
    };
    let keyed = |fingerprint: u8, line: &str| Payload::KeyedCommand {
        key: key(fingerprint),
        command: command(line),
    };
    let mut source = Replica::bundled(config(Limits::default(), 16));
    let first = source.apply(keyed(1, "a2"));
    assert!(matches!(first, ApplyOutcome::Applied(_)), "{first:?}");
    assert_eq!(
        source.apply(keyed(1, "a2")),
        ApplyOutcome::Replayed(Box::new(first.clone()))
    );
    assert!(matches!(
        source.apply(keyed(2, "a3")),
        ApplyOutcome::KeyReused(_)
    ));
    assert!(
        matches!(source.book("a3"), ApplyOutcome::Applied(_)),
        "the refused reuse must not have booked a3"
    );
    source.apply(Payload::Checkpoint);
    let (meta, image) = source
        .snapshots
        .last()
        .cloned()
        .expect("checkpoint snapshot");
    let mut target = Replica::restored(&meta, image);
    assert_eq!(target.state_hash(), source.state_hash());
    assert_eq!(
        target.apply(keyed(1, "a2")),
        ApplyOutcome::Replayed(Box::new(first))
    );
}

#[test]
fn a_bootstrap_install_never_replaces_the_current_plugin_and_bad_images_are_refused() {
    let mut replica = Replica::bundled(MachineConfig::default());
    let again = replica.apply(Payload::InstallPlugin {
        image: plugin_file("test/echo.wasm"),
        bootstrap: true,
        config: MachineConfig::default(),
    });
    assert_eq!(again, ApplyOutcome::PluginUnchanged);
    let bogus = PluginImage {
        hash: Digest([0; 32]),
        bytes: b"junk".to_vec().into(),
    };
    let refused = replica.apply(Payload::InstallPlugin {
        image: bogus,
        bootstrap: false,
        config: MachineConfig::default(),
    });
    assert!(
        matches!(refused, ApplyOutcome::PluginRefused(_)),
        "{refused:?}"
    );
    assert!(matches!(replica.book("a1"), ApplyOutcome::Applied(_)));
}

/// A plugin report reads the plugin and the state from one local instance, which follows the
/// tail as the apply thread fills it (ahead of the published status): the plugin it names must
/// be the one that produced that state, at every step of a swap.
#[test]
fn a_local_replica_names_the_plugin_and_install_of_the_state_it_holds() {
    let mut replica = Replica::bundled(MachineConfig::default());
    let tail = replica.canonical.tail.clone();
    let bundled = tail.base().plugin.clone().expect("installed");
    let mut local = LocalReplica::new(tail, bundled.clone());
    assert!(matches!(replica.book("a1"), ApplyOutcome::Applied(_)));
    local.instance().expect("caught up");
    let (plugin, installed_at) = local.cluster_plugin().expect("the cluster's plugin");
    assert_eq!(plugin.image.hash, bundled.image.hash);
    assert_eq!((installed_at, local.applied()), (1, 2));

    let swapped = replica.apply(Payload::InstallPlugin {
        image: plugin_file("test/echo.wasm"),
        bootstrap: false,
        config: MachineConfig::default(),
    });
    assert!(
        matches!(swapped, ApplyOutcome::PluginInstalled { .. }),
        "{swapped:?}"
    );
    local.instance().expect("rebuilt on the new plugin");
    let (plugin, installed_at) = local.cluster_plugin().expect("the cluster's plugin");
    assert_eq!(plugin.info.name, "echo");
    assert_eq!((installed_at, local.applied()), (3, 3));
}

#[test]
fn log_time_never_runs_backwards_whatever_the_leaders_clocks() {
    let mut replica = Replica::bundled(MachineConfig::default());
    for stamp in [5_000, 9_000, 2_000, 9_500, 1] {
        let entry = replica.entry(Payload::Command(Vec::new()), stamp);
        replica.apply_entry(entry);
    }
    assert_eq!(replica.canonical.log_time_ms, 9_500);
}

#[test]
fn configure_entries_change_the_limits_at_a_base_point_and_out_of_bounds_ones_are_refused() {
    let mut replica = Replica::bundled(MachineConfig::default());
    replica.book("a1");
    let tighter = config(
        Limits {
            fuel_per_call: 20_000_000,
            ..Limits::default()
        },
        32,
    );
    let before = replica.snapshots.len();
    assert_eq!(
        replica.apply(Payload::Configure(tighter)),
        ApplyOutcome::Configured(tighter)
    );
    assert_eq!(replica.canonical.config, tighter);
    assert_eq!(
        replica.snapshots.len(),
        before + 1,
        "a config change is a base point"
    );
    let absurd = config(
        Limits {
            memory_bytes: 1,
            ..Limits::default()
        },
        32,
    );
    assert!(matches!(
        replica.apply(Payload::Configure(absurd)),
        ApplyOutcome::ConfigRefused(_)
    ));
    assert_eq!(replica.canonical.config, tighter, "nothing changed");
    assert!(
        matches!(replica.book("a1"), ApplyOutcome::Rejected(_)),
        "state kept"
    );
}

#[test]
fn membership_and_blank_entries_reach_no_plugin() {
    let mut replica = Replica::bundled(MachineConfig::default());
    replica.index += 1;
    let blank = Entry {
        log_id: log_id::<TypeConfig>(1, 0, replica.index),
        payload: EntryPayload::Blank,
    };
    assert_eq!(replica.apply_entry(blank), ApplyOutcome::Nothing);
}

/// A node that starts from a snapshot restores a local instance beside the canonical one: the
/// first read then finds the state restored (the seed) instead of restoring it again.
#[test]
fn a_machine_opened_on_a_snapshot_seeds_a_local_instance_with_its_state() {
    let mut source = Replica::bundled(config(Limits::default(), 16));
    for line in ["a1", "a2", "b1 b2", "c3"].iter().cycle().take(40) {
        source.book(line);
    }
    let (meta, image) = source.snapshots.last().cloned().expect("a base point");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SnapshotStore::open(dir.path(), u64::MAX).expect("store");
    store.save(&meta, &image).expect("save");

    let machine = Machine::open(runtime(), store).expect("machine");
    let seed = machine
        .take_seed()
        .expect("a seed beside the canonical restore");
    assert!(machine.take_seed().is_none(), "one seed, taken once");
    let tail = machine.tail();
    let fallback = tail.base().plugin.clone().expect("plugin");
    let mut local = LocalReplica::seeded(tail.clone(), fallback, seed);
    let index = meta.last_log_id.map(|id| id.index).expect("index");
    assert_eq!(local.applied(), index);
    let (_, installed_at) = local.cluster_plugin().expect("the cluster's plugin");
    assert_eq!(installed_at, 1);
    let bytes = local
        .instance()
        .expect("seeded")
        .snapshot()
        .expect("snapshot");
    assert_eq!(Digest::of(&bytes).hex(), hash_of(&tail));
}

/// At a restart from a snapshot the log since is re-applied: only the seeded local worker
/// follows it (and takes every job) until it has reached the committed index saved before the
/// restart; then the other workers build their instances, caught up before their first job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_other_local_workers_wait_for_the_seeded_one_to_reach_the_log_end() {
    let mut source = Replica::bundled(config(Limits::default(), 16));
    for line in ["a1", "a2", "b1 b2", "c3"].iter().cycle().take(40) {
        source.book(line);
    }
    let (meta, image) = source.snapshots.last().cloned().expect("a base point");
    let base = meta.last_log_id.map(|id| id.index).expect("index");
    for line in ["d1", "d2", "d3", "e1", "e2"] {
        source.book(line);
    }
    let rest: Vec<Entry> = source.log[base as usize..].to_vec();
    let replay_to = source.index;
    assert!(rest.len() >= 5 && rest[0].log_id.index == base + 1);
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SnapshotStore::open(dir.path(), u64::MAX).expect("store");
    store.save(&meta, &image).expect("save");
    let machine = Machine::open(runtime(), store).expect("machine");
    let seed = machine.take_seed().expect("a seed");
    let fallback = machine.tail().base().plugin.clone().expect("plugin");
    let pool = LocalPool::start(2, machine.tail(), fallback, Some((seed, replay_to)));
    let worker = || {
        pool.run(|replica| {
            let name = std::thread::current().name().map(str::to_owned);
            (name, replica.applied())
        })
    };

    // Nothing re-applied yet: every job lands on the seeded worker.
    for _ in 0..50 {
        let (name, applied) = worker().await.expect("runs");
        assert_eq!(name.as_deref(), Some("plugin-local-0"));
        assert_eq!(applied, base);
    }
    machine.apply_batch(rest).await.expect("apply");
    // Once it reached the end, the other worker joins, already built and caught up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (name, applied) = worker().await.expect("runs");
        if name.as_deref() == Some("plugin-local-1") {
            assert_eq!(
                applied, replay_to,
                "built and caught up before its first job"
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the second worker never took a job"
        );
        tokio::task::yield_now().await;
    }
}

/// A log reader over entries held in memory, for the re-apply at start-up.
struct EntriesReader(Vec<Entry>);

impl openraft::storage::RaftLogReader<TypeConfig> for EntriesReader {
    async fn try_get_log_entries<
        RB: std::ops::RangeBounds<u64> + Clone + std::fmt::Debug + openraft::OptionalSend,
    >(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, std::io::Error> {
        Ok(self
            .0
            .iter()
            .filter(|e| range.contains(&e.log_id.index))
            .cloned()
            .collect())
    }

    async fn read_vote(&mut self) -> Result<Option<crate::raft::typ::Vote>, std::io::Error> {
        Ok(None)
    }
}

/// At a restart the committed entries after the snapshot are re-applied before Raft starts,
/// in chunks read while the previous one applies: the state ends exactly as on the replica
/// that applied them one by one. A log that no longer holds the first of them is left to
/// openraft (nothing applied), and a hole in the range is an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_reapplies_the_committed_log_after_the_snapshot_to_the_same_state() {
    let mut source = Replica::bundled(config(Limits::default(), 500));
    let lines = ["a1", "a2", "b1 b2", "c3", "d4", "e5", "f6", "a1"];
    let commands: Vec<Vec<u8>> = lines.iter().map(|line| command(line)).collect();
    for command in commands.iter().cycle().take(600) {
        source.apply(Payload::Command(command.clone()));
    }
    let (meta, image) = source.snapshots.last().cloned().expect("a base point");
    let base = meta.last_log_id.map(|id| id.index).expect("index");
    for command in commands.iter().cycle().take(2_500) {
        source.apply(Payload::Command(command.clone()));
    }
    let committed = source.log.last().map(|e| e.log_id);
    let open = || {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SnapshotStore::open(dir.path(), u64::MAX).expect("store");
        store.save(&meta, &image).expect("save");
        (Machine::open(runtime(), store).expect("machine"), dir)
    };
    let applied = |machine: &Machine| machine.status().last_applied.map(|id| id.index);

    let (machine, _dir) = open();
    let gone = source.log.get(base as usize).map(|e| e.log_id);
    let mut reader = EntriesReader(source.log.clone());
    let none = machine
        .reapply_committed(&mut reader, gone, committed)
        .await
        .expect("left to openraft");
    assert_eq!((none, applied(&machine)), (0, Some(base)));

    let reapplied = machine
        .reapply_committed(&mut reader, None, committed)
        .await
        .expect("re-applied");
    assert_eq!(reapplied, source.index - base);
    assert_eq!(applied(&machine), Some(source.index));
    assert_eq!(hash_of(&machine.tail()), source.state_hash());

    let (machine, _dir) = open();
    let mut holed = source.log.clone();
    holed.remove(base as usize + 1_500);
    let error = machine
        .reapply_committed(&mut EntriesReader(holed), None, committed)
        .await
        .expect_err("a hole");
    assert!(
        error.to_string().contains("misses committed entries"),
        "{error}"
    );
}

/// openraft builds snapshots concurrently with installing one it received, and this node's
/// snapshot writer may still be saving base points when the install lands: whatever the
/// interleaving, the installed (newer) snapshot stays current, the state is the installed one,
/// no temp file is left and the machine goes on applying.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn snapshot_builds_racing_an_install_keep_the_newest_snapshot_and_state() {
    use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};

    let every = 16;
    let lines = [
        "a1", "a2", "b1 b2", "c3", "cancel 1", "d4", "a3 a4", "c1", "cancel 2",
    ];
    let mut source = Replica::bundled(config(Limits::default(), every));
    for round in 0..25 {
        source.book(lines[round % lines.len()]);
        for line in lines {
            source.book(line);
        }
    }
    let (meta, image) = source.snapshots.last().cloned().expect("a base point");
    let installed_at = meta.last_log_id.map_or(0, |id| id.index);
    assert!(installed_at > 150, "base point at {installed_at}");

    // The snapshot as the leader would stream it: the bytes of its file.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let stored = SnapshotStore::open(elsewhere.path(), u64::MAX)
        .expect("store")
        .save(&meta, &image)
        .expect("save");
    let bytes = std::fs::read(&stored.path).expect("read");

    let dir = tempfile::tempdir().expect("temp dir");
    let store = SnapshotStore::open(dir.path(), u64::MAX).expect("store");
    let machine = Machine::open(runtime(), store.clone()).expect("machine");
    let behind: Vec<Entry> = source
        .log
        .iter()
        .filter(|e| e.log_id.index <= 150)
        .cloned()
        .collect();
    for batch in behind.chunks(5) {
        machine.apply_batch(batch.to_vec()).await.expect("apply");
    }
    // As on a node, where openraft is asked to build only once the writer announced a
    // snapshot on disk (`snapshots_to_raft`): the race under test is builds against the
    // install, not against the first write.
    let mut written = machine.watch_snapshots();
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        written.wait_for(Option::is_some),
    )
    .await
    .expect("a base point written within 30 s")
    .expect("the writer runs");

    let mut builds = Vec::new();
    for round in 0..8 {
        let mut sm = StateMachine::new(machine.clone());
        builds.push(tokio::spawn(async move {
            let mut builder = if round % 2 == 0 {
                sm.try_create_snapshot_builder(true).await.expect("forced")
            } else {
                sm.get_snapshot_builder().await
            };
            builder.build_snapshot().await.map(|s| s.meta)
        }));
    }
    let install = {
        let mut sm = StateMachine::new(machine.clone());
        let store = store.clone();
        tokio::spawn(async move {
            let mut incoming = store.receive().expect("receive");
            for chunk in bytes.chunks(4096) {
                incoming.write(chunk).expect("chunk");
            }
            let (path, meta, image) = incoming.finish().expect("verified");
            let file = std::fs::File::open(&path).expect("open");
            let len = bytes.len() as u64;
            let snapshot = SnapshotFile {
                file,
                len,
                path,
                prepared: Some(Box::new(image)),
            };
            sm.install_snapshot(&meta, snapshot).await
        })
    };
    install.await.expect("task").expect("installed");
    for build in builds {
        // A build may find nothing newer than the install or hand over an older base point
        // it read before the install: either is a complete snapshot, never an error.
        let built = build.await.expect("task").expect("built");
        assert!(built.last_log_id.is_some());
    }

    let current = store.current().expect("a snapshot");
    assert_eq!(
        current.meta.last_log_id, meta.last_log_id,
        "the newest stays"
    );
    assert_eq!(
        machine.status().last_applied.map(|id| id.index),
        Some(installed_at)
    );
    // Base points hand their snapshots to the writer thread, which may still be writing one
    // (to a temp file) when the builds return: wait until it settles, then exactly one
    // snapshot file may be left and no temp file.
    let list = || -> Vec<String> {
        std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    };
    let settle_by = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while list().iter().any(|n| n.ends_with(".tmp")) && std::time::Instant::now() < settle_by {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let names = list();
    assert_eq!(names.len(), 1, "one snapshot file, no temp: {names:?}");
    let rest: Vec<Entry> = source
        .log
        .iter()
        .filter(|e| e.log_id.index > installed_at)
        .cloned()
        .collect();
    machine.apply_batch(rest).await.expect("apply");
    assert_eq!(hash_of(&machine.tail()), source.state_hash());
}
