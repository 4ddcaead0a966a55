//! Kubernetes resource Quantities (`553300m`, `1.5k`, `2Gi`, `1e3`) as plain numbers.
//!
//! Grammar (apimachinery `resource.Quantity`): a signed decimal number, then a binary suffix
//! (`Ki Mi Gi Ti Pi Ei`), a decimal suffix (`n u m "" k M G T P E`) or a decimal exponent
//! (`e3`, `E-2`). HPA metric values arrive in this form (`"553300m"` = 553.3); anything that
//! does not fit the grammar is `None`, never a guessed number.

/// Parse a Quantity string into its value (`"553300m"` → 553.3, `"2Gi"` → 2147483648).
pub fn parse_quantity(s: &str) -> Option<f64> {
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1.0, &s[1..]),
        b'-' => (-1.0, &s[1..]),
        _ => (1.0, s),
    };
    let num_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let (num, suffix) = rest.split_at(num_len);
    if !num.bytes().any(|b| b.is_ascii_digit()) || num.bytes().filter(|b| *b == b'.').count() > 1 {
        return None;
    }
    let base: f64 = num.parse().ok().or_else(|| {
        // Rust does not parse `5.` or `.5` the same everywhere; normalise them.
        let fixed = if let Some(n) = num.strip_suffix('.') {
            n.to_string()
        } else if num.starts_with('.') {
            format!("0{num}")
        } else {
            return None;
        };
        fixed.parse().ok()
    })?;
    // Fractional scales divide (553300 / 1000) rather than multiply by 0.001, so values such
    // as `553300m` come out as the nearest double to 553.3, not 553.3000000000001.
    let (mult, div) = match suffix {
        "" => (1.0, 1.0),
        "n" => (1.0, 1e9),
        "u" => (1.0, 1e6),
        "m" => (1.0, 1e3),
        "k" => (1e3, 1.0),
        "M" => (1e6, 1.0),
        "G" => (1e9, 1.0),
        "T" => (1e12, 1.0),
        "P" => (1e15, 1.0),
        "E" => (1e18, 1.0),
        "Ki" => (1024.0, 1.0),
        "Mi" => (1024f64.powi(2), 1.0),
        "Gi" => (1024f64.powi(3), 1.0),
        "Ti" => (1024f64.powi(4), 1.0),
        "Pi" => (1024f64.powi(5), 1.0),
        "Ei" => (1024f64.powi(6), 1.0),
        exp if exp.starts_with(['e', 'E']) => {
            let digits = &exp[1..];
            let unsigned = digits.strip_prefix(['+', '-']).unwrap_or(digits);
            if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let e: i32 = digits.parse().ok()?;
            if e >= 0 {
                (10f64.powi(e), 1.0)
            } else {
                (1.0, 10f64.powi(-e))
            }
        }
        _ => return None,
    };
    let v = sign * base * mult / div;
    v.is_finite().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
    }

    #[test]
    fn decimal_binary_and_exponent_forms() {
        // Exact, not merely close: the views print it and tests compare it.
        assert_eq!(parse_quantity("553300m"), Some(553.3));
        assert!(close(parse_quantity("1.5k"), 1500.0));
        assert!(close(parse_quantity("2Gi"), 2_147_483_648.0));
        assert!(close(parse_quantity("128Mi"), 134_217_728.0));
        assert!(close(parse_quantity("10Ki"), 10_240.0));
        assert!(close(parse_quantity("3"), 3.0));
        assert!(close(parse_quantity("0"), 0.0));
        assert!(close(parse_quantity("250m"), 0.25));
        assert!(close(parse_quantity("1e3"), 1000.0));
        assert!(close(parse_quantity("1E-2"), 0.01));
        assert!(close(parse_quantity("2E"), 2e18));
        assert!(close(parse_quantity("12M"), 12e6));
        assert!(close(parse_quantity("100u"), 1e-4));
        assert!(close(parse_quantity("5n"), 5e-9));
        assert!(close(parse_quantity("-1.5"), -1.5));
        assert!(close(parse_quantity("+4k"), 4000.0));
        assert!(close(parse_quantity(".5"), 0.5));
        assert!(close(parse_quantity("5."), 5.0));
        assert!(close(parse_quantity(" 7 "), 7.0));
    }

    #[test]
    fn rejects_what_is_not_a_quantity() {
        for bad in [
            "", "m", "k", "abc", "1.2.3", "1 k", "1kk", "1Xi", "1e", "1e+", "1e1.5", "--1", "1mi",
            ".", "+", "NaN", "inf", "1e999",
        ] {
            assert_eq!(parse_quantity(bad), None, "{bad:?}");
        }
    }
}
