//! The summing kernel every method shares: the wrapping sum of the
//! little-endian u64 words of a byte slice, the same checksum that
//! `mmlab_core::DataFile` computes when it writes the file. It lives in
//! `mmlab_core::summing` (lazy-loading sums its passes with the same loop);
//! see there why it is written as it is.

pub use mmlab_core::summing::{checked_sum, sum_le_words};
