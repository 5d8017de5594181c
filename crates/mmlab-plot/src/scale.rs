//! Numeric axes: value to pixel, tick positions and tick labels. Log axes
//! are drawn in powers of ten, or in powers of two for sizes in bytes (a
//! field whose name ends in `_bytes`), whose ticks read `4 KiB`, `1 MiB`.

/// The largest magnitude a figure draws. Tick labels go up to `T` (1e12)
/// with at most three digits before it, whole numbers are still exact in an
/// f64 (up to 2^53, about 9e15), and nothing comes near the saturation of
/// the `as i64` / `as u64` casts that turn values into labels and pixels
/// (where 1e308 once made every tick read `9223372036854775807T`). No
/// measurement of this lab comes close (a day in nanoseconds is 9e13), so a
/// value beyond it is a broken file: [`crate::figure::collect_series`]
/// refuses the figure, naming the field and the value.
pub const LARGEST: f64 = 1e15;

/// Whether a figure can draw `value`: finite and within [`LARGEST`].
pub fn drawable(value: f64) -> bool {
    value.is_finite() && value.abs() <= LARGEST
}

/// How tick labels are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickFormat {
    /// 12, 0.5, 12.5k, 3M
    Number,
    /// 4 KiB, 64 MiB (binary units)
    Bytes,
}

impl TickFormat {
    /// Bytes for a field whose name says so, numbers otherwise.
    pub fn for_field(field: &str) -> TickFormat {
        if field.ends_with("_bytes") || field == "bytes" {
            TickFormat::Bytes
        } else {
            TickFormat::Number
        }
    }

    pub fn format(self, value: f64) -> String {
        match self {
            // `as u64` saturates: sizes beyond LARGEST are written as numbers.
            TickFormat::Bytes if (1.0..=LARGEST).contains(&value) && value.fract() == 0.0 => {
                mmlab_core::format_size(value as u64)
            }
            _ => format_number(value),
        }
    }
}

/// A number as a person reads it on an axis: at most three significant
/// digits, k/M/G/T from ten thousand up, and beyond [`LARGEST`] (which no
/// figure draws, but a label of a category may still be) in exponent form,
/// `1e308`, never a saturated integer.
pub fn format_number(value: f64) -> String {
    if value == 0.0 {
        return "0".to_string();
    }
    if !value.is_finite() {
        return value.to_string();
    }
    let magnitude = value.abs();
    if magnitude > LARGEST {
        let text = format!("{value:.2e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
        return format!("{mantissa}e{exponent}");
    }
    for (suffix, unit) in [("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)] {
        if magnitude >= unit * 10.0 || (magnitude >= unit && unit > 1e3) {
            return format!("{}{suffix}", significant(value / unit));
        }
    }
    significant(value)
}

/// Up to three significant digits, no trailing zeros, no exponent. Only
/// called with magnitudes below 1e4 (k/M/G/T taken off by
/// [`format_number`]), so the `as i64` below cannot saturate.
fn significant(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 100.0 {
        return format!("{}", value.round() as i64);
    }
    let decimals = if magnitude >= 10.0 {
        1
    } else if magnitude >= 1.0 {
        2
    } else {
        // 0.0123 -> 4 decimals: three significant digits.
        (2 - magnitude.log10().floor() as i32).clamp(2, 12) as usize
    };
    let text = format!("{value:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    if text == "-0" { "0".to_string() } else { text }
}

/// How far (pixels) the zero of a log axis with zeros is drawn from the
/// start of its powers, beyond a break in the axis line.
pub const ZERO_GAP: f64 = 26.0;

/// A numeric axis mapped onto a pixel interval.
///
/// A log axis starts at least half a decade (for bytes: one and two thirds
/// of an octave, the same ratio) below its smallest value above zero, so the
/// smallest bar still has a height; and when some values are exactly zero,
/// it gets a zero of its own at its start, [`ZERO_GAP`] pixels before its
/// powers begin (a break in the axis between), labelled `0`, where those
/// values are drawn instead of vanishing.
#[derive(Debug, Clone)]
pub struct Scale {
    /// Axis bounds, in axis units (log10 or log2 of the value for a log axis).
    low: f64,
    high: f64,
    log_base: Option<f64>,
    /// A log axis with zeros: 0 is drawn at `pixel_from`, the powers start
    /// [`ZERO_GAP`] pixels further on.
    zero_floor: bool,
    pixel_from: f64,
    pixel_to: f64,
    pub format: TickFormat,
    ticks: Vec<f64>,
}

impl Scale {
    /// A scale covering `values` (the non-finite ones, those beyond
    /// [`LARGEST`] and, on a log axis, the ones not above zero ignored: a
    /// range of 1e308 overflows, and its tick indices saturate `as i64`).
    /// `from_zero`: a linear axis of values that are all positive starts at
    /// 0 (bars must).
    pub fn new(values: &[f64], log: bool, format: TickFormat, from_zero: bool) -> Scale {
        Scale::with_bounds(values, log, format, from_zero, false)
    }

    /// The y axis of points (a line figure): linear like [`Scale::new`]
    /// from zero; log from just below the smallest value to just above the
    /// largest, as [`Scale::tight`]: a point needs no length to be seen, and
    /// values within a decade keep the plot's height instead of a band of
    /// it (the half decade below that bars need is not added).
    pub fn for_points(values: &[f64], log: bool, format: TickFormat) -> Scale {
        if log {
            Scale::tight(values, true, format)
        } else {
            Scale::new(values, false, format, true)
        }
    }

    /// An x axis: like [`Scale::new`], but a linear one ends just past the
    /// data instead of at the next round number.
    pub fn tight(values: &[f64], log: bool, format: TickFormat) -> Scale {
        Scale::with_bounds(values, log, format, false, true)
    }

    fn with_bounds(
        values: &[f64],
        log: bool,
        format: TickFormat,
        from_zero: bool,
        tight: bool,
    ) -> Scale {
        let usable: Vec<f64> = values
            .iter()
            .copied()
            .filter(|v| drawable(*v) && (!log || *v > 0.0))
            .collect();
        let any_zero = values.contains(&0.0);
        let (min, max) = if usable.is_empty() {
            if log { (1.0, 10.0) } else { (0.0, 1.0) }
        } else {
            (
                usable.iter().copied().fold(f64::INFINITY, f64::min),
                usable.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            )
        };
        // Whole numbers (pass 1, 2, 3; counts) get whole-number ticks.
        let whole = !usable.is_empty() && usable.iter().all(|v| v.fract() == 0.0);
        if log {
            let mut scale = Scale::log(min, max, format, tight);
            scale.zero_floor = any_zero;
            scale
        } else {
            Scale::linear(min, max, format, from_zero, tight, whole)
        }
    }

    fn linear(
        min: f64,
        max: f64,
        format: TickFormat,
        from_zero: bool,
        tight: bool,
        whole: bool,
    ) -> Scale {
        let (mut min, mut max) = (min, max);
        if from_zero && min > 0.0 {
            min = 0.0;
        }
        if from_zero && max < 0.0 {
            max = 0.0;
        }
        if min == max {
            let pad = if min == 0.0 { 1.0 } else { min.abs() * 0.1 };
            min -= pad;
            max += pad;
            if from_zero && min < 0.0 && max > 0.0 && max - pad >= 0.0 {
                min = 0.0;
            }
        }
        let step = nice_step((max - min) / 6.0, format);
        let step = if whole { step.max(1.0) } else { step };
        let (low, high) = if tight {
            let pad = (max - min) * 0.03;
            (min - pad, max + pad)
        } else {
            ((min / step).floor() * step, (max / step).ceil() * step)
        };
        let first = (low / step - 1e-9).ceil() as i64;
        let last = (high / step + 1e-9).floor() as i64;
        let ticks = (first..=last).map(|i| i as f64 * step).collect();
        Scale {
            low,
            high,
            log_base: None,
            zero_floor: false,
            pixel_from: 0.0,
            pixel_to: 1.0,
            format,
            ticks,
        }
    }

    /// A log axis, ticks at the powers inside. `tight` (an x axis): from
    /// just below the smallest value to just above the largest, no empty
    /// decade; else from a round number at least half a decade below the
    /// smallest value (so that a bar of the smallest value has a height:
    /// 1 on an axis from 1 would have none) to the power above.
    fn log(min: f64, max: f64, format: TickFormat, tight: bool) -> Scale {
        let base: f64 = if format == TickFormat::Bytes {
            2.0
        } else {
            10.0
        };
        let (mut low, mut high) = (min.log(base), max.log(base));
        if tight {
            if high - low < 1e-9 {
                low -= 0.5;
                high += 0.5;
            }
            let pad = (high - low) * 0.04;
            low -= pad;
            high += pad;
        } else {
            low = round_below(min, base).log(base);
            high = (high - 1e-9).ceil();
            if high <= low {
                high = low + 1.0;
            }
        }
        let span = high - low;
        let inside = |tick: f64| tick >= low - 1e-9 && tick <= high + 1e-9;
        let mut ticks: Vec<f64> = Vec::new();
        if base == 10.0 && span <= 2.5 {
            // Few decades: 1, 2, 5 in each.
            let mut decade = low.floor();
            while decade <= high {
                for factor in [1.0f64, 2.0, 5.0] {
                    let tick = decade + factor.log10();
                    if inside(tick) {
                        ticks.push(tick);
                    }
                }
                decade += 1.0;
            }
        } else {
            // At most about eight ticks; for bytes, steps that land on
            // readable sizes (every 1, 2, 3, 5 or 10 powers of two).
            let step = [1.0, 2.0, 3.0, 5.0, 10.0]
                .into_iter()
                .find(|s| span / s <= 9.0)
                .unwrap_or((span / 8.0).ceil());
            let mut tick = (low / step).ceil() * step;
            while tick <= high + 1e-9 {
                ticks.push(tick);
                tick += step;
            }
        }
        if ticks.len() < 3 {
            // Less than a decade (or an octave): round values in between.
            let (from, to) = (base.powf(low), base.powf(high));
            let step = nice_step((to - from) / 6.0, TickFormat::Number);
            let mut value = (from / step).ceil() * step;
            let mut between = Vec::new();
            while value <= to {
                if value > 0.0 {
                    between.push(value.log(base));
                }
                value += step;
            }
            if between.len() > ticks.len() {
                ticks = between;
            }
        }
        Scale {
            low,
            high,
            log_base: Some(base),
            zero_floor: false,
            pixel_from: 0.0,
            pixel_to: 1.0,
            format,
            ticks,
        }
    }

    /// Maps the axis onto pixels: `from` is where the low end is drawn.
    pub fn place(&mut self, from: i32, to: i32) {
        self.pixel_from = from as f64;
        self.pixel_to = to as f64;
    }

    pub fn is_log(&self) -> bool {
        self.log_base.is_some()
    }

    /// Whether this is a log axis with a zero of its own (some value was 0).
    pub fn has_zero_floor(&self) -> bool {
        self.zero_floor
    }

    /// The axis's range in values: (the value at the low end, at the high
    /// end). For a log axis with a zero floor, the low end of its powers
    /// (zero itself sits [`ZERO_GAP`] pixels below it).
    pub fn range(&self) -> (f64, f64) {
        match self.log_base {
            Some(base) => (base.powf(self.low), base.powf(self.high)),
            None => (self.low, self.high),
        }
    }

    /// The value at fraction `t` of the axis (0 its low end, 1 its high
    /// end; on a log axis with a zero floor, of its powers).
    pub fn value_at(&self, t: f64) -> f64 {
        let axis = self.low + t * (self.high - self.low);
        match self.log_base {
            Some(base) => base.powf(axis),
            None => axis,
        }
    }

    /// Whether `value` lies on the axis: within its range, or its zero.
    pub fn contains(&self, value: f64) -> bool {
        if !self.can_show(value) {
            return false;
        }
        if self.log_base.is_some() && value == 0.0 {
            return true;
        }
        let axis = self.to_axis(value);
        let slack = (self.high - self.low) * 1e-9;
        axis >= self.low - slack && axis <= self.high + slack
    }

    /// Where the powers of a log axis start, in pixels (the low end of the
    /// axis, or [`ZERO_GAP`] past it when the axis has a zero floor).
    fn powers_from(&self) -> f64 {
        if self.zero_floor {
            let direction = (self.pixel_to - self.pixel_from).signum();
            self.pixel_from + direction * ZERO_GAP
        } else {
            self.pixel_from
        }
    }

    /// The pixels of the break in a log axis with a zero floor: between
    /// the zero and the start of the powers. `None` without one.
    pub fn zero_break(&self) -> Option<(i32, i32)> {
        self.zero_floor.then(|| {
            (
                self.pixel_from.round() as i32,
                self.powers_from().round() as i32,
            )
        })
    }

    /// Whether `value` can be drawn on this axis at all (log: above zero,
    /// or zero where the axis has a zero floor).
    pub fn can_show(&self, value: f64) -> bool {
        value.is_finite()
            && (self.log_base.is_none() || value > 0.0 || (value == 0.0 && self.zero_floor))
    }

    fn to_axis(&self, value: f64) -> f64 {
        match self.log_base {
            Some(base) => value.log(base),
            None => value,
        }
    }

    /// The pixel of `value`, clamped to the axis (a value off the axis is
    /// drawn at its end, never outside the plot).
    pub fn pixel(&self, value: f64) -> i32 {
        if self.log_base.is_some() && self.zero_floor && value <= 0.0 {
            return self.pixel_from.round() as i32;
        }
        let axis = if self.can_show(value) {
            self.to_axis(value)
        } else {
            self.low
        };
        self.axis_pixel(axis, true)
    }

    /// The pixel of a position in axis units (log10 or log2 for a log
    /// axis), clamped to just past the axis when `clamp`.
    fn axis_pixel(&self, axis: f64, clamp: bool) -> i32 {
        let t = (axis - self.low) / (self.high - self.low);
        let t = if clamp { t.clamp(-0.02, 1.02) } else { t };
        let from = self.powers_from();
        (from + t * (self.pixel_to - from)).round() as i32
    }

    /// Where bars start: the pixel of 0 on a linear axis that holds it
    /// (bars of negative values hang down from it), else of the axis's low
    /// end (a log axis, or its zero floor).
    pub fn base_pixel(&self) -> i32 {
        if self.log_base.is_none() && self.low <= 0.0 && self.high >= 0.0 {
            return self.pixel(0.0);
        }
        self.pixel_from.round() as i32
    }

    /// Tick positions (pixels) and labels; a log axis with a zero floor
    /// has a first tick `0` there.
    pub fn ticks(&self) -> Vec<(i32, String)> {
        let zero = self
            .zero_floor
            .then(|| (self.pixel_from.round() as i32, "0".to_string()));
        zero.into_iter()
            .chain(self.ticks.iter().map(|&tick| self.tick(tick)))
            .collect()
    }

    fn tick(&self, tick: f64) -> (i32, String) {
        let value = match self.log_base {
            // 10^2 computed as 99.99999: round to the nearest representable
            // tick value.
            Some(base) => {
                let value = base.powf(tick);
                let rounded = value.round();
                if (rounded - value).abs() < 1e-6 * value.max(1.0) {
                    rounded
                } else {
                    value
                }
            }
            None => tick,
        };
        (self.axis_pixel(tick, false), self.format.format(value))
    }
}

/// A round value at least half a decade below `min` (> 0), for the low end
/// of a log axis: the largest 1, 2 or 5 times a power of ten at most
/// `min / sqrt(10)` (1 -> 0.2, 402 -> 100, 3 -> 0.5); for base 2, the
/// largest power of two at most `min / 2^(5/3)` (the same ratio; 4 KiB -> 1 KiB).
fn round_below(min: f64, base: f64) -> f64 {
    let limit = min / 10f64.sqrt();
    if base == 2.0 {
        return 2f64.powf(limit.log2().floor());
    }
    let power = 10f64.powf(limit.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|factor| factor * power)
        .find(|value| *value <= limit * (1.0 + 1e-9))
        .unwrap_or(power)
}

/// A step of 1, 2 or 5 times a power of ten (of two for bytes), at least `raw`.
fn nice_step(raw: f64, format: TickFormat) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    if format == TickFormat::Bytes && raw >= 1024.0 {
        let mut step = 1024.0f64;
        while step < raw {
            step *= 2.0;
        }
        return step;
    }
    let power = 10f64.powf(raw.log10().floor());
    for factor in [1.0, 2.0, 5.0, 10.0] {
        if factor * power >= raw * 0.999 {
            return factor * power;
        }
    }
    10.0 * power
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(value: f64, expected: &str) {
        assert_eq!(format_number(value), expected, "value {value}");
    }

    #[test]
    fn numbers_read_like_an_axis() {
        check(0.0, "0");
        check(12.0, "12");
        check(2.5, "2.5");
        check(0.125, "0.125");
        check(9999.0, "9999");
        check(12_500.0, "12.5k");
        check(3_000_000.0, "3M");
        check(1_500_000.0, "1.5M");
        check(-40_000.0, "-40k");
    }

    #[test]
    fn linear_ticks_are_round_and_cover_the_data() {
        let scale = Scale::new(&[3.0, 97.0], false, TickFormat::Number, true);
        let labels: Vec<String> = scale.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(labels, ["0", "20", "40", "60", "80", "100"]);
    }

    #[test]
    fn log_ticks_for_bytes_are_sizes() {
        let mut scale = Scale::tight(&[4096.0, 1048576.0], true, TickFormat::Bytes);
        scale.place(0, 800);
        let labels: Vec<String> = scale.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(
            labels,
            [
                "4 KiB", "8 KiB", "16 KiB", "32 KiB", "64 KiB", "128 KiB", "256 KiB", "512 KiB",
                "1 MiB"
            ]
        );
        // 4% of the span is left free at each end.
        assert_eq!(scale.pixel(4096.0), 30);
        assert_eq!(scale.pixel(1048576.0), 770);
    }

    #[test]
    fn log_ticks_in_decades() {
        let scale = Scale::tight(&[3.0, 2.0e6], true, TickFormat::Number);
        let labels: Vec<String> = scale.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(labels, ["10", "100", "1000", "10k", "100k", "1M"]);
        // A y axis runs from the power below to the power above.
        let scale = Scale::new(&[3.0, 2.0e6], true, TickFormat::Number, false);
        let labels: Vec<String> = scale.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(
            labels,
            ["1", "10", "100", "1000", "10k", "100k", "1M", "10M"]
        );
        let narrow = Scale::tight(&[150.0, 900.0], true, TickFormat::Number);
        let labels: Vec<String> = narrow.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(labels, ["200", "400", "600", "800"]);
        let within_a_decade = Scale::tight(&[210.0, 480.0], true, TickFormat::Number);
        let labels: Vec<String> = within_a_decade.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(labels, ["250", "300", "350", "400", "450"]);
    }

    #[test]
    fn whole_numbers_get_whole_number_ticks() {
        let passes = Scale::tight(&[1.0, 2.0, 3.0], false, TickFormat::Number);
        assert_eq!(passes.ticks, vec![1.0, 2.0, 3.0]);
        let fractions = Scale::tight(&[1.0, 2.5, 3.0], false, TickFormat::Number);
        assert!(fractions.ticks.contains(&1.5), "{:?}", fractions.ticks);
    }

    #[test]
    fn numbers_beyond_what_a_figure_draws_are_not_saturated() {
        check(1e308, "1e308");
        check(-2.5e20, "-2.5e20");
        check(1.234e16, "1.23e16");
        // 999T is the largest label with a suffix.
        check(9.99e14, "999T");
        assert_eq!(TickFormat::Bytes.format(1e20), "1e20");
        assert!(drawable(LARGEST) && drawable(-LARGEST) && drawable(0.0));
        assert!(!drawable(1e308) && !drawable(f64::NAN) && !drawable(f64::INFINITY));
    }

    #[test]
    fn a_huge_value_does_not_break_the_axis_of_the_others() {
        for log in [false, true] {
            for format in [TickFormat::Number, TickFormat::Bytes] {
                let scale = Scale::new(&[3.0, 97.0, 1e308, -1e308], log, format, true);
                let labels: Vec<String> = scale.ticks().into_iter().map(|t| t.1).collect();
                assert!(
                    (2..=12).contains(&labels.len()),
                    "log {log} {format:?}: {labels:?}"
                );
                for label in &labels {
                    assert!(
                        !label.contains("9223372036854775807") && label.len() <= 8,
                        "log {log} {format:?}: {labels:?}"
                    );
                }
            }
        }
        let only_huge = Scale::tight(&[1e308], false, TickFormat::Number);
        assert!(only_huge.ticks().len() >= 2);
    }

    #[test]
    fn a_log_axis_starts_half_a_decade_below_its_smallest_value() {
        for (min, bottom) in [
            (1.0, 0.2),
            (402.0, 100.0),
            (3.0, 0.5),
            (10.0, 2.0),
            (0.5, 0.1),
        ] {
            let scale = Scale::new(&[min, 1000.0], true, TickFormat::Number, true);
            assert!(!scale.has_zero_floor());
            let (low, high) = scale.range();
            assert!((low - bottom).abs() < 1e-9, "min {min}: low {low}");
            assert!(low <= min / 10f64.sqrt(), "min {min}: low {low}");
            assert!((high - 1000.0).abs() < 1e-6);
        }
        // Sizes: powers of two, the same ratio (4 KiB -> 1 KiB).
        let bytes = Scale::new(&[4096.0, 1048576.0], true, TickFormat::Bytes, true);
        assert_eq!(bytes.range().0, 1024.0);
        // A bar of 1 beside one of 1000 is more than a tenth of the axis high.
        let mut scale = Scale::new(&[1.0, 1000.0], true, TickFormat::Number, true);
        scale.place(400, 0);
        assert_eq!(scale.base_pixel(), 400);
        assert!(400 - scale.pixel(1.0) > 40, "{}", scale.pixel(1.0));
        assert_eq!(scale.pixel(1000.0), 0);
    }

    #[test]
    fn points_on_a_log_axis_keep_the_height_of_the_plot() {
        // Passes of 104 to 180 ms: not a band at the top of 20..1000.
        let scale = Scale::for_points(&[104.0, 180.0], true, TickFormat::Number);
        let (low, high) = scale.range();
        assert!(
            low > 95.0 && low < 104.0 && high > 180.0 && high < 200.0,
            "{low}..{high}"
        );
        assert!(scale.ticks().len() >= 3);
        // Linear: from zero, as bars.
        let linear = Scale::for_points(&[104.0, 180.0], false, TickFormat::Number);
        assert_eq!(linear.range().0, 0.0);
    }

    #[test]
    fn zeros_on_a_log_axis_get_a_zero_of_their_own() {
        let mut scale = Scale::new(&[0.0, 1.0, 1000.0], true, TickFormat::Number, true);
        scale.place(400, 0);
        assert!(scale.has_zero_floor());
        assert!(scale.can_show(0.0) && scale.can_show(1.0) && !scale.can_show(-1.0));
        // Zero at the foot, the powers from ZERO_GAP above it, 1 above those.
        assert_eq!(scale.pixel(0.0), 400);
        assert_eq!(scale.base_pixel(), 400);
        assert_eq!(scale.zero_break(), Some((400, 400 - ZERO_GAP as i32)));
        let one = scale.pixel(1.0);
        assert!(one < 400 - ZERO_GAP as i32 - 30, "1 drawn at {one}");
        assert_eq!(scale.pixel(1000.0), 0);
        let ticks = scale.ticks();
        assert_eq!(ticks[0], (400, "0".to_string()));
        let labels: Vec<&str> = ticks.iter().map(|t| t.1.as_str()).collect();
        assert_eq!(labels, ["0", "1", "10", "100", "1000"]);
        assert!(ticks[1].0 == one && ticks[4].0 == 0, "{ticks:?}");
        // Only zeros: still an axis, with its zero.
        let zeros = Scale::new(&[0.0, 0.0], true, TickFormat::Number, true);
        assert!(zeros.has_zero_floor() && zeros.ticks().len() >= 2);
        // A linear axis needs no floor of its own.
        let linear = Scale::new(&[0.0, 1.0], false, TickFormat::Number, true);
        assert!(!linear.has_zero_floor() && linear.zero_break().is_none());
    }

    #[test]
    fn bars_of_a_linear_axis_below_zero_start_at_zero() {
        let mut scale = Scale::new(&[-1140.0, 0.0, 32800.0], false, TickFormat::Number, true);
        scale.place(400, 0);
        let zero = scale.pixel(0.0);
        assert_eq!(scale.base_pixel(), zero);
        assert!(zero < 400 && scale.pixel(-1140.0) > zero);
        let mut positive = Scale::new(&[3.0, 97.0], false, TickFormat::Number, true);
        positive.place(400, 0);
        assert_eq!(positive.base_pixel(), 400);
    }

    #[test]
    fn a_constant_series_still_gets_an_axis() {
        let scale = Scale::new(&[5.0, 5.0], false, TickFormat::Number, true);
        assert!(scale.ticks().len() >= 2);
    }
}
