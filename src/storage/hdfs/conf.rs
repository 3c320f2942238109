//! Hadoop XML files and request properties -> the configuration an hdfs-native client is
//! built with: the broker's own defaults, `core-site.xml` and `hdfs-site.xml` from
//! `HADOOP_CONF_DIR` and the broker's `conf/`, then the request's `dfs.*`, `fs.*` and
//! `hadoop.*` keys; the authority of `hdfs:///path` from `fs.defaultFS`; nameservices
//! (HA, federation, viewfs mount targets) checked and spelled the way hdfs-native reads them.

use std::collections::HashMap;
use std::path::Path;

use crate::storage::kerberos;
use crate::storage::{Location, Properties, Result, StorageError};

/// hdfs-native retries an unreachable namenode 15 times with sleeps up to 15 s: about
/// three minutes, long after FE and BE gave up on the call and resent it. These bound a
/// dead namenode to a few seconds, still enough to fail over between HA namenodes.
/// Hadoop XML files and request properties override them.
///
/// hdfs-native also asks for a replacement whenever a datanode of a write pipeline dies
/// (it treats every block with data as an append), and by default fails the write when the
/// namenode has none to give: on a cluster of 3 datanodes one datanode restart broke every
/// write in flight. Hadoop's DEFAULT policy would go on with the survivors there; best
/// effort still tries to replace, then does the same.
const BROKER_DEFAULTS: &[(&str, &str)] = &[
    ("dfs.client.failover.max.attempts", "4"),
    ("dfs.client.failover.sleep.base.millis", "200"),
    ("dfs.client.failover.sleep.max.millis", "2000"),
    (
        "dfs.client.block.write.replace-datanode-on-failure.best-effort",
        "true",
    ),
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
    let listed = config
        .get("dfs.nameservices")
        .map(|v| v.split(',').map(str::trim).any(|ns| ns == authority))
        .unwrap_or(false);
    if !listed {
        return Ok(());
    }
    let ns = authority;
    let namenodes_key = format!("dfs.ha.namenodes.{ns}");
    let Some(namenodes) = config.get(&namenodes_key) else {
        // A federated, non-HA nameservice names its one namenode directly.
        if config.contains_key(&format!("dfs.namenode.rpc-address.{ns}")) {
            return Ok(());
        }
        return Err(StorageError::InvalidArgument(format!(
            "nameservice {ns} is listed in dfs.nameservices but {namenodes_key} is not set"
        )));
    };
    for nn in namenodes
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let address_key = format!("dfs.namenode.rpc-address.{ns}.{nn}");
        if !config.contains_key(&address_key) {
            return Err(StorageError::InvalidArgument(format!(
                "namenode {nn} of nameservice {ns} has no address: {address_key} is not set"
            )));
        }
    }
    Ok(())
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

/// `<configuration><property><name/><value/></property>...` into a map. `Ok(None)` when
/// the file does not exist.
fn read_hadoop_xml(path: &Path) -> std::io::Result<Option<HashMap<String, String>>> {
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
