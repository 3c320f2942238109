//! The broker's integration tests: one test binary (`cargo test --test integration`),
//! one module per area. Each test starts the real broker binary on a loopback port and
//! talks Thrift to it as FE/BE do (common/). The HDFS, Kerberos and object-store modules
//! also start the storage server they test against (a MiniDFSCluster, SeaweedFS, moto,
//! Azurite, fake-gcs-server); where one cannot run here, its tests print
//! `skipped: <reason>` and pass, unless
//! `BROKER_TEST_REQUIRE_ALL=1` (scripts/test.sh sets it): see common/servers.rs.
//!
//! The conformance suite (conformance/) is one named test per check and backend, in the
//! backend's module: `conformance_file::slashes::rename_dir`, `hdfs_plain::conformance::
//! pread_positional`, `s3::conformance::s3a::delete` ... Keeping them beside the backend's
//! other tests keeps each HDFS shape's tests together in the harness's name order, so
//! each shape's cluster starts once (common/minicluster.rs runs one at a time).
//!
//! Why the standard harness and not libtest-mimic (which needs `harness = false` and a
//! hand-kept list of every test): every test stays a plain `#[test]` (name filters,
//! `--ignored`, captured output, IDE runners), and the conformance checks become tests
//! through one small macro (`conformance_tests!`). The one thing a custom harness would
//! add, work after the last test, is common/at_exit.rs.

mod common;
mod conformance;

mod allowed_clients;
mod azure;
mod azure_dfs;
mod cli;
mod conformance_file;
mod deploy;
mod ftp;
mod gcs;
mod hdfs_faults;
mod hdfs_federated;
mod hdfs_ha;
mod hdfs_kerberos;
mod hdfs_plain;
mod hdfs_viewfs;
mod limits;
mod local_roots;
mod logs;
mod metrics;
mod ops;
mod rpc_list;
mod rpc_meta;
mod rpc_read;
mod rpc_write;
mod s3;
mod s3_moto;
mod sessions_reaper;
mod sftp;
mod signed_stores;
mod smoke;
mod soak;
mod store_requests;
mod stress;
mod webhdfs;
mod webhdfs_gateways;
mod wire_robustness;
