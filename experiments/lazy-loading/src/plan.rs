//! What to touch: the numbers of pages (1, 16, 256, ... all) and the orders
//! (sequential, strided, random) in which they are touched. Pure functions,
//! computed before any measured region.

/// The order in which the touched pages are visited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Pages 0, 1, 2, ... k-1.
    Sequential,
    /// k pages spread evenly over the whole mapping: 0, s, 2s, ... with
    /// s = n / k.
    Strided,
    /// k distinct pages chosen at random (fixed seed), in random order.
    Random,
}

impl Order {
    pub const ALL: [Order; 3] = [Order::Sequential, Order::Strided, Order::Random];

    pub fn name(self) -> &'static str {
        match self {
            Order::Sequential => "sequential",
            Order::Strided => "strided",
            Order::Random => "random",
        }
    }
}

/// The numbers of pages touched: 1, 16, 256, ... (powers of 16) below
/// `n_pages`, then `n_pages` itself.
pub fn pages_touched_steps(n_pages: usize) -> Vec<usize> {
    let mut steps = Vec::new();
    let mut k = 1usize;
    while k < n_pages {
        steps.push(k);
        k *= 16;
    }
    steps.push(n_pages);
    steps
}

/// The page indices to touch, `k` of the `n_pages`, in `order`.
pub fn pages_to_touch(order: Order, k: usize, n_pages: usize, seed: u64) -> Vec<usize> {
    let k = k.min(n_pages);
    match order {
        Order::Sequential => (0..k).collect(),
        Order::Strided => {
            let stride = (n_pages / k.max(1)).max(1);
            (0..k).map(|i| i * stride).collect()
        }
        Order::Random => {
            // A partial Fisher-Yates shuffle: k distinct pages, random order.
            let mut pages: Vec<usize> = (0..n_pages).collect();
            let mut rng = XorShift::new(seed);
            for i in 0..k {
                let j = i + (rng.next_u64() % (n_pages - i) as u64) as usize;
                pages.swap(i, j);
            }
            pages.truncate(k);
            pages
        }
    }
}

/// Every `step`-th page: 0, step, 2 step, ...
pub fn every_nth_page(step: usize, n_pages: usize) -> Vec<usize> {
    (0..n_pages).step_by(step.max(1)).collect()
}

/// A small deterministic generator (xorshift64*), so a run's random order
/// can be reproduced from its seed.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A residency bitmap as a string of '0' and '1', downsampled to at most
/// `max_cells` cells: a cell is '1' when any of its pages is set. Returns
/// the string and the pages per cell.
pub fn bitmap(flags: &[bool], max_cells: usize) -> (String, usize) {
    let per_cell = flags.len().div_ceil(max_cells.max(1)).max(1);
    let text = flags
        .chunks(per_cell)
        .map(|cell| if cell.iter().any(|f| *f) { '1' } else { '0' })
        .collect();
    (text, per_cell)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_steps(n_pages: usize, expected: &[usize]) {
        assert_eq!(
            pages_touched_steps(n_pages),
            expected,
            "n_pages = {n_pages}"
        );
    }

    #[test]
    fn steps_are_powers_of_16_then_all() {
        check_steps(1, &[1]);
        check_steps(16, &[1, 16]);
        check_steps(16_384, &[1, 16, 256, 4096, 16_384]);
        check_steps(262_144, &[1, 16, 256, 4096, 65_536, 262_144]);
        check_steps(1000, &[1, 16, 256, 1000]);
    }

    #[test]
    fn orders_touch_k_distinct_pages_inside_the_mapping() {
        for order in Order::ALL {
            for k in [1, 16, 256, 1000] {
                let pages = pages_to_touch(order, k, 1000, 7);
                assert_eq!(pages.len(), k, "{order:?} k={k}");
                let mut sorted = pages.clone();
                sorted.sort_unstable();
                sorted.dedup();
                assert_eq!(sorted.len(), k, "{order:?} k={k}: pages are distinct");
                assert!(pages.iter().all(|p| *p < 1000));
            }
        }
        assert_eq!(pages_to_touch(Order::Strided, 4, 16, 0), vec![0, 4, 8, 12]);
        assert_eq!(pages_to_touch(Order::Sequential, 3, 16, 0), vec![0, 1, 2]);
        assert_ne!(
            pages_to_touch(Order::Random, 16, 16, 1),
            pages_to_touch(Order::Sequential, 16, 16, 1),
            "a random order of all pages is not the identity"
        );
    }

    #[test]
    fn bitmaps_downsample_with_any() {
        let flags = [true, false, false, false, false, true, false, false];
        assert_eq!(bitmap(&flags, 8), ("10000100".to_string(), 1));
        assert_eq!(bitmap(&flags, 4), ("1010".to_string(), 2));
        assert_eq!(bitmap(&flags, 3), ("110".to_string(), 3));
        assert_eq!(every_nth_page(64, 130), vec![0, 64, 128]);
    }
}
