//! Postal code shapes by country, written out by hand: a regex engine would triple the
//! component's size for five patterns.

/// Whether `code` has the shape of a postal code of `country`. Countries without a known
/// shape accept 2–12 letters, digits, spaces and dashes.
pub fn is_valid(country: &str, code: &str) -> bool {
    let upper = code.trim().to_ascii_uppercase();
    let b = upper.as_bytes();
    match country {
        // 12345 or 12345-6789
        "US" => {
            (b.len() == 5 && digits(b))
                || (b.len() == 10 && digits(&b[..5]) && b[5] == b'-' && digits(&b[6..]))
        }
        // A1A 1A1 (the space is optional)
        "CA" => {
            let compact: Vec<u8> = b.iter().copied().filter(|&c| c != b' ').collect();
            compact.len() == 6
                && b.len() <= 7
                && compact.iter().enumerate().all(|(i, c)| {
                    if i % 2 == 0 {
                        c.is_ascii_uppercase()
                    } else {
                        c.is_ascii_digit()
                    }
                })
        }
        // Outward code (A9, A99, AA9, AA99, A9A, AA9A) + optional space + inward code (9AA).
        "GB" => {
            let compact: Vec<u8> = b.iter().copied().filter(|&c| c != b' ').collect();
            if !(5..=7).contains(&compact.len()) || b.len() > compact.len() + 1 {
                return false;
            }
            let (outward, inward) = compact.split_at(compact.len() - 3);
            let inward_ok =
                inward[0].is_ascii_digit() && inward[1..].iter().all(u8::is_ascii_uppercase);
            let letters = outward
                .iter()
                .take_while(|c| c.is_ascii_uppercase())
                .count();
            let rest = &outward[letters..];
            let outward_ok = (1..=2).contains(&letters)
                && !rest.is_empty()
                && rest[0].is_ascii_digit()
                && rest.len() <= 2
                && rest[1..].iter().all(u8::is_ascii_alphanumeric);
            inward_ok && outward_ok
        }
        "DE" | "FR" => b.len() == 5 && digits(b),
        _ => {
            (2..=12).contains(&b.len())
                && b.iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b' ' || *c == b'-')
        }
    }
}

fn digits(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn shapes_by_country() {
        let cases = [
            ("US", "94105", true),
            ("US", "94105-1234", true),
            ("US", "9410", false),
            ("US", "94105-12", false),
            ("US", "ABCDE", false),
            ("CA", "K1A 0B1", true),
            ("CA", "k1a0b1", true),
            ("CA", "K1A  0B1", false),
            ("CA", "11A 0B1", false),
            ("GB", "SW1A 1AA", true),
            ("GB", "M1 1AE", true),
            ("GB", "B33 8TH", true),
            ("GB", "CR2 6XH", true),
            ("GB", "EC1A1BB", true),
            ("GB", "1AA 1AA", false),
            ("GB", "SW1A 1A", false),
            ("GB", "SW1A 11A", false),
            ("DE", "10115", true),
            ("DE", "1011", false),
            ("FR", "75008", true),
            ("FR", "7500A", false),
            ("JP", "100-0001", true),
            ("JP", "!", false),
        ];
        for (country, code, ok) in cases {
            assert_eq!(is_valid(country, code), ok, "{country} {code}");
        }
    }
}
