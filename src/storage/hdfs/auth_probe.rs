//! Does a namenode accept simple authentication? A secured namenode turns a client that
//! does not speak Kerberos away with a fatal reply hdfs-native never reads (it carries the
//! SASL call id, which a simple client does not wait on): the client only sees the
//! connection drop, retries for seconds, and says "RPC listener disconnected". So when a
//! call of a simple client is slow, the broker asks the namenodes itself: the 7-byte
//! connection preamble of Hadoop's RPC with auth protocol NONE, which a secured namenode
//! answers at once with `AccessControlException: SIMPLE authentication is not enabled`,
//! and a simple one answers with silence (it waits for the connection context).
//! Hand-written: hdfs-native keeps its RPC types private, and this needs one message.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::storage::{Location, Result, StorageError};

/// A call slower than this has the namenodes probed meanwhile.
const PROBE_AFTER: Duration = Duration::from_millis(300);
/// A secured namenode answers the preamble in one round trip; silence this long means
/// it accepts simple authentication (or is not there to say).
const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// `hrpc`, RPC version 9, service class 0, auth protocol NONE.
const PREAMBLE: [u8; 7] = [b'h', b'r', b'p', b'c', 9, 0, 0];

/// The fields of Hadoop's `RpcResponseHeaderProto` the answer is read for.
#[derive(Clone, PartialEq, Message)]
struct RpcResponseHeader {
    #[prost(uint32, optional, tag = "1")]
    call_id: Option<u32>,
    #[prost(int32, optional, tag = "2")]
    status: Option<i32>,
    #[prost(string, optional, tag = "4")]
    exception_class_name: Option<String>,
    #[prost(string, optional, tag = "5")]
    error_msg: Option<String>,
}

/// The namenodes of one simple-authentication client, probed at most once.
pub(super) struct AuthProbe {
    namenodes: Vec<String>,
    /// `Some(refusal)` once a namenode refused simple authentication.
    verdict: OnceLock<Option<String>>,
}

impl AuthProbe {
    pub(super) fn new(namenodes: Vec<String>) -> Self {
        AuthProbe {
            namenodes,
            verdict: OnceLock::new(),
        }
    }

    /// Runs `call`; when it takes longer than [`PROBE_AFTER`] and a namenode says it
    /// requires Kerberos, answers that instead of waiting for the call's retries.
    pub(super) async fn guard<T>(
        &self,
        loc: &Location,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        if let Some(verdict) = self.verdict.get() {
            return match verdict {
                Some(refusal) => Err(requires_kerberos(loc, refusal)),
                None => call.await,
            };
        }
        tokio::pin!(call);
        tokio::select! {
            result = &mut call => return result,
            _ = tokio::time::sleep(PROBE_AFTER) => {}
        }
        let probe = async {
            match self.probe().await {
                Some(refusal) => refusal,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = &mut call => result,
            refusal = probe => Err(requires_kerberos(loc, &refusal)),
        }
    }

    /// The first refusal among the namenodes, remembered; silence is remembered only
    /// from a namenode that was reached.
    async fn probe(&self) -> Option<String> {
        let answers =
            futures::future::join_all(self.namenodes.iter().map(|nn| ask_namenode(nn))).await;
        let mut reached = false;
        for answer in answers {
            match answer {
                Answer::Refused(refusal) => {
                    let _ = self.verdict.set(Some(refusal.clone()));
                    return Some(refusal);
                }
                Answer::Silent => reached = true,
                Answer::Unreachable => {}
            }
        }
        if reached {
            let _ = self.verdict.set(None);
        }
        None
    }
}

fn requires_kerberos(loc: &Location, refusal: &str) -> StorageError {
    StorageError::NotAuthorized(format!(
        "{loc}: the cluster requires Kerberos ({refusal}); set hadoop.security.authentication = kerberos with kerberos_principal and kerberos_keytab (or kerberos_keytab_content)"
    ))
}

enum Answer {
    /// "namenode at ADDR: its reason".
    Refused(String),
    Silent,
    Unreachable,
}

async fn ask_namenode(addr: &str) -> Answer {
    let Ok(Ok(mut stream)) = tokio::time::timeout(ANSWER_WITHIN, TcpStream::connect(addr)).await
    else {
        return Answer::Unreachable;
    };
    if stream.write_all(&PREAMBLE).await.is_err() {
        return Answer::Unreachable;
    }
    let read = async {
        let len = stream.read_u32().await.ok()? as usize;
        if len > 64 << 10 {
            return None;
        }
        let mut body = vec![0u8; len];
        stream.read_exact(&mut body).await.ok()?;
        RpcResponseHeader::decode_length_delimited(body.as_slice()).ok()
    };
    match tokio::time::timeout(ANSWER_WITHIN, read).await {
        Ok(Some(header)) => match (header.exception_class_name, header.error_msg) {
            (Some(class), Some(msg)) if class.ends_with("AccessControlException") => {
                let reason = msg.lines().next().unwrap_or_default().trim().to_string();
                Answer::Refused(format!("the namenode at {addr} says: {reason}"))
            }
            _ => Answer::Silent,
        },
        // Closed without a word, or nothing within the wait: not a refusal we can name.
        _ => Answer::Silent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A namenode stand-in that reads the preamble, then answers with `reply` (if any)
    /// and keeps the connection open.
    async fn fake_namenode(reply: Option<RpcResponseHeader>) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut preamble = [0u8; 7];
            s.read_exact(&mut preamble).await.unwrap();
            assert_eq!(preamble, PREAMBLE);
            if let Some(reply) = reply {
                let body = reply.encode_length_delimited_to_vec();
                s.write_u32(body.len() as u32).await.unwrap();
                s.write_all(&body).await.unwrap();
            }
            tokio::time::sleep(Duration::from_secs(10)).await;
        });
        addr
    }

    #[tokio::test]
    async fn a_slow_call_to_a_secured_namenode_ends_with_its_reason() {
        let refusal = RpcResponseHeader {
            call_id: Some(u32::MAX - 32),
            status: Some(2),
            exception_class_name: Some("org.apache.hadoop.security.AccessControlException".into()),
            error_msg: Some(
                "SIMPLE authentication is not enabled.  Available:[TOKEN, KERBEROS]".into(),
            ),
        };
        let secured = fake_namenode(Some(refusal)).await;
        let probe = AuthProbe::new(vec!["127.0.0.1:1".into(), secured.clone()]);
        let loc = Location::parse("hdfs://ns1/a").unwrap();
        let started = std::time::Instant::now();
        let never = std::future::pending::<Result<()>>();
        let err = probe.guard(&loc, never).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(1));
        let msg = err.to_string();
        assert!(matches!(err, StorageError::NotAuthorized(_)), "{err:?}");
        assert!(
            msg.contains("requires Kerberos")
                && msg.contains(&secured)
                && msg.contains("SIMPLE authentication is not enabled"),
            "{msg}"
        );
        // Remembered: the next call is answered at once.
        let err = probe.guard(&loc, async { Ok(()) }).await.unwrap_err();
        assert!(matches!(err, StorageError::NotAuthorized(_)));
    }

    #[tokio::test]
    async fn fast_calls_and_silent_namenodes_are_left_alone() {
        let probe = AuthProbe::new(vec![fake_namenode(None).await]);
        let loc = Location::parse("hdfs://nn:8020/a").unwrap();
        assert_eq!(probe.guard(&loc, async { Ok(7) }).await.unwrap(), 7);
        assert!(probe.verdict.get().is_none(), "no probe for a fast call");
        let slow = async {
            tokio::time::sleep(ANSWER_WITHIN + Duration::from_millis(500)).await;
            Ok(8)
        };
        assert_eq!(probe.guard(&loc, slow).await.unwrap(), 8);
        assert_eq!(probe.verdict.get(), Some(&None));
    }
}
