//! Hadoop XML files and request properties -> the configuration an hdfs-native client is
//! built with: the broker's own defaults, `core-site.xml` and `hdfs-site.xml` from
//! `HADOOP_CONF_DIR` and the broker's `conf/`, then the request's `dfs.*`, `fs.*` and
//! `hadoop.*` keys; the authority of `hdfs:///path` from `fs.defaultFS`; nameservices
//! (HA, federation, viewfs mount targets) checked and spelled the way hdfs-native reads them.

use std::collections::HashMap;
use std::path::Path;

use crate::storage::kerberos;
use crate::storage::{Location, Properties, Result, StorageError};

/// hdfs-native asks for a replacement whenever a datanode of a write pipeline dies (it
/// treats every block with data as an append), and by default fails the write when the
/// namenode has none to give: on a cluster of 3 datanodes one datanode restart broke every
/// write in flight. Hadoop's DEFAULT policy would go on with the survivors there; best
/// effort still tries to replace, then does the same.
const BROKER_DEFAULTS: &[(&str, &str)] = &[(
    "dfs.client.block.write.replace-datanode-on-failure.best-effort",
    "true",
)];

const FAILOVER_MAX_ATTEMPTS: &str = "dfs.client.failover.max.attempts";
const FAILOVER_SLEEP_BASE: &str = "dfs.client.failover.sleep.base.millis";
const FAILOVER_SLEEP_MAX: &str = "dfs.client.failover.sleep.max.millis";

/// How long a call to a nameservice of two or more namenodes waits for one of them to be
/// active (a ZKFC failover takes seconds to tens of seconds).
const HA_WAIT_MILLIS: u64 = 30_000;
/// Between two sweeps over the namenodes of a nameservice: short, so a call notices a
/// namenode that became active within half a second.
const HA_SLEEP_BASE_MILLIS: u64 = 100;
const HA_SLEEP_MAX_MILLIS: u64 = 500;

/// A lone namenode that is down: hdfs-native would retry it 15 times with sleeps up to
/// 15 s, about three minutes, long after FE and BE gave up on the call and resent it.
/// These bound it to about 5 s (sleeps of about 0.4, 0.8, 1.6 and 2 s).
const SINGLE_FAILOVER: [(&str, u64); 3] = [
    (FAILOVER_MAX_ATTEMPTS, 4),
    (FAILOVER_SLEEP_BASE, 200),
    (FAILOVER_SLEEP_MAX, 2000),
];

/// The broker's defaults, then the Hadoop XML files of `HADOOP_CONF_DIR`, then of
/// `conf_dir` (the broker's), later values winning. Read once at start.
pub(super) fn hadoop_defaults(conf_dir: Option<&Path>) -> HashMap<String, String> {
    let mut defaults: HashMap<String, String> = BROKER_DEFAULTS
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let hadoop_dir = std::env::var_os("HADOOP_CONF_DIR").map(std::path::PathBuf::from);
    for dir in hadoop_dir.as_deref().into_iter().chain(conf_dir) {
        for file in ["core-site.xml", "hdfs-site.xml"] {
            let path = dir.join(file);
            match read_hadoop_xml(&path) {
                Ok(Some(values)) => {
                    tracing::info!(path = %path.display(), "loaded {} Hadoop settings", values.len());
                    defaults.extend(values);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(path = %path.display(), "ignoring unreadable Hadoop config: {e}")
                }
            }
        }
    }
    defaults
}

/// Request properties that shape the connection, hence the cache key.
fn is_connection_key(key: &str) -> bool {
    key.starts_with("dfs.")
        || key.starts_with("fs.")
        || key.starts_with("hadoop.")
        || key == "username"
        || key == "password"
        || kerberos::is_kerberos_key(key)
}

/// A request's client configuration and the properties that tell its client apart.
pub(super) struct RequestConfig {
    /// What the hdfs-native client is built with.
    pub config: HashMap<String, String>,
    /// The request's connection properties (user and Kerberos keys included): part of the
    /// client's cache key.
    pub key_props: Vec<(String, String)>,
}

impl RequestConfig {
    /// The request's connection properties over `defaults`. Users and Kerberos keys shape
    /// the client but are no Hadoop settings.
    pub fn new(defaults: &HashMap<String, String>, props: &Properties) -> Self {
        let mut config = defaults.clone();
        let mut key_props = Vec::new();
        for (k, v) in props {
            if is_connection_key(k) {
                key_props.push((k.clone(), v.clone()));
                if k != "username" && k != "password" && !kerberos::is_kerberos_key(k) {
                    config.insert(k.clone(), v.clone());
                }
            }
        }
        RequestConfig { config, key_props }
    }
}

/// Fills in the authority of `hdfs:///path` from `fs.defaultFS`.
pub(super) fn qualify(loc: &Location, config: &HashMap<String, String>) -> Result<Location> {
    if loc.authority().is_some() {
        return Ok(loc.clone());
    }
    let default_fs = config
        .get("fs.defaultFS")
        .ok_or_else(|| StorageError::InvalidPath {
            path: loc.to_string(),
            reason: "no namenode or nameservice in the path and no fs.defaultFS set".into(),
        })?;
    let base = Location::parse(default_fs).map_err(|_| {
        StorageError::InvalidArgument(format!("fs.defaultFS = {default_fs} is not a URI"))
    })?;
    if base.authority().is_none() || !matches!(base.scheme(), "hdfs" | "viewfs") {
        return Err(StorageError::InvalidArgument(format!(
            "fs.defaultFS = {default_fs} names no HDFS namenode or nameservice"
        )));
    }
    Ok(base.with_path(loc.path()))
}

/// A nameservice (listed in `dfs.nameservices`) needs its namenodes and their addresses.
pub(super) fn check_nameservice(authority: &str, config: &HashMap<String, String>) -> Result<()> {
    nameservice_addresses(authority, "rpc-address", |key| {
        config.get(key).map(String::as_str)
    })
    .map(|_| ())
}

/// The addresses of the namenodes of nameservice `ns`, as Hadoop's `DFSUtilClient` reads
/// them: `dfs.namenode.<kind>.<ns>.<nn>` for each `nn` of `dfs.ha.namenodes.<ns>`, or
/// `dfs.namenode.<kind>.<ns>` for a federated nameservice without HA. `kind` is
/// `rpc-address` (hdfs://), `http-address` (webhdfs://) or `https-address` (swebhdfs://).
/// `None` when `ns` is not listed in `dfs.nameservices` (a host name); a missing key is
/// named. Every HDFS-like backend reads a nameservice here.
pub(in crate::storage) fn nameservice_addresses<'a>(
    ns: &str,
    kind: &str,
    get: impl Fn(&str) -> Option<&'a str>,
) -> Result<Option<Vec<String>>> {
    let listed = get("dfs.nameservices")
        .map(|v| v.split(',').map(str::trim).any(|listed| listed == ns))
        .unwrap_or(false);
    if !listed {
        return Ok(None);
    }
    let namenodes_key = format!("dfs.ha.namenodes.{ns}");
    let Some(namenodes) = get(&namenodes_key) else {
        // A federated, non-HA nameservice names its one namenode directly.
        if let Some(address) = get(&format!("dfs.namenode.{kind}.{ns}")) {
            return Ok(Some(vec![address.trim().to_string()]));
        }
        return Err(StorageError::InvalidArgument(format!(
            "nameservice {ns} is listed in dfs.nameservices but {namenodes_key} is not set"
        )));
    };
    let mut addresses = Vec::new();
    for nn in namenodes
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let address_key = format!("dfs.namenode.{kind}.{ns}.{nn}");
        let Some(address) = get(&address_key) else {
            return Err(StorageError::InvalidArgument(format!(
                "namenode {nn} of nameservice {ns} has no address: {address_key} is not set"
            )));
        };
        addresses.push(address.trim().to_string());
    }
    Ok(Some(addresses))
}

/// A nameservice without `dfs.ha.namenodes.NS` may name its one namenode as
/// `dfs.namenode.rpc-address.NS` (federation without HA; Hadoop's
/// `DFSUtilClient.getAddressesForNameserviceId` reads it). hdfs-native resolves a
/// nameservice only through `dfs.ha.namenodes.NS`, so spell it that way for it, for every
/// listed nameservice (viewfs mount targets included).
pub(super) fn name_single_namenodes(config: &mut HashMap<String, String>) {
    let Some(nameservices) = config.get("dfs.nameservices").cloned() else {
        return;
    };
    for ns in nameservices
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        if config.contains_key(&format!("dfs.ha.namenodes.{ns}")) {
            continue;
        }
        if let Some(address) = config
            .get(&format!("dfs.namenode.rpc-address.{ns}"))
            .cloned()
        {
            config.insert(format!("dfs.ha.namenodes.{ns}"), "nn".into());
            config.insert(format!("dfs.namenode.rpc-address.{ns}.nn"), address);
        }
    }
}

/// The failover keys hdfs-native reads, where neither the Hadoop XML files nor the
/// request set them. hdfs-native fails a call over to the next namenode of its nameservice
/// on StandbyException or a connection error, sleeping after each sweep over all of them
/// (`sleep.base.millis` doubled per sweep, capped at `sleep.max.millis`), and gives up
/// after `max.attempts` moves. For a nameservice of N >= 2 namenodes the broker sweeps
/// every half second for 30 s, so a call rides through a failover and ends as soon as a
/// namenode answers as active; a lone namenode that is down fails within about 5 s.
/// `authority` is the client's (`ns1`, `host:port`, or a viewfs mount table's name).
pub(super) fn fill_failover_defaults(
    scheme: &str,
    authority: &str,
    config: &mut HashMap<String, String>,
) {
    let namenodes = match scheme {
        "viewfs" => viewfs_namenodes(authority, config),
        _ => namenode_count(authority, config),
    };
    let defaults = if namenodes >= 2 {
        let base = get_u64(config, FAILOVER_SLEEP_BASE).unwrap_or(HA_SLEEP_BASE_MILLIS);
        let max = get_u64(config, FAILOVER_SLEEP_MAX).unwrap_or(HA_SLEEP_MAX_MILLIS);
        let attempts = ha_attempts(namenodes, base, max, HA_WAIT_MILLIS);
        [
            (FAILOVER_MAX_ATTEMPTS, attempts),
            (FAILOVER_SLEEP_BASE, base),
            (FAILOVER_SLEEP_MAX, max),
        ]
    } else {
        SINGLE_FAILOVER
    };
    for (key, value) in defaults {
        config
            .entry(key.to_string())
            .or_insert_with(|| value.to_string());
    }
}

/// The RPC addresses (`host:port`) of the namenodes behind a client: the one named, a
/// nameservice's, or those of every `hdfs://` target of a viewfs mount table.
pub(super) fn namenode_addresses(
    scheme: &str,
    authority: &str,
    config: &HashMap<String, String>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |authority: &str| {
        for address in addresses_of(authority, config) {
            if !out.contains(&address) {
                out.push(address);
            }
        }
    };
    if scheme == "viewfs" {
        let prefix = format!("fs.viewfs.mounttable.{authority}.");
        for target in config
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(_, target)| Location::parse(target.trim()).ok())
            .filter(|target| target.scheme() == "hdfs")
        {
            add(target.authority().unwrap_or_default());
        }
    } else {
        add(authority);
    }
    out
}

fn addresses_of(authority: &str, config: &HashMap<String, String>) -> Vec<String> {
    match config.get(&format!("dfs.ha.namenodes.{authority}")) {
        Some(ids) => ids
            .split(',')
            .map(str::trim)
            .filter_map(|id| config.get(&format!("dfs.namenode.rpc-address.{authority}.{id}")))
            .map(|a| a.trim().to_string())
            .collect(),
        None if authority.contains(':') => vec![authority.to_string()],
        None if authority.is_empty() => Vec::new(),
        // Hadoop's default namenode RPC port.
        None => vec![format!("{authority}:8020")],
    }
}

fn get_u64(config: &HashMap<String, String>, key: &str) -> Option<u64> {
    config.get(key).and_then(|v| v.trim().parse().ok())
}

/// The namenodes behind an `hdfs://` authority: those of a nameservice, else one.
fn namenode_count(authority: &str, config: &HashMap<String, String>) -> usize {
    config
        .get(&format!("dfs.ha.namenodes.{authority}"))
        .map(|ids| ids.split(',').filter(|id| !id.trim().is_empty()).count())
        .unwrap_or(1)
}

/// A mount table counts as HA when every `hdfs://` target is a nameservice of two or more
/// namenodes (the failover keys are per client, so one lone namenode among the targets
/// keeps the short bound for all of them): then the most namenodes any target has.
fn viewfs_namenodes(cluster: &str, config: &HashMap<String, String>) -> usize {
    let prefix = format!("fs.viewfs.mounttable.{cluster}.");
    let counts: Vec<usize> = config
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .filter_map(|(_, target)| Location::parse(target.trim()).ok())
        .filter(|target| target.scheme() == "hdfs")
        .map(|target| namenode_count(target.authority().unwrap_or_default(), config))
        .collect();
    match counts.iter().min() {
        Some(&least) if least >= 2 => counts.into_iter().max().unwrap_or(least),
        _ => 1,
    }
}

/// Moves between namenodes (`max.attempts`) so that the sleeps after each sweep add up to
/// `wait_millis`, plus one last sweep after the last sleep.
fn ha_attempts(namenodes: usize, base: u64, max: u64, wait_millis: u64) -> u64 {
    let (mut slept, mut sweeps) = (0u64, 0u64);
    while slept < wait_millis && sweeps < 10_000 {
        sweeps += 1;
        slept += base.saturating_mul(1 << sweeps.min(32)).min(max).max(1);
    }
    let n = namenodes as u64;
    sweeps * n + (n - 1)
}

/// `<configuration><property><name/><value/></property>...` into a map. `Ok(None)` when
/// the file does not exist.
pub(crate) fn read_hadoop_xml(path: &Path) -> std::io::Result<Option<HashMap<String, String>>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let doc = roxmltree::Document::parse(&text)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    let mut values = HashMap::new();
    for property in doc.descendants().filter(|n| n.has_tag_name("property")) {
        let child = |tag: &str| {
            property
                .children()
                .find(|c| c.has_tag_name(tag))
                .and_then(|c| c.text())
                .map(|t| t.trim().to_string())
        };
        if let (Some(name), Some(value)) = (child("name"), child("value")) {
            values.insert(name, value);
        }
    }
    Ok(Some(values))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn missing_ha_pieces_are_named() {
        let c = conf(&[("dfs.nameservices", "ns1,ns2")]);
        let err = check_nameservice("ns1", &c).unwrap_err().to_string();
        assert!(err.contains("dfs.ha.namenodes.ns1"), "{err}");
        let c = conf(&[
            ("dfs.nameservices", "ns1"),
            ("dfs.ha.namenodes.ns1", "nn1,nn2"),
            ("dfs.namenode.rpc-address.ns1.nn1", "127.0.0.1:8020"),
        ]);
        let err = check_nameservice("ns1", &c).unwrap_err().to_string();
        assert!(err.contains("dfs.namenode.rpc-address.ns1.nn2"), "{err}");
        assert!(check_nameservice("namenode:8020", &c).is_ok());
    }

    #[test]
    fn a_non_ha_nameservice_gets_its_one_namenode() {
        let mut c = conf(&[
            ("dfs.nameservices", "ns1,ns2"),
            ("dfs.namenode.rpc-address.ns1", "127.0.0.1:8020"),
            ("dfs.ha.namenodes.ns2", "a"),
            ("dfs.namenode.rpc-address.ns2.a", "127.0.0.1:9020"),
        ]);
        name_single_namenodes(&mut c);
        assert_eq!(c["dfs.ha.namenodes.ns1"], "nn");
        assert_eq!(c["dfs.namenode.rpc-address.ns1.nn"], "127.0.0.1:8020");
        assert_eq!(c["dfs.ha.namenodes.ns2"], "a");
        assert!(!c.contains_key("dfs.namenode.rpc-address.ns2.nn"));
    }

    #[test]
    fn failover_defaults_wait_long_for_ha_and_briefly_for_one_namenode() {
        let mut c = conf(&[
            ("dfs.ha.namenodes.ns1", "nn1,nn2"),
            ("dfs.ha.namenodes.ns2", "nn"),
        ]);
        fill_failover_defaults("hdfs", "ns1", &mut c);
        // Sleeps of 200, 400, then 500 ms until 30 s: 61 sweeps of 2, plus one last move.
        assert_eq!(c[FAILOVER_MAX_ATTEMPTS], "123");
        assert_eq!(c[FAILOVER_SLEEP_MAX], "500");
        for (scheme, authority) in [("hdfs", "ns2"), ("hdfs", "127.0.0.1:8020")] {
            let mut single = c.clone();
            single.retain(|k, _| !k.starts_with("dfs.client.failover"));
            fill_failover_defaults(scheme, authority, &mut single);
            assert_eq!(single[FAILOVER_MAX_ATTEMPTS], "4", "{authority}");
            assert_eq!(single[FAILOVER_SLEEP_MAX], "2000");
        }
        // What the operator set wins; a longer sleep means fewer attempts for 30 s.
        let mut set = conf(&[
            ("dfs.ha.namenodes.ns1", "a,b,c"),
            (FAILOVER_SLEEP_MAX, "1000"),
        ]);
        fill_failover_defaults("hdfs", "ns1", &mut set);
        // 200, 400, 800, then 1000 ms: 32 sweeps of 3, plus two last moves.
        assert_eq!(set[FAILOVER_MAX_ATTEMPTS], "98");
        let mut set = conf(&[
            ("dfs.ha.namenodes.ns1", "a,b"),
            (FAILOVER_MAX_ATTEMPTS, "15"),
        ]);
        fill_failover_defaults("hdfs", "ns1", &mut set);
        assert_eq!(set[FAILOVER_MAX_ATTEMPTS], "15");
    }

    #[test]
    fn namenode_addresses_of_every_kind_of_client() {
        let c = conf(&[
            ("dfs.ha.namenodes.ns1", "nn1,nn2"),
            ("dfs.namenode.rpc-address.ns1.nn1", "127.0.0.1:1"),
            ("dfs.namenode.rpc-address.ns1.nn2", "127.0.0.1:2"),
            ("fs.viewfs.mounttable.cluster.link./data", "hdfs://ns1/data"),
            (
                "fs.viewfs.mounttable.cluster.link./x",
                "hdfs://127.0.0.1:3/x",
            ),
            ("fs.viewfs.mounttable.cluster.linkFallback", "hdfs://ns1/"),
        ]);
        assert_eq!(
            namenode_addresses("hdfs", "ns1", &c),
            ["127.0.0.1:1", "127.0.0.1:2"]
        );
        assert_eq!(namenode_addresses("hdfs", "nn:9000", &c), ["nn:9000"]);
        assert_eq!(namenode_addresses("hdfs", "nn", &c), ["nn:8020"]);
        let mut all = namenode_addresses("viewfs", "cluster", &c);
        all.sort();
        assert_eq!(all, ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]);
    }

    #[test]
    fn a_mount_table_is_ha_when_every_target_is() {
        let mut c = conf(&[
            ("dfs.ha.namenodes.ns1", "nn1,nn2"),
            ("dfs.ha.namenodes.ns2", "nn1,nn2"),
            ("fs.viewfs.mounttable.cluster.link./data", "hdfs://ns1/data"),
            ("fs.viewfs.mounttable.cluster.linkFallback", "hdfs://ns2/"),
        ]);
        fill_failover_defaults("viewfs", "cluster", &mut c);
        assert_eq!(c[FAILOVER_SLEEP_MAX], "500");
        let mut c = conf(&[
            ("dfs.ha.namenodes.ns1", "nn1,nn2"),
            ("dfs.ha.namenodes.ns2", "nn"),
            ("fs.viewfs.mounttable.cluster.link./data", "hdfs://ns1/data"),
            ("fs.viewfs.mounttable.cluster.link./tmp", "hdfs://ns2/tmp"),
        ]);
        fill_failover_defaults("viewfs", "cluster", &mut c);
        assert_eq!(c[FAILOVER_SLEEP_MAX], "2000");
    }

    #[test]
    fn paths_without_authority_take_the_default_fs() {
        let loc = Location::parse("hdfs:///user/x").unwrap();
        let c = conf(&[("fs.defaultFS", "hdfs://ns1")]);
        assert_eq!(qualify(&loc, &c).unwrap().to_string(), "hdfs://ns1/user/x");
        assert!(qualify(&loc, &conf(&[])).is_err());
    }

    #[test]
    fn hadoop_xml_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("core-site.xml");
        std::fs::write(
            &path,
            "<?xml version=\"1.0\"?><configuration><property><name>fs.defaultFS</name><value> hdfs://ns1 </value></property></configuration>",
        )
        .unwrap();
        let values = read_hadoop_xml(&path).unwrap().unwrap();
        assert_eq!(values["fs.defaultFS"], "hdfs://ns1");
        assert!(read_hadoop_xml(&dir.path().join("none.xml"))
            .unwrap()
            .is_none());
    }
}
