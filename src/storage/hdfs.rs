//! `hdfs://` and `viewfs://` on hdfs-native.
//!
//! Configuration comes in three layers, later ones winning: `core-site.xml` and
//! `hdfs-site.xml` from `HADOOP_CONF_DIR`, the same files in the broker's `conf/`, then
//! the request's own `dfs.*`, `fs.*` and `hadoop.*` properties. One client is kept per
//! (scheme, authority, user or Kerberos identity, request properties); open streams hold
//! their own handles to the namenode connection (and to an inline keytab's file), so
//! evicting a client never breaks a stream in flight. Kerberos: see [`super::kerberos`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use hdfs_native::{Client, ClientBuilder, HdfsError, WriteOptions};

use super::cache::ClientCache;
use super::kerberos::{self, Identity, KeytabDir, PrivateKeytab};
use super::{
    FileStatus, Location, Properties, ReadBuf, ReadStream, Result, Storage, StorageError,
    WriteStream,
};

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

/// Request properties that shape the connection, hence the cache key.
fn is_connection_key(key: &str) -> bool {
    key.starts_with("dfs.")
        || key.starts_with("fs.")
        || key.starts_with("hadoop.")
        || key == "username"
        || key == "password"
        || kerberos::is_kerberos_key(key)
}

pub struct HdfsBackend {
    /// Values from the Hadoop XML files, read once at start.
    defaults: HashMap<String, String>,
    clients: ClientCache<ClientKey, HdfsStorage>,
    /// Where inline keytabs live while their clients do.
    keytabs: KeytabDir,
    /// `kerberos_token_expire_seconds`: the oldest a secured client gets.
    kerberos_max_age: Duration,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct ClientKey {
    scheme: String,
    authority: String,
    props: Vec<(String, String)>,
}

impl HdfsBackend {
    /// Reads the Hadoop XML files of `HADOOP_CONF_DIR`, then of `conf_dir` (the broker's).
    pub fn new(conf_dir: Option<&Path>, idle_expiry: Duration, kerberos_max_age: Duration) -> Self {
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
        HdfsBackend {
            defaults,
            clients: ClientCache::new(idle_expiry),
            keytabs: KeytabDir::default(),
            kerberos_max_age,
        }
    }

    /// The client for `loc` under these properties, and `loc` with its authority filled in
    /// from `fs.defaultFS` when the client left it out (`hdfs:///path`).
    pub fn resolve(
        &self,
        loc: &Location,
        props: &Properties,
    ) -> Result<(Arc<HdfsStorage>, Location)> {
        let mut config = self.defaults.clone();
        let mut key_props = Vec::new();
        for (k, v) in props {
            if is_connection_key(k) {
                key_props.push((k.clone(), v.clone()));
                if k != "username" && k != "password" && !kerberos::is_kerberos_key(k) {
                    config.insert(k.clone(), v.clone());
                }
            }
        }
        let in_loc = |e: StorageError| match e {
            StorageError::InvalidArgument(m) => {
                StorageError::InvalidArgument(format!("{loc}: {m}"))
            }
            other => other,
        };
        let identity = if kerberos::wants_kerberos(&config).map_err(in_loc)? {
            Some(Identity::from_props(props).map_err(in_loc)?)
        } else {
            None
        };
        let loc = qualify(loc, &config)?;
        let authority = loc.authority().unwrap_or_default().to_string();
        check_nameservice(&authority, &config)?;
        name_single_namenodes(&mut config);
        let key = ClientKey {
            scheme: loc.scheme().to_string(),
            authority,
            props: key_props,
        };
        let max_age = identity.as_ref().map(|_| self.kerberos_max_age);
        let storage = self.clients.get_or_build_aged(&key, max_age, || {
            let mut builder = ClientBuilder::new()
                .with_url(format!("{}://{}", key.scheme, key.authority))
                .with_config(config);
            let mut keytab = None;
            if let Some(identity) = &identity {
                // The principal is the user: `username` would ask the namenode to let it
                // impersonate someone else, which the Java broker never does either.
                let credentials = identity.credentials(&self.keytabs).map_err(in_loc)?;
                builder = builder
                    .with_kerberos_principal(credentials.principal.clone())
                    .with_kerberos_keytab(credentials.keytab.to_string_lossy())
                    .with_kerberos_cache(credentials.cache.clone());
                keytab = credentials.keep_alive();
                tracing::debug!(principal = %credentials.principal, "new Kerberos HDFS client for {loc}");
            } else if let Some(user) = props.get("username").filter(|u| !u.is_empty()) {
                builder = builder.with_user(user.clone());
            }
            let client = builder.build().map_err(|e| {
                StorageError::InvalidArgument(format!("{loc}: cannot set up an HDFS client: {e}"))
            })?;
            Ok(HdfsStorage { client, keytab })
        })?;
        Ok((storage, loc))
    }

    /// Drops clients that are idle or too old now (with them, inline keytabs no stream
    /// still holds), also when no request comes to do it. Runs until the process ends and
    /// sleeps while no client is cached: an idle broker does no work.
    pub async fn run_sweeper(&self) {
        loop {
            match self.clients.sweep() {
                // A client added meanwhile may expire sooner (a short max age).
                Some(next) => tokio::select! {
                    _ = tokio::time::sleep(next) => {}
                    _ = self.clients.added() => {}
                },
                None => self.clients.added().await,
            }
        }
    }
}

/// Fills in the authority of `hdfs:///path` from `fs.defaultFS`.
fn qualify(loc: &Location, config: &HashMap<String, String>) -> Result<Location> {
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
fn check_nameservice(authority: &str, config: &HashMap<String, String>) -> Result<()> {
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
fn name_single_namenodes(config: &mut HashMap<String, String>) {
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

/// One namenode, nameservice or viewfs mount table.
pub struct HdfsStorage {
    client: Client,
    /// An inline keytab's file: kept while this client or any stream of it lives, since
    /// every new namenode connection reads it again.
    keytab: Option<Arc<PrivateKeytab>>,
}

/// Keeps the namenode's reason in the message (permission denied names user and inode).
fn hdfs_error(loc: &Location, err: HdfsError) -> StorageError {
    let path = loc.to_string();
    match err {
        // Logging in failed (the KDC's or GSSAPI's reason), or the namenode refused how we
        // authenticated (Kerberos against a simple cluster or the other way round).
        HdfsError::GSSAPIError(_, _, msg) => {
            StorageError::NotAuthorized(format!("{path}: Kerberos login failed: {msg}"))
        }
        HdfsError::SASLError(msg) => {
            StorageError::NotAuthorized(format!("{path}: authentication failed: {msg}"))
        }
        HdfsError::OperationFailed(msg) if msg.contains("libgssapi") => {
            StorageError::NotAuthorized(format!(
                "{path}: Kerberos needs MIT's GSSAPI library libgssapi_krb5.so.2 on the broker host (Debian/Ubuntu: libgssapi-krb5-2, RHEL: krb5-libs): {msg}"
            ))
        }
        HdfsError::NoSASLMechanism => StorageError::NotAuthorized(format!(
            "{path}: the namenode offers no authentication this client can do (Kerberos settings missing or wrong?)"
        )),
        HdfsError::RPCError(class, msg) | HdfsError::FatalRPCError(class, msg)
            if class.ends_with("SaslException")
                || (class.ends_with("AccessControlException")
                    && msg.contains("authentication is not enabled")) =>
        {
            StorageError::NotAuthorized(format!("{path}: {}", first_line(&msg)))
        }
        HdfsError::FileNotFound(_) => StorageError::NotFound { path },
        HdfsError::AlreadyExists(_) => StorageError::AlreadyExists { path },
        HdfsError::RPCError(class, msg) if class.ends_with("FileNotFoundException") => {
            StorageError::NotFound {
                path: format!("{path} ({})", first_line(&msg)),
            }
        }
        HdfsError::RPCError(class, msg) if class.ends_with("AccessControlException") => {
            // The namenode's text already says "Permission denied: user=..., inode=...".
            StorageError::Io {
                path,
                message: first_line(&msg).to_string(),
            }
        }
        HdfsError::RPCError(class, msg) | HdfsError::FatalRPCError(class, msg) => {
            StorageError::Io {
                path,
                message: format!(
                    "{}: {}",
                    class.rsplit('.').next().unwrap_or(&class),
                    first_line(&msg)
                ),
            }
        }
        other => StorageError::Io {
            path,
            message: other.to_string(),
        },
    }
}

/// Java exception messages carry a stack trace after the first line.
fn first_line(msg: &str) -> &str {
    msg.lines().next().unwrap_or(msg).trim()
}

fn status_of(base: &Location, s: hdfs_native::client::FileStatus) -> FileStatus {
    FileStatus {
        location: base.with_path(&s.path),
        is_dir: s.isdir,
        size: if s.isdir { 0 } else { s.length as u64 },
        modification_time: s.modification_time as i64,
        block_size: s.blocksize.unwrap_or(0) as i64,
    }
}

#[async_trait]
impl Storage for HdfsStorage {
    async fn stat(&self, loc: &Location) -> Result<Option<FileStatus>> {
        match self.client.get_file_info(loc.path()).await {
            Ok(s) => Ok(Some(status_of(loc, s))),
            Err(e) => match hdfs_error(loc, e) {
                StorageError::NotFound { .. } => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn list_dir(&self, loc: &Location) -> Result<Vec<FileStatus>> {
        let listing = self
            .client
            .list_status(loc.path(), false)
            .await
            .map_err(|e| hdfs_error(loc, e))?;
        let mut out: Vec<FileStatus> = listing.into_iter().map(|s| status_of(loc, s)).collect();
        out.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(out)
    }

    async fn open_read(&self, loc: &Location) -> Result<Box<dyn ReadStream>> {
        let reader = self
            .client
            .read(loc.path())
            .await
            .map_err(|e| hdfs_error(loc, e))?;
        Ok(Box::new(HdfsReader {
            _keytab: self.keytab.clone(),
            size: reader.file_length() as u64,
            reader: Mutex::new(Arc::new(reader)),
            client: self.client.clone(),
            loc: loc.clone(),
        }))
    }

    async fn create(&self, loc: &Location) -> Result<Box<dyn WriteStream>> {
        // Missing parents get 0755, as Hadoop's FileSystem.create gives them under the
        // default umask (the namenode's implicit parents would be world-writable).
        if let Some(parent) = loc.parent() {
            self.client
                .mkdirs(parent.path(), 0o755, true)
                .await
                .map_err(|e| hdfs_error(&parent, e))?;
        }
        let options = WriteOptions::default().overwrite(true).create_parent(false);
        let writer = self
            .client
            .create(loc.path(), options)
            .await
            .map_err(|e| hdfs_error(loc, e))?;
        Ok(Box::new(HdfsWriter {
            _keytab: self.keytab.clone(),
            writer: Some(writer),
            client: self.client.clone(),
            loc: loc.clone(),
        }))
    }

    async fn delete(&self, loc: &Location) -> Result<()> {
        match self.client.delete(loc.path(), true).await {
            Ok(_) => Ok(()),
            Err(e) => match hdfs_error(loc, e) {
                StorageError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn rename(&self, src: &Location, dst: &Location) -> Result<()> {
        if self.stat(dst).await?.is_some() {
            return Err(StorageError::AlreadyExists {
                path: dst.to_string(),
            });
        }
        self.client
            .rename(src.path(), dst.path(), false)
            .await
            .map_err(|e| match hdfs_error(src, e) {
                StorageError::Io { message, .. } => StorageError::Io {
                    path: format!("{src} -> {dst}"),
                    message,
                },
                other => other,
            })
    }
}

struct HdfsReader {
    /// Replaced by a fresh one when a read fails on the datanodes; the lock is only held
    /// to clone or swap the `Arc`, never across I/O, so reads of one fd never wait.
    reader: Mutex<Arc<hdfs_native::file::FileReader>>,
    client: Client,
    _keytab: Option<Arc<PrivateKeytab>>,
    size: u64,
    loc: Location,
}

/// A read failure on the datanode side: a dead or restarted datanode, a broken stream,
/// a bad checksum. Fresh block locations may well fix it.
fn is_datanode_failure(err: &HdfsError) -> bool {
    matches!(
        err,
        HdfsError::DataTransferError(_) | HdfsError::IOError(_) | HdfsError::ChecksumError
    )
}

impl HdfsReader {
    fn current(&self) -> Arc<hdfs_native::file::FileReader> {
        self.reader
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// hdfs-native's reader fetches block locations once and never forgets a datanode
    /// that failed it, so after a rolling restart of the datanodes it has none left.
    /// Hadoop's DFSInputStream then clears its dead nodes and refetches the locations;
    /// so does this, once per failure: a new reader for the same file (same length).
    async fn reopen(
        &self,
        failed: &Arc<hdfs_native::file::FileReader>,
    ) -> Option<Arc<hdfs_native::file::FileReader>> {
        let current = self.current();
        if !Arc::ptr_eq(&current, failed) {
            // A concurrent pread reopened already.
            return Some(current);
        }
        let fresh = match self.client.read(self.loc.path()).await {
            Ok(r) if r.file_length() as u64 == self.size => Arc::new(r),
            Ok(r) => {
                tracing::warn!(path = %self.loc, "not rereading: the file changed length from {} to {}", self.size, r.file_length());
                return None;
            }
            Err(e) => {
                tracing::warn!(path = %self.loc, "cannot refetch block locations: {e}");
                return None;
            }
        };
        *self.reader.lock().unwrap_or_else(|e| e.into_inner()) = fresh.clone();
        Some(fresh)
    }
}

#[async_trait]
impl ReadStream for HdfsReader {
    fn size(&self) -> u64 {
        self.size
    }

    async fn read_at(&self, offset: u64, len: usize, buf: &mut ReadBuf) -> Result<usize> {
        // hdfs-native panics on a range past the end: clamp first.
        if offset >= self.size {
            return Ok(0);
        }
        let n = (len as u64).min(self.size - offset) as usize;
        let reader = self.current();
        let mut result = fetch(&reader, buf.unfilled(n), offset as usize).await;
        if let Err(e) = &result {
            if is_datanode_failure(e) {
                tracing::warn!(path = %self.loc, offset, "read failed on the datanodes, retrying with fresh block locations: {e}");
                if let Some(fresh) = self.reopen(&reader).await {
                    result = fetch(&fresh, buf.unfilled(n), offset as usize).await;
                }
            }
        }
        match result {
            Ok(()) => {
                buf.advance(n);
                Ok(n)
            }
            Err(e) => Err(hdfs_error(&self.loc, e)),
        }
    }
}

/// Ranges at least this long are fetched as two halves at once.
const SPLIT_FETCH_MIN: usize = 1 << 20;

/// Reads `buf.len()` bytes at `offset`. A large range is fetched as two halves over two
/// datanode streams at once: one stream is paced by its round trips and by the datanode
/// producing packets, so two in flight fill the pread sooner (the BE waits for the
/// whole answer before it asks for the next).
async fn fetch(
    reader: &hdfs_native::file::FileReader,
    buf: &mut [u8],
    offset: usize,
) -> std::result::Result<(), HdfsError> {
    if buf.len() < SPLIT_FETCH_MIN {
        return reader.read_range_buf(buf, offset).await;
    }
    let half = buf.len() / 2;
    let (head, tail) = buf.split_at_mut(half);
    let (a, b) = tokio::join!(
        reader.read_range_buf(head, offset),
        reader.read_range_buf(tail, offset + half)
    );
    a.and(b)
}

struct HdfsWriter {
    /// `None` once closed or abandoned.
    writer: Option<hdfs_native::file::FileWriter>,
    client: Client,
    _keytab: Option<Arc<PrivateKeytab>>,
    loc: Location,
}

impl HdfsWriter {
    fn writer(&mut self) -> Result<&mut hdfs_native::file::FileWriter> {
        self.writer.as_mut().ok_or_else(|| StorageError::Io {
            path: self.loc.to_string(),
            message: "the writer is already closed".into(),
        })
    }
}

#[async_trait]
impl WriteStream for HdfsWriter {
    async fn write(&mut self, data: Vec<u8>) -> Result<()> {
        let loc = self.loc.clone();
        self.writer()?
            .write_bytes(Bytes::from(data))
            .await
            .map(|_| ())
            .map_err(|e| hdfs_error(&loc, e))
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let loc = self.loc.clone();
        let writer = self.writer()?;
        // hsync: every datanode in the pipeline has the bytes on disk before we say OK.
        // Erasure-coded files cannot hsync; close still waits for every block.
        match writer.hsync().await {
            Ok(())
            | Err(HdfsError::UnsupportedFeature(_))
            | Err(HdfsError::UnsupportedErasureCodingPolicy(_)) => {}
            Err(e) => return Err(hdfs_error(&loc, e)),
        }
        let closed = writer.close().await;
        self.writer = None;
        if let Err(e) = closed {
            // A file that could not be completed must not stay behind looking whole.
            if let Err(cleanup) = self.client.delete(loc.path(), false).await {
                tracing::warn!(path = %loc, "cannot remove the incomplete file: {cleanup}");
            }
            return Err(hdfs_error(&loc, e));
        }
        Ok(())
    }

    async fn abort(mut self: Box<Self>) -> Result<()> {
        drop(self.writer.take());
        match self.client.delete(self.loc.path(), false).await {
            Ok(_) => Ok(()),
            Err(e) => match hdfs_error(&self.loc, e) {
                StorageError::NotFound { .. } => Ok(()),
                other => Err(other),
            },
        }
    }
}

impl Drop for HdfsWriter {
    /// A writer dropped mid-way (its task cancelled) must not leave a partial file.
    fn drop(&mut self) {
        if self.writer.take().is_none() {
            return;
        }
        let (client, path) = (self.client.clone(), self.loc.path().to_string());
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = client.delete(&path, false).await;
            });
        }
    }
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
    fn authentication_failures_are_not_authorized() {
        let loc = Location::parse("hdfs://nn:8020/a").unwrap();
        let missing_lib = HdfsError::OperationFailed("Failed to load libgssapi_krb".into());
        let err = hdfs_error(&loc, missing_lib);
        assert!(
            matches!(&err, StorageError::NotAuthorized(m) if m.contains("libgssapi-krb5-2")),
            "{err}"
        );
        let err = hdfs_error(&loc, HdfsError::SASLError("boom".into()));
        assert!(matches!(err, StorageError::NotAuthorized(_)), "{err}");
        let simple_refused = HdfsError::FatalRPCError(
            "org.apache.hadoop.security.AccessControlException".into(),
            "SIMPLE authentication is not enabled.  Available:[TOKEN, KERBEROS]".into(),
        );
        let err = hdfs_error(&loc, simple_refused);
        assert!(matches!(err, StorageError::NotAuthorized(_)), "{err}");
        // A permission refusal stays a storage error, as for simple auth.
        let denied = HdfsError::RPCError(
            "org.apache.hadoop.security.AccessControlException".into(),
            "Permission denied: user=alice, access=READ_EXECUTE, inode=\"/bob\"".into(),
        );
        assert!(matches!(hdfs_error(&loc, denied), StorageError::Io { .. }));
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
