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
    /// State or province: required where the post uses it (US, CA).
    #[schema(max_length = 100)]
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
