//! Sizes as people write them: `4k`, `64m`, `1g`, `1.5 GiB`, `4096`.

/// An input that is not a size, with the text that was given.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a size: {input:?} (write sizes like 4096, 4k, 64m, 1g or 1.5 GiB)")]
pub struct SizeError {
    pub input: String,
}

/// Parses a size in bytes. Suffixes are binary (k = 1024): `k`, `kb`, `kib`,
/// `m`, `g`, `t`, in any case, with or without a space; a fraction is allowed
/// with a suffix (`1.5g`) as long as the result is a whole number of bytes.
pub fn parse_size(input: &str) -> Result<u64, SizeError> {
    let error = || SizeError {
        input: input.to_string(),
    };
    let text = input.trim();
    let split_at = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split_at);
    if number.is_empty() {
        return Err(error());
    }
    let multiplier: u64 = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(error()),
    };
    if let Ok(whole) = number.parse::<u64>() {
        return whole.checked_mul(multiplier).ok_or_else(error);
    }
    let value: f64 = number.parse().map_err(|_| error())?;
    let bytes = value * multiplier as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes.fract() != 0.0 || bytes > u64::MAX as f64 {
        return Err(error());
    }
    Ok(bytes as u64)
}

/// Formats bytes as people write them: exact multiples as `64 MiB`, `4 KiB`;
/// other values with one decimal (`1.5 GiB`); below 1 KiB as `123 B`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (name, unit) in UNITS {
        if bytes >= unit {
            return if bytes.is_multiple_of(unit) {
                format!("{} {name}", bytes / unit)
            } else {
                format!("{:.1} {name}", bytes as f64 / unit as f64)
            };
        }
    }
    format!("{bytes} B")
}

/// The short form used in file names and compact tables: `4k`, `64m`, `1g`,
/// falling back to the number of bytes.
pub fn format_size_short(bytes: u64) -> String {
    for (name, unit) in [
        ("t", 1u64 << 40),
        ("g", 1 << 30),
        ("m", 1 << 20),
        ("k", 1 << 10),
    ] {
        if bytes >= unit && bytes.is_multiple_of(unit) {
            return format!("{}{name}", bytes / unit);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<u64>) {
        assert_eq!(parse_size(input).ok(), expected, "input {input:?}");
    }

    #[test]
    fn parses_sizes_as_people_write_them() {
        check("4096", Some(4096));
        check("4k", Some(4096));
        check("4K", Some(4096));
        check("64m", Some(64 << 20));
        check("64 MiB", Some(64 << 20));
        check("1g", Some(1 << 30));
        check("1.5 GiB", Some(3 << 29));
        check("1.5g", Some(3 << 29));
        check("0", Some(0));
        check("", None);
        check("k", None);
        check("12q", None);
        check("-4k", None);
        check("1.3", None);
        check("99999999999999999999t", None);
    }

    #[test]
    fn formats_sizes_round_trip() {
        for bytes in [0, 1, 1023, 4096, 65536, 64 << 20, 3 << 29, 1 << 40] {
            let short = format_size_short(bytes);
            assert_eq!(parse_size(&short), Ok(bytes), "{short}");
        }
        assert_eq!(format_size(64 << 20), "64 MiB");
        assert_eq!(format_size(3 << 29), "1.5 GiB");
        assert_eq!(format_size(512), "512 B");
    }
}
