//! The one method table: every RPC both services define.
//!
//! A row gives the method's wire name, its argument type, the reply it fails with, its
//! audit group and its handler. Everything per method derives from here: [`Method`] and
//! its names, [`Call`] and its decoding, [`Reply::failure`](super::Reply::failure), the
//! audit groups, the metrics' `method` label, and `rpc`'s dispatch (which expands the
//! table with [`method_table`] and names the handlers). Adding a method is one row here
//! plus its handler.

use super::generated::*;
use super::{read_args, PwriteRequest, Reply, SliceInput};
use crate::metrics::Label;

/// Hands the table to `$expand`, a macro taking rows of
/// `Variant "wireName" (Argument) Reply::Kind(Response) group handler_path;`.
#[macro_export]
#[doc(hidden)]
macro_rules! method_table {
    ($expand:ident) => {
        $expand! {
            ListPath "listPath" (TBrokerListPathRequest) List(TBrokerListResponse) list list::list_path;
            ListLocatedFiles "listLocatedFiles" (TBrokerListPathRequest) List(TBrokerListResponse) list list::list_located_files;
            DeletePath "deletePath" (TBrokerDeletePathRequest) Status(TBrokerOperationStatus) meta meta::delete_path;
            RenamePath "renamePath" (TBrokerRenamePathRequest) Status(TBrokerOperationStatus) meta meta::rename_path;
            CheckPathExist "checkPathExist" (TBrokerCheckPathExistRequest) CheckPathExist(TBrokerCheckPathExistResponse) meta meta::check_path_exist;
            OpenReader "openReader" (TBrokerOpenReaderRequest) OpenReader(TBrokerOpenReaderResponse) read read::open_reader;
            Pread "pread" (TBrokerPReadRequest) Read(TBrokerReadResponse) read read::pread;
            Seek "seek" (TBrokerSeekRequest) Status(TBrokerOperationStatus) read read::seek;
            CloseReader "closeReader" (TBrokerCloseReaderRequest) Status(TBrokerOperationStatus) read read::close_reader;
            OpenWriter "openWriter" (TBrokerOpenWriterRequest) OpenWriter(TBrokerOpenWriterResponse) write write::open_writer;
            Pwrite "pwrite" (PwriteRequest) Status(TBrokerOperationStatus) write write::pwrite;
            CloseWriter "closeWriter" (TBrokerCloseWriterRequest) Status(TBrokerOperationStatus) write write::close_writer;
            Ping "ping" (TBrokerPingBrokerRequest) Status(TBrokerOperationStatus) ping ping::ping;
            FileSize "fileSize" (TBrokerFileSizeRequest) FileSize(TBrokerFileSizeResponse) meta meta::file_size;
            IsSplittable "isSplittable" (TBrokerIsSplittableRequest) IsSplittable(TBrokerIsSplittableResponse) meta meta::is_splittable;
        }
    };
}
pub use method_table;

/// A response that can carry a failure: every required field set, nothing else.
pub trait Failed {
    fn failed(status: TBrokerOperationStatus) -> Self;
}

macro_rules! define_methods {
    ($($variant:ident $name:literal ($arg:ty) $reply:ident($response:ty) $group:ident $handler:path;)*) => {
        /// The methods both services define.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Method {
            $($variant,)*
        }

        /// One decoded request. Every method takes a single struct argument, field id 1.
        #[derive(Debug)]
        pub enum Call {
            $($variant($arg),)*
        }

        impl Method {
            /// Every method, in table order: a method's place here is its metric slot.
            pub const ALL: &'static [Method] = &[$(Method::$variant,)*];

            pub fn from_name(name: &str) -> Option<Method> {
                match name {
                    $($name => Some(Method::$variant),)*
                    _ => None,
                }
            }

            /// The wire name (`listPath`).
            pub const fn name(self) -> &'static str {
                match self {
                    $(Method::$variant => $name,)*
                }
            }

            /// The audit module that selects this method (`audit_log_modules`).
            pub const fn audit_group(self) -> &'static str {
                match self {
                    $(Method::$variant => stringify!($group),)*
                }
            }

            /// The reply this method fails with, every required field set.
            pub(super) fn failure(self, status: TBrokerOperationStatus) -> Reply {
                match self {
                    $(Method::$variant => Reply::$reply(<$response as Failed>::failed(status)),)*
                }
            }

            pub(super) fn read_call(self, input: &mut SliceInput<'_>) -> thrift::Result<Call> {
                Ok(match self {
                    $(Method::$variant => Call::$variant(read_args::<$arg>(input)?),)*
                })
            }
        }

        impl Call {
            pub fn method(&self) -> Method {
                match self {
                    $(Call::$variant(_) => Method::$variant,)*
                }
            }
        }
    };
}

method_table!(define_methods);

impl Method {
    /// This method as a metric label value.
    pub fn label(self) -> Label {
        Label {
            slot: self as usize,
            name: self.name(),
        }
    }

    /// The label of a method name no broker serves: names from clients never become
    /// label values.
    pub const UNKNOWN_LABEL: Label = Label {
        slot: Method::ALL.len(),
        name: "unknown",
    };
}

impl Failed for TBrokerOperationStatus {
    fn failed(status: TBrokerOperationStatus) -> Self {
        status
    }
}

impl Failed for TBrokerListResponse {
    fn failed(status: TBrokerOperationStatus) -> Self {
        // An empty list rather than none: clients iterate it without checking.
        TBrokerListResponse::new(status, Some(Vec::new()))
    }
}

impl Failed for TBrokerCheckPathExistResponse {
    fn failed(status: TBrokerOperationStatus) -> Self {
        TBrokerCheckPathExistResponse::new(status, false)
    }
}

impl Failed for TBrokerOpenReaderResponse {
    fn failed(status: TBrokerOperationStatus) -> Self {
        TBrokerOpenReaderResponse::new(status, None, None)
    }
}

impl Failed for TBrokerReadResponse {
    fn failed(status: TBrokerOperationStatus) -> Self {
        TBrokerReadResponse::new(status, None)
    }
}

impl Failed for TBrokerOpenWriterResponse {
    fn failed(status: TBrokerOperationStatus) -> Self {
        TBrokerOpenWriterResponse::new(status, None)
    }
}

impl Failed for TBrokerFileSizeResponse {
    fn failed(status: TBrokerOperationStatus) -> Self {
        TBrokerFileSizeResponse::new(status, None)
    }
}

impl Failed for TBrokerIsSplittableResponse {
    fn failed(status: TBrokerOperationStatus) -> Self {
        TBrokerIsSplittableResponse::new(Some(status), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_slots_are_table_order() {
        for (slot, method) in Method::ALL.iter().enumerate() {
            assert_eq!(Method::from_name(method.name()), Some(*method));
            assert_eq!(method.label().slot, slot);
        }
        assert_eq!(Method::from_name("nope"), None);
        assert_eq!(Method::UNKNOWN_LABEL.slot, Method::ALL.len());
    }
}
