//! Backend-agnostic conformance suite: the SEMANTICS.md rules, run against whatever
//! storage the broker serves, given only a base URI and a property map.
//!
//! Every fixture is made and inspected **through the broker** (openWriter/pwrite/
//! closeWriter, listPath, deletePath ...), never with `std::fs`, and every path-taking
//! call carries `Target::props` (credentials, HA keys), so the same checks run on
//! `file:`, `hdfs://nn:port/...`, `hdfs://nameservice/...`, `viewfs://cluster/...` and
//! object stores. Object stores have no empty directories: no check makes one.
//!
//! A backend's module runs it with `conformance_tests!(run)` inside a `mod conformance`:
//! one `#[test]` per check (`hdfs_plain::conformance::rename_dir` ...), each calling
//! `run(check)`, which holds whatever lock the backend needs and hands the check to the
//! backend's [`Suite`]: one broker and one fresh base for all of that backend's checks.
//! A server of a MiniDFSCluster gets that whole module from `cluster_conformance!`.
//! The checks are in checks.rs.
//!
//! Expects the broker's `hdfs_read_buffer_size_kb` to be at least 4096 (the default is
//! 8192): some preads ask for 4 MiB and expect all of it.

pub mod checks;

use std::sync::Mutex;

use crate::common::at_exit::at_exit;
use crate::common::*;

/// Where the suite runs.
#[derive(Clone)]
pub struct Target {
    /// A fresh, unique, not-yet-existing directory URI, fully qualified (with the
    /// authority for every scheme but `file`): `file:/tmp/x/run-1f2e`,
    /// `hdfs://127.0.0.1:9000/conf-1f2e`, `s3a://bucket/conf-1f2e`. See [`unique`].
    pub base: String,
    /// The `WITH BROKER (...)` map sent with every path-taking call.
    pub props: Props,
    /// The clientId sent with openReader/openWriter.
    pub client_id: String,
}

impl Target {
    pub fn new(base: impl Into<String>, props: Props) -> Self {
        Target {
            base: base.into(),
            props,
            client_id: "127.0.0.1:9060".to_string(),
        }
    }

    /// The URI of `rel` below the base (the base itself when `rel` is empty).
    pub fn at(&self, rel: &str) -> String {
        join(self.base.trim_end_matches('/'), rel)
    }

    /// The base's scheme (`file`, `hdfs`, `s3a` ...).
    pub fn scheme(&self) -> &str {
        self.base.split(':').next().unwrap_or("")
    }

    /// The authority of the base (empty for `file:/abs` and `file:///abs`).
    pub fn authority(&self) -> &str {
        let rest = &self.base[self.scheme().len() + 1..];
        match rest.strip_prefix("//") {
            Some(r) => r.split('/').next().unwrap_or(""),
            None => "",
        }
    }

    /// How the broker must print `rel` below the base in a listing: Hadoop's fully
    /// qualified form, `file:/abs/rel` locally, `scheme://authority/path/rel` elsewhere.
    pub fn qualified(&self, rel: &str) -> String {
        let rest = &self.base[self.scheme().len() + 1..];
        let path = match rest.strip_prefix("//") {
            Some(r) => &r[self.authority().len()..],
            None => rest,
        };
        let path = path.trim_end_matches('/');
        let root = if self.scheme() == "file" {
            format!("file:{path}")
        } else {
            format!("{}://{}{path}", self.scheme(), self.authority())
        };
        join(&root, rel)
    }
}

pub(crate) fn join(root: &str, rel: &str) -> String {
    if rel.is_empty() {
        root.to_string()
    } else {
        format!("{root}/{rel}")
    }
}

/// `prefix-<16 random hex digits>`: a name no earlier run used.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:016x}", rand::random::<u64>())
}

pub type Check = fn(&mut Client, &Target);

/// One backend's run of the suite, shared by its checks: a broker and a base, made by
/// the first check that runs (`static SUITE: Suite = Suite::new();`).
pub struct Suite(Mutex<Option<Made>>);

struct Made {
    /// The storage server it was made on: a new server needs a new suite.
    server: String,
    port: u16,
    target: Target,
}

impl Suite {
    pub const fn new() -> Suite {
        Suite(Mutex::new(None))
    }

    /// [`run`](Self::run) with a broker of the default conf and the base a fresh
    /// `{root}/tmp/conf-*` directory, asked with `props`: every HDFS-backed server (a
    /// namenode, a nameservice, a WebHDFS port, an HttpFS gateway) is run this way, through
    /// `cluster_conformance!`.
    pub fn run_under(&'static self, server: &str, root: &str, props: Props, check: Check) {
        self.run(
            server,
            BrokerProcess::start,
            |_| Target::new(format!("{root}/tmp/{}", unique("conf")), props),
            check,
        );
    }

    /// Runs `check` on a fresh connection. The first call (and the first after the
    /// storage server identified by `server` changed) makes the suite: starts the broker
    /// (`start`), picks the base (`target`), and before any check writes below it makes
    /// sure the store answers and the base is fresh (see [`checks::base_is_fresh`]), then
    /// writes the listing tree the listing checks share. The broker stops, and its logs
    /// are archived, when the test process exits (with its home, where `file:` bases live).
    pub fn run(
        &'static self,
        server: &str,
        start: impl FnOnce() -> BrokerProcess,
        target: impl FnOnce(&BrokerProcess) -> Target,
        check: Check,
    ) {
        let (port, target) = {
            let mut made = self.0.lock().unwrap_or_else(|e| e.into_inner());
            if made.as_ref().is_none_or(|m| m.server != server) {
                let broker = start();
                let target = target(&broker);
                let port = broker.port;
                at_exit(move || drop(broker));
                set_up(port, &target);
                *made = Some(Made {
                    server: server.to_string(),
                    port,
                    target,
                });
            }
            let m = made.as_ref().unwrap();
            (m.port, m.target.clone())
        };
        let mut c = Client::connect(port);
        c.with_props(&target.props);
        check(&mut c, &target);
    }
}

/// What every check relies on: a reachable store, a fresh base, the listing tree.
fn set_up(port: u16, target: &Target) {
    assert!(
        target.base.contains(':') && (target.scheme() == "file" || !target.authority().is_empty()),
        "conformance: the base must be a fully qualified URI: {}",
        target.base
    );
    let mut c = Client::connect(port);
    c.with_props(&target.props);
    // An unreachable store would fail every check, each only after the storage client's
    // own retries (minutes on HDFS): fail at once instead.
    let probe = c.exists(&target.base);
    assert_eq!(
        probe.op_status.status_code,
        Code::OK,
        "conformance: checkPathExist {} failed, is the storage reachable with these \
         properties? {:?}",
        target.base,
        probe.op_status.message
    );
    checks::fresh_base(&mut c, target);
    checks::list_tree(&mut c, target);
}

/// One `#[test]` per check in the invoking module, each calling `$run(check)` with
/// `$run: fn(Check)`; with `needs $server`, a test whose server cannot run here is
/// skipped first (see common/servers.rs). The list names every function of checks.rs.
macro_rules! conformance_tests {
    ($run:path) => {
        $crate::conformance::conformance_tests!(@list $run; {});
    };
    ($run:path, needs $server:expr) => {
        $crate::conformance::conformance_tests!(@list $run; {
            if $crate::common::missing($server) {
                return;
            }
        });
    };
    (@list $run:path; $skip:tt) => {
        $crate::conformance::conformance_tests!(@each $run; $skip;
            base_is_fresh, write_creates_parents, empty_file, list_exact_file,
            list_exact_dir, list_dir_star, list_star_then_name, list_braces, list_char_class,
            list_question_mark, list_no_match, list_missing, list_recursive,
            list_file_name_only, list_be_size_lookup, listed_paths_reopen, path_exist,
            delete, rename_file, rename_dir, rename_failures, open_reader_missing,
            pread_positional, pread_at_and_past_eof, pread_argument_errors, close_reader,
            open_writer_replaces, pwrite_replay, pwrite_gap, close_writer,
            multi_chunk_round_trip, doris_file_size, doris_list_located_files,
            doris_is_splittable, delete_base);
    };
    (@each $run:path; $skip:tt; $($check:ident),*) => {
        $(
            #[test]
            fn $check() {
                $skip
                $run($crate::conformance::checks::$check);
            }
        )*
    };
}
pub(crate) use conformance_tests;

/// The `mod conformance` of a server of a MiniDFSCluster (a namenode, a nameservice, a
/// WebHDFS port, an HttpFS gateway): one test per check, skipped without `Server::Hdfs`,
/// each running its check with [`Suite::run_under`] on the cluster `$cluster()` lends, at
/// `$root(&cluster)` (`hdfs://127.0.0.1:PORT`, `webhdfs://ns1` ...) with the properties
/// `$props(&cluster)`. `$root` and `$props` are `fn(&MiniCluster)`s or closures.
macro_rules! cluster_conformance {
    ($cluster:expr, $root:expr, $props:expr) => {
        mod conformance {
            use super::*;
            use $crate::common::minicluster::MiniCluster;

            fn run(check: $crate::conformance::Check) {
                static SUITE: $crate::conformance::Suite = $crate::conformance::Suite::new();
                let root: fn(&MiniCluster) -> String = $root;
                let props: fn(&MiniCluster) -> $crate::common::Props = $props;
                let cluster = $cluster();
                SUITE.run_under(&cluster.id(), &root(&cluster), props(&cluster), check);
            }

            $crate::conformance::conformance_tests!(run, needs $crate::common::Server::Hdfs);
        }
    };
}
pub(crate) use cluster_conformance;
