//! `ping`: the FE and BE heartbeat. Never touches storage, so it never waits behind it.

use super::{error, Broker, RpcError};
use crate::wire::generated::TBrokerPingBrokerRequest;
use crate::wire::Reply;

pub async fn ping(broker: &Broker, req: TBrokerPingBrokerRequest) -> Result<Reply, RpcError> {
    broker.sessions.touch(&req.client_id);
    Ok(Reply::Status(error::ok()))
}
