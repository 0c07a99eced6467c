use super::Money;
use serde::{Deserialize, Serialize};

/// What the product service said about a product when the order was drafted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductSnapshot {
    pub product_id: String,
    pub name: String,
    pub sku: String,
    pub unit_price: Money,
    pub stock: i64,
    pub active: bool,
    /// What a new order may still take of it, when its workflow reserves stock: read from
    /// the ledger for plugins that see it (contract 0.5.0), kept with the draft so that a
    /// replay decides on the same figure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub available: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    pub product: ProductSnapshot,
    pub quantity: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Address {
    #[schema(min_length = 1, max_length = 200)]
    pub full_name: String,
    #[schema(min_length = 1, max_length = 200)]
    pub address_line_1: String,
    #[schema(max_length = 200)]
    pub address_line_2: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub city: String,
    /// State or province: required where the post uses it (the standard validation plugin
    /// asks for it in the US and Canada only). Elsewhere it may be left out, `null` or `""`;
    /// an order shows it as `""` then, and the plugins see `""`.
    #[serde(default, deserialize_with = "absent_as_empty")]
    #[schema(max_length = 100, nullable, required = false)]
    pub state: String,
    #[schema(min_length = 1, max_length = 20)]
    pub postal_code: String,
    /// ISO 3166-1, alpha-2 (`US`) or alpha-3 (`USA`), any letter case; an order keeps the
    /// alpha-2 code.
    #[schema(min_length = 2, max_length = 3, example = "US")]
    pub country: String,
    #[schema(max_length = 40)]
    pub phone: Option<String>,
}

/// A text a client may leave out or send as `null`: both read as `""`, as the plugins'
/// contract carries it.
fn absent_as_empty<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.unwrap_or_default())
}

impl Address {
    /// A complete address in San Francisco: what trial decisions and tests ship to.
    pub fn example() -> Self {
        Address {
            full_name: "Ada Lovelace".into(),
            address_line_1: "1 Market St".into(),
            address_line_2: None,
            city: "San Francisco".into(),
            state: "CA".into(),
            postal_code: "94105".into(),
            country: "US".into(),
            phone: None,
        }
    }
}

/// An order as the customer asked for it, with product snapshots, before any decision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderDraft {
    pub user_id: String,
    pub items: Vec<LineItem>,
    pub shipping_address: Address,
    pub shipping_method: String,
    pub payment_method: String,
    pub discount_code: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_left_out_or_null_reads_as_empty() {
        let mut address = serde_json::json!({"full_name": "Ada Lovelace", "address_line_1": "Unter den Linden 1",
            "city": "Berlin", "postal_code": "10117", "country": "DE"});
        for (state, read) in [
            (None, ""),
            (Some(serde_json::Value::Null), ""),
            (Some("".into()), ""),
            (Some("BE".into()), "BE"),
        ] {
            match &state {
                Some(value) => address["state"] = value.clone(),
                None => drop(address.as_object_mut().unwrap().remove("state")),
            }
            let parsed: Address = serde_json::from_value(address.clone()).unwrap();
            assert_eq!(parsed.state, read, "{state:?}");
        }
        // Anything else is still malformed.
        address["state"] = 7.into();
        assert!(serde_json::from_value::<Address>(address).is_err());
    }
}
