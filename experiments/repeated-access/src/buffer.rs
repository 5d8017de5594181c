//! The read family's buffer, placed on purpose: it starts a chosen number of
//! bytes past a page boundary (0 by default), so that the buffer's alignment
//! is a parameter of the run, recorded with every pass, and not whatever the
//! allocator happened to return. On x86 the kernel's copy into user space
//! (`copy_to_user`, `rep movsb`) can run at half speed into a buffer that
//! starts a few bytes past a page; the full profile measures that as its own
//! axis.

use memmap2::MmapMut;

/// A buffer of `len` bytes that starts `offset` bytes past a page boundary:
/// an anonymous mapping (page-aligned by construction) of `offset + len`
/// bytes, touched once when made so that its page faults come before any
/// timed pass.
#[derive(Debug)]
pub struct PlacedBuffer {
    mapping: MmapMut,
    offset: usize,
    len: usize,
}

impl PlacedBuffer {
    /// A buffer of `len` bytes at `offset` (less than a page) past a page.
    pub fn new(len: usize, offset: usize) -> anyhow::Result<PlacedBuffer> {
        let page = mmlab_core::fingerprint::page_size();
        anyhow::ensure!(
            offset < page,
            "a buffer offset of {offset} bytes is not less than a page ({page} bytes)"
        );
        let mut mapping = MmapMut::map_anon((offset + len).max(1))?;
        // Every page written now: the faults that give the buffer its frames
        // are taken here, outside every timed pass.
        mapping.fill(0);
        Ok(PlacedBuffer {
            mapping,
            offset,
            len,
        })
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.mapping[self.offset..self.offset + self.len]
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes from the page boundary below the buffer's first byte to it.
    pub fn page_offset(&self) -> u64 {
        page_offset(self.mapping[self.offset..].as_ptr())
    }
}

/// Bytes from the page boundary below `pointer` to it.
pub fn page_offset(pointer: *const u8) -> u64 {
    (pointer as usize % mmlab_core::fingerprint::page_size()) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placed_buffer_starts_where_it_was_asked_to() {
        for offset in [0usize, 16, 64, 2048] {
            let mut buffer = PlacedBuffer::new(65_536, offset).unwrap();
            assert_eq!(buffer.page_offset(), offset as u64);
            assert_eq!(buffer.as_mut_slice().len(), 65_536);
            assert!(buffer.as_mut_slice().iter().all(|b| *b == 0));
        }
        assert!(PlacedBuffer::new(16, 1 << 20).is_err());
    }
}
