//! `ping`: the FE and BE heartbeat. Never touches storage, so it never waits behind it.

use super::{status, Broker};
use crate::wire::generated::TBrokerPingBrokerRequest;
use crate::wire::Reply;

pub fn ping(broker: &Broker, req: TBrokerPingBrokerRequest) -> Reply {
    broker.sessions.touch(&req.client_id);
    Reply::Status(status::ok())
}
