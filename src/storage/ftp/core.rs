//! FTP sessions: connecting and logging in, a small pool of idle control connections
//! per client, and the metadata commands (MLST/MLSD with a LIST fallback, MKD, DELE,
//! RMD, RNFR/RNTO) every Storage call is made of. One control connection runs one command
//! or transfer at a time, so each call takes a connection of its own from the pool.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant, UNIX_EPOCH};

use suppaftp::list::ListParser;
use suppaftp::tokio::AsyncFtpStream;
use suppaftp::types::FileType;
use suppaftp::{FtpError, FtpResult};

use super::conf::{DataMode, FtpSettings};
use super::error::{is_not_implemented, is_unavailable, to_storage_error, Doing};
use crate::storage::{Result, StorageError};

pub(super) type Conn = AsyncFtpStream;

/// How long an active-mode listener waits for the server to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the server may take to answer one command (a transfer's opening included,
/// so longer than [`CONNECT_TIMEOUT`]): past it the call fails instead of hanging.
pub(super) const REPLY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one login may take, and how often it is tried.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(15);
const LOGIN_TRIES: usize = 2;
/// Idle connections kept per client.
const IDLE_MAX: usize = 4;
/// Idle connections older than this are not used again (servers drop idle sessions
/// after a few minutes; vsftpd's default is 300 s).
const FRESH_FOR: Duration = Duration::from_secs(60);

/// One file or directory as a listing or MLST describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
    /// Milliseconds since the epoch, 0 when the server does not say.
    pub modified_ms: i64,
}

pub(super) struct Pool {
    pub settings: FtpSettings,
    idle: Mutex<Vec<(Conn, Instant)>>,
}

impl Pool {
    pub fn new(settings: FtpSettings) -> Self {
        Pool {
            settings,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// `path` is what a failure names (the URI as shown).
    pub fn error(&self, path: &str, doing: Doing, err: FtpError) -> StorageError {
        to_storage_error(path, &self.settings.server(), doing, err)
    }

    /// An idle connection still alive, or a new one.
    pub async fn take(&self, path: &str) -> Result<Conn> {
        loop {
            let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let Some((mut conn, since)) = idle else { break };
            // Servers drop sessions idle a few minutes (pyftpdlib after 300 s, answering
            // 421 to the next command): every pooled connection proves itself first.
            if since.elapsed() < FRESH_FOR && bounded("NOOP", conn.noop()).await.is_ok() {
                return Ok(conn);
            }
        }
        self.connect(path).await
    }

    /// Returns a connection that finished its command cleanly.
    pub fn give(&self, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < IDLE_MAX {
            idle.push((conn, Instant::now()));
        }
    }

    /// A new logged-in connection. A login that stalls is tried once more on a new
    /// connection (seen with pyftpdlib under many simultaneous logins: a greeted
    /// connection that never answers USER).
    async fn connect(&self, path: &str) -> Result<Conn> {
        let s = &self.settings;
        for _ in 0..LOGIN_TRIES - 1 {
            if let Ok(result) = tokio::time::timeout(LOGIN_TIMEOUT, self.log_in(path)).await {
                return result;
            }
        }
        tokio::time::timeout(LOGIN_TIMEOUT, self.log_in(path))
            .await
            .unwrap_or_else(|_| {
                Err(StorageError::Io {
                    path: path.to_string(),
                    message: format!(
                        "the FTP server {} did not let us log in within {LOGIN_TIMEOUT:?}, \
                         {LOGIN_TRIES} times",
                        s.server()
                    ),
                })
            })
    }

    async fn log_in(&self, path: &str) -> Result<Conn> {
        let s = &self.settings;
        let mut conn = Conn::connect((s.host.as_str(), s.port))
            .await
            .map_err(|e| self.error(path, Doing::Lookup, e))?;
        if s.mode == DataMode::Active {
            conn = conn.active_mode(CONNECT_TIMEOUT);
        }
        conn.login(s.user.as_str(), s.password.expose())
            .await
            .map_err(|e| self.error(path, Doing::Login, e))?;
        conn.transfer_type(FileType::Binary)
            .await
            .map_err(|e| self.error(path, Doing::Lookup, e))?;
        Ok(conn)
    }

    /// Runs `f` on a pooled connection, which goes back to the pool if `f` succeeds.
    pub async fn with_conn<T>(
        &self,
        path: &str,
        f: impl AsyncFnOnce(&mut Conn) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.take(path).await?;
        let result = f(&mut conn).await;
        if result.is_ok() {
            self.give(conn);
        }
        result
    }
}

/// One exchange with the server, `what` naming it (`MLST`, `the 226 after RETR`): a
/// server that does not answer within [`REPLY_TIMEOUT`] fails it as a connection error
/// (the connection is then dropped, never pooled), which the caller maps as any other.
pub(super) async fn bounded<T>(
    what: &str,
    exchange: impl Future<Output = FtpResult<T>>,
) -> FtpResult<T> {
    match tokio::time::timeout(REPLY_TIMEOUT, exchange).await {
        Ok(Err(FtpError::ConnectionError(e))) if e.kind() == std::io::ErrorKind::TimedOut => {
            Err(FtpError::ConnectionError(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("{what}: no data connection from the server within {CONNECT_TIMEOUT:?}"),
            )))
        }
        Ok(result) => result,
        Err(_) => Err(FtpError::ConnectionError(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer to {what} within {REPLY_TIMEOUT:?}"),
        ))),
    }
}

/// What exactly `dir_path/name` is, or `None`. The root is always a directory.
pub(super) async fn stat(
    pool: &Pool,
    conn: &mut Conn,
    shown: &str,
    path: &str,
) -> Result<Option<Entry>> {
    if path == "/" {
        return Ok(Some(Entry {
            name: String::new(),
            is_dir: true,
            size: 0,
            modified_ms: 0,
        }));
    }
    match bounded("MLST", conn.mlst(Some(path))).await {
        Ok(line) => Ok(parse_facts(&line).map(|(mut e, _)| {
            e.name = base_name(path).to_string();
            e
        })),
        Err(e) if is_unavailable(&e) => Ok(None),
        Err(e) if is_not_implemented(&e) => {
            // As Hadoop does: list the parent and look for the name.
            let parent = parent_of(path);
            let name = base_name(path);
            Ok(list(pool, conn, shown, parent)
                .await?
                .and_then(|entries| entries.into_iter().find(|e| e.name == name)))
        }
        Err(e) => Err(pool.error(shown, Doing::Lookup, e)),
    }
}

/// The entries of directory `path` (without `.` and `..`), `None` when it does not exist.
pub(super) async fn list(
    pool: &Pool,
    conn: &mut Conn,
    shown: &str,
    path: &str,
) -> Result<Option<Vec<Entry>>> {
    let lines = match bounded("MLSD", conn.mlsd(Some(path))).await {
        Ok(lines) => lines,
        Err(e) if is_unavailable(&e) => return Ok(None),
        Err(e) if is_not_implemented(&e) => return list_plain(pool, conn, shown, path).await,
        Err(e) => return Err(pool.error(shown, Doing::Lookup, e)),
    };
    Ok(Some(
        lines
            .iter()
            .filter_map(|l| parse_facts(l))
            .filter_map(|(mut e, name)| {
                e.name = name?;
                Some(e)
            })
            .filter(|e| e.name != "." && e.name != "..")
            .collect(),
    ))
}

/// LIST, for servers without MLSD (vsftpd): Unix or DOS style lines.
async fn list_plain(
    pool: &Pool,
    conn: &mut Conn,
    shown: &str,
    path: &str,
) -> Result<Option<Vec<Entry>>> {
    let lines = match bounded("LIST", conn.list(Some(path))).await {
        Ok(lines) => lines,
        Err(e) if is_unavailable(&e) => return Ok(None),
        Err(e) => return Err(pool.error(shown, Doing::Lookup, e)),
    };
    let entries = lines
        .iter()
        .filter_map(|l| {
            ListParser::parse_posix(l)
                .or_else(|_| ListParser::parse_dos(l))
                .ok()
        })
        .filter(|f| f.name() != "." && f.name() != "..")
        .map(|f| Entry {
            name: f.name().to_string(),
            is_dir: f.is_directory(),
            size: if f.is_directory() { 0 } else { f.size() as u64 },
            modified_ms: f
                .modified()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
        })
        .collect();
    Ok(Some(entries))
}

/// Creates directory `path` and its missing parents.
pub(super) async fn mkdirs(pool: &Pool, conn: &mut Conn, shown: &str, path: &str) -> Result<()> {
    let mut missing = Vec::new();
    let mut at = path;
    while at != "/" {
        match stat(pool, conn, shown, at).await? {
            Some(e) if e.is_dir => break,
            Some(_) => {
                return Err(StorageError::Io {
                    path: shown.to_string(),
                    message: format!("{at} is a file, not a directory"),
                })
            }
            None => missing.push(at),
        }
        at = parent_of(at);
    }
    for dir in missing.into_iter().rev() {
        if let Err(e) = bounded("MKD", conn.mkdir(dir)).await {
            // Made meanwhile by another writer: fine.
            if !stat(pool, conn, shown, dir)
                .await?
                .is_some_and(|e| e.is_dir)
            {
                return Err(pool.error(shown, Doing::Change, e));
            }
        }
    }
    Ok(())
}

/// Removes a file, or a directory with everything below it (depth first).
pub(super) async fn remove_tree(
    pool: &Pool,
    conn: &mut Conn,
    shown: &str,
    path: &str,
    is_dir: bool,
) -> Result<()> {
    // (path, is_dir, children listed yet)
    let mut stack = vec![(path.to_string(), is_dir, false)];
    while let Some((at, is_dir, listed)) = stack.pop() {
        if !is_dir || listed {
            let removed = if is_dir {
                bounded("RMD", conn.rmdir(&at)).await
            } else {
                bounded("DELE", conn.rm(&at)).await
            };
            if let Err(e) = removed {
                // 550 also means "refused": only a path really gone is fine.
                if !is_unavailable(&e) || stat(pool, conn, shown, &at).await?.is_some() {
                    return Err(pool.error(shown, Doing::Change, e));
                }
            }
            continue;
        }
        let children = list(pool, conn, shown, &at).await?.unwrap_or_default();
        stack.push((at.clone(), true, true));
        for child in children {
            stack.push((join(&at, &child.name), child.is_dir, false));
        }
    }
    Ok(())
}

pub(super) fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

pub(super) fn base_name(path: &str) -> &str {
    &path[path.rfind('/').map_or(0, |i| i + 1)..]
}

pub(super) fn join(dir: &str, name: &str) -> String {
    format!("{}/{name}", dir.trim_end_matches('/'))
}

/// An MLST/MLSD line (`type=file;size=12;modify=20260101120000; name`): the entry and the
/// name after the facts. `None` for a line that is no entry.
fn parse_facts(line: &str) -> Option<(Entry, Option<String>)> {
    let line = line.trim_start();
    let (facts, name) = match line.split_once(' ') {
        Some((facts, name)) => (facts, Some(name.to_string())),
        None => (line, None),
    };
    let mut entry = Entry {
        name: String::new(),
        is_dir: false,
        size: 0,
        modified_ms: 0,
    };
    let mut typed = false;
    for fact in facts.split(';').filter(|f| !f.is_empty()) {
        let Some((key, value)) = fact.split_once('=') else {
            continue;
        };
        match key.to_ascii_lowercase().as_str() {
            "type" => {
                let value = value.to_ascii_lowercase();
                // cdir/pdir are the directory itself and its parent in an MLSD listing.
                entry.is_dir = matches!(value.as_str(), "dir" | "cdir" | "pdir");
                entry.name = value;
                typed = true;
            }
            "size" => entry.size = value.parse().unwrap_or(0),
            "modify" => entry.modified_ms = modify_time(value).unwrap_or(0),
            _ => {}
        }
    }
    let self_or_parent = matches!(entry.name.as_str(), "cdir" | "pdir");
    if entry.is_dir {
        entry.size = 0;
    }
    (typed && !self_or_parent).then_some((entry, name))
}

/// RFC 3659 time-val `YYYYMMDDHHMMSS[.sss]` (UTC) → milliseconds since the epoch.
fn modify_time(value: &str) -> Option<i64> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| whole[r].parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(8..10)?, num(10..12)?, num(12..14)?);
    let millis: i64 = format!("{fraction:0<3}")[..3].parse().unwrap_or(0);
    let days = days_from_civil(y, m, d);
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(secs * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_listings_parse() {
        let (e, name) =
            parse_facts("type=file;size=12;modify=20260102030405.5;perm=r; a b.csv").unwrap();
        assert_eq!(name.as_deref(), Some("a b.csv"));
        assert!(!e.is_dir);
        assert_eq!(e.size, 12);
        assert_eq!(e.modified_ms, 1_767_323_045_500);
        let (d, _) = parse_facts(" Type=dir;Size=4096;Modify=19700101000001; /x").unwrap();
        assert!(d.is_dir);
        assert_eq!((d.size, d.modified_ms), (0, 1000));
        assert!(parse_facts("type=cdir; .").is_none());
        assert!(parse_facts("garbage").is_none());
    }

    #[test]
    fn paths_split() {
        assert_eq!(parent_of("/a/b"), "/a");
        assert_eq!(parent_of("/a"), "/");
        assert_eq!(base_name("/a/b"), "b");
        assert_eq!(join("/", "x"), "/x");
        assert_eq!(join("/a", "x"), "/a/x");
    }
}
