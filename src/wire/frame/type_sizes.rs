//! The Thrift binary protocol's type ids and how many bytes a value of each type takes
//! on the wire: the table the scanner sizes fields, elements and reserves by.

pub(super) const T_STOP: u8 = 0;
pub(super) const T_BOOL: u8 = 2;
pub(super) const T_BYTE: u8 = 3;
pub(super) const T_DOUBLE: u8 = 4;
pub(super) const T_I16: u8 = 6;
pub(super) const T_I32: u8 = 8;
pub(super) const T_I64: u8 = 10;
pub(super) const T_STRING: u8 = 11;
pub(super) const T_STRUCT: u8 = 12;
pub(super) const T_MAP: u8 = 13;
pub(super) const T_SET: u8 = 14;
pub(super) const T_LIST: u8 = 15;
pub(super) const T_UUID: u8 = 16;

/// Fewest bytes a value of type `t` occupies, or `None` if `t` is not a value type.
/// Every value type takes at least one byte, which keeps the work per element bounded
/// by bytes and lets counts be checked against the size limit up front.
pub(super) fn min_size(t: u8) -> Option<usize> {
    Some(match t {
        T_BOOL | T_BYTE => 1,
        T_I16 => 2,
        T_I32 => 4,
        T_DOUBLE | T_I64 => 8,
        T_UUID => 16,
        T_STRING => 4,
        T_STRUCT => 1,
        T_MAP => 6,
        T_SET | T_LIST => 5,
        _ => return None,
    })
}

/// Fixed encoded size of a scalar type, `None` for strings, structs and containers.
pub(super) fn fixed_size(t: u8) -> Option<usize> {
    match t {
        T_BOOL | T_BYTE => Some(1),
        T_I16 => Some(2),
        T_I32 => Some(4),
        T_DOUBLE | T_I64 => Some(8),
        T_UUID => Some(16),
        _ => None,
    }
}
