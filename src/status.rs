//! The protocol's status codes by name: the broker's vocabulary for how a call ended.
//!
//! `TBrokerOperationStatusCode` (generated from the IDL) is a bare number; this enum gives
//! each code its IDL name once, for messages, logs and metric labels, and lets storage
//! classify its failures without knowing Thrift. A unit test in `rpc::error` holds the
//! numbers against the generated ones.

use crate::metrics::Label;

/// How a call ended, as clients see it (SEMANTICS.md "Status codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Ok,
    EndOfFile,
    NotAuthorized,
    DuplicateRequest,
    InvalidInputOffset,
    InvalidInputFilePath,
    InvalidArgument,
    FileNotFound,
    TargetStorageServiceError,
    OperationNotSupported,
}

impl Status {
    /// Every status, in IDL order: a status's place here is its metric slot.
    pub const ALL: [Status; 10] = [
        Status::Ok,
        Status::EndOfFile,
        Status::NotAuthorized,
        Status::DuplicateRequest,
        Status::InvalidInputOffset,
        Status::InvalidInputFilePath,
        Status::InvalidArgument,
        Status::FileNotFound,
        Status::TargetStorageServiceError,
        Status::OperationNotSupported,
    ];

    /// The number on the wire.
    pub const fn code(self) -> i32 {
        match self {
            Status::Ok => 0,
            Status::EndOfFile => 301,
            Status::NotAuthorized => 401,
            Status::DuplicateRequest => 402,
            Status::InvalidInputOffset => 403,
            Status::InvalidInputFilePath => 404,
            Status::InvalidArgument => 405,
            Status::FileNotFound => 501,
            Status::TargetStorageServiceError => 502,
            Status::OperationNotSupported => 503,
        }
    }

    /// The IDL name (`FILE_NOT_FOUND`), what operators grep for.
    pub const fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::EndOfFile => "END_OF_FILE",
            Status::NotAuthorized => "NOT_AUTHORIZED",
            Status::DuplicateRequest => "DUPLICATE_REQUEST",
            Status::InvalidInputOffset => "INVALID_INPUT_OFFSET",
            Status::InvalidInputFilePath => "INVALID_INPUT_FILE_PATH",
            Status::InvalidArgument => "INVALID_ARGUMENT",
            Status::FileNotFound => "FILE_NOT_FOUND",
            Status::TargetStorageServiceError => "TARGET_STORAGE_SERVICE_ERROR",
            Status::OperationNotSupported => "OPERATION_NOT_SUPPORTED",
        }
    }

    pub fn from_code(code: i32) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// This status as a metric label value.
    pub fn label(self) -> Label {
        Label {
            slot: self as usize,
            name: self.name(),
        }
    }

    /// The label of any code a reply carries: codes outside the IDL share `OTHER`.
    pub fn label_of_code(code: i32) -> Label {
        Status::from_code(code).map_or(OTHER, Status::label)
    }
}

/// A code outside the IDL.
pub const OTHER: Label = Label {
    slot: Status::ALL.len(),
    name: "OTHER",
};

/// A call of a method no broker serves, answered with a `TApplicationException`.
pub const UNKNOWN_METHOD: Label = Label {
    slot: Status::ALL.len() + 1,
    name: "UNKNOWN_METHOD",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::from_code(s.code()), Some(s));
            assert_eq!(s.label().name, s.name());
        }
        assert_eq!(Status::label_of_code(12345).name, "OTHER");
        assert_eq!(
            Status::label_of_code(502).name,
            "TARGET_STORAGE_SERVICE_ERROR"
        );
    }
}
