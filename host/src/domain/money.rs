use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// An ISO-4217 currency code: three ASCII capital letters, checked once at the edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn as_str(&self) -> &str {
        // Only ASCII capitals are ever stored.
        std::str::from_utf8(&self.0).expect("currency codes are ASCII")
    }

    /// Digits after the decimal point of the minor unit (ISO-4217 exponent).
    pub fn minor_digits(&self) -> u32 {
        match self.as_str() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Currency([a, b, c])),
            _ => Err(MoneyError::BadCurrency(s.chars().take(16).collect())),
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> Self {
        c.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount in integer minor units of one currency. Never a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Money {
    /// Integer minor units (cents for USD).
    #[schema(example = 4352)]
    pub minor: i64,
    /// ISO-4217 code.
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not an ISO-4217 currency code")]
    BadCurrency(String),
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount out of range")]
    Overflow,
    #[error("`{0}` is not an amount in major units of its currency")]
    BadAmount(String),
}

impl Money {
    pub fn new(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    /// Parses a decimal amount in major units (`"12.5"` USD is 1250), exactly: no float
    /// is involved, and a value with more decimals than the currency has is refused.
    pub fn from_decimal(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let bad = || MoneyError::BadAmount(text.chars().take(32).collect());
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        let places = currency.minor_digits() as usize;
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return Err(bad());
        }
        // Trailing zeros beyond the minor unit are harmless ("12.500" USD).
        let significant = fraction.trim_end_matches('0');
        if significant.len() > places {
            return Err(bad());
        }
        let scale = 10i64.pow(places as u32);
        let whole: i64 = whole.parse().map_err(|_| MoneyError::Overflow)?;
        let fraction: i64 = if places == 0 {
            0
        } else {
            format!("{significant:0<places$}")
                .parse()
                .map_err(|_| bad())?
        };
        let minor = whole
            .checked_mul(scale)
            .and_then(|w| w.checked_add(fraction))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(if negative { -minor } else { minor }, currency))
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.minor, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(minor: i64) -> Money {
        Money::new(minor, "USD".parse().unwrap())
    }

    #[test]
    fn currency_codes_are_checked() {
        assert!("USD".parse::<Currency>().is_ok());
        for bad in ["usd", "US", "USDX", "U$D", ""] {
            assert!(bad.parse::<Currency>().is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Currency>("\"eur\"").is_err());
    }

    #[test]
    fn arithmetic_checks_currency_and_overflow() {
        assert_eq!(usd(5).checked_add(usd(7)), Ok(usd(12)));
        assert_eq!(usd(5).checked_sub(usd(7)), Ok(usd(-2)));
        let eur = Money::new(1, "EUR".parse().unwrap());
        assert!(matches!(
            usd(1).checked_add(eur),
            Err(MoneyError::CurrencyMismatch(..))
        ));
        assert_eq!(usd(i64::MAX).checked_add(usd(1)), Err(MoneyError::Overflow));
    }

    #[test]
    fn decimals_convert_exactly() {
        let usd: Currency = "USD".parse().unwrap();
        let cases = [
            ("12.5", 1250),
            ("19.99", 1999),
            ("0.1", 10),
            ("7", 700),
            ("12.500", 1250),
            ("-3.05", -305),
        ];
        for (text, minor) in cases {
            assert_eq!(
                Money::from_decimal(text, usd),
                Ok(Money::new(minor, usd)),
                "{text}"
            );
        }
        // 0.1 + 0.2 style float noise never reaches an amount.
        assert_eq!(
            Money::from_decimal(&(0.1f64 + 0.2).to_string(), usd),
            Err(MoneyError::BadAmount("0.30000000000000004".into()))
        );
        for bad in ["12.345", "", ".5", "1e3", "12,50", "abc", "1.2.3"] {
            assert!(Money::from_decimal(bad, usd).is_err(), "{bad}");
        }
        assert_eq!(
            Money::from_decimal("1500", "JPY".parse().unwrap())
                .unwrap()
                .minor,
            1500
        );
        assert!(Money::from_decimal("15.5", "JPY".parse().unwrap()).is_err());
        assert_eq!(
            Money::from_decimal("1.234", "KWD".parse().unwrap())
                .unwrap()
                .minor,
            1234
        );
        assert_eq!(
            Money::from_decimal("99999999999999999999", usd),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn json_form() {
        assert_eq!(
            serde_json::to_string(&usd(1299)).unwrap(),
            r#"{"minor":1299,"currency":"USD"}"#
        );
    }
}
