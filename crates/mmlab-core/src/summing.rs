//! The summing kernel the experiments share (repeated-access's methods,
//! lazy-loading's passes): the wrapping sum of the
//! little-endian u64 words of a byte slice, the same checksum that
//! `mmlab_core::DataFile` computes when it writes the file.
//!
//! It has to be fast enough that a pass measures the method (the system
//! calls, the faults, the copies), not this loop: eight independent
//! accumulators let LLVM turn the loop into SIMD adds (`paddq` on plain
//! x86-64, `vpaddq` where AVX is enabled), so on a buffer that fits in the
//! L2 cache it runs several times faster than main memory can deliver bytes.
//! `#[inline(never)]` keeps it one function, the same machine code for every
//! method, that `objdump -d` can find by name (`mmlab_core::summing::sum_le_words`;
//! see the repeated-access README).

/// Words per iteration: eight u64 lanes = 64 bytes, one cache line.
const LANES: usize = 8;

/// The wrapping sum of the little-endian u64 words of `bytes`; a trailing
/// partial word is zero-padded. Summing consecutive slices that each start
/// at a multiple of 8 bytes of the file and adding the results (wrapping)
/// gives the checksum of the whole file.
#[inline(never)]
pub fn sum_le_words(bytes: &[u8]) -> u64 {
    let mut lanes = [0u64; LANES];
    let mut lines = bytes.chunks_exact(8 * LANES);
    for line in &mut lines {
        for (lane, word) in lanes.iter_mut().zip(line.chunks_exact(8)) {
            let word: [u8; 8] = word.try_into().expect("chunks_exact(8) yields 8 bytes");
            *lane = lane.wrapping_add(u64::from_le_bytes(word));
        }
    }
    let mut total = lanes.iter().fold(0u64, |sum, lane| sum.wrapping_add(*lane));
    for tail in lines.remainder().chunks(8) {
        let mut word = [0u8; 8];
        word[..tail.len()].copy_from_slice(tail);
        total = total.wrapping_add(u64::from_le_bytes(word));
    }
    total
}

/// Sums `bytes` through [`sum_le_words`] with both the input and the result
/// hidden from the optimiser (`std::hint::black_box`), so the sum can be
/// neither precomputed nor skipped. Every pass of every method calls this.
#[inline(always)]
pub fn checked_sum(bytes: &[u8]) -> u64 {
    std::hint::black_box(sum_le_words(std::hint::black_box(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datafile::pattern_byte;

    /// The obvious word-by-word sum, to compare against.
    fn reference_sum(bytes: &[u8]) -> u64 {
        bytes.chunks(8).fold(0u64, |sum, chunk| {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            sum.wrapping_add(u64::from_le_bytes(word))
        })
    }

    fn check(len: usize) {
        let bytes: Vec<u8> = (0..len as u64).map(pattern_byte).collect();
        assert_eq!(sum_le_words(&bytes), reference_sum(&bytes), "length {len}");
    }

    #[test]
    fn equals_the_word_by_word_sum_for_every_tail_length() {
        for len in [
            0, 1, 7, 8, 9, 63, 64, 65, 127, 128, 129, 4096, 4099, 100_003,
        ] {
            check(len);
        }
    }

    #[test]
    fn sums_of_word_aligned_blocks_add_up_to_the_whole() {
        let bytes: Vec<u8> = (0..70_001u64).map(pattern_byte).collect();
        for block in [8usize, 64, 4096, 65_536] {
            let by_blocks = bytes
                .chunks(block)
                .fold(0u64, |sum, b| sum.wrapping_add(sum_le_words(b)));
            assert_eq!(by_blocks, sum_le_words(&bytes), "block {block}");
        }
    }

    #[test]
    fn wraps_instead_of_overflowing() {
        let bytes = [0xffu8; 16];
        assert_eq!(sum_le_words(&bytes), u64::MAX.wrapping_add(u64::MAX));
    }
}
