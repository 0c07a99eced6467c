//! Standard validation rules. Every violation is reported, not just the first, each with
//! the path of the field it is about, so a client can mark every faulty field at once.

use crate::orderflow::plugins::types::{OrderDraft, Problem};
use crate::postal;
use orderflow_plugin_sdk::validation::problem;
use serde::Deserialize;

/// The `[validation.params]` table of a workflow.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    #[serde(default = "max_items")]
    pub max_items: usize,
    #[serde(default = "max_quantity")]
    pub max_quantity: u32,
    /// Largest subtotal an order may have, in minor units; None: no limit.
    #[serde(default)]
    pub max_order_value: Option<i64>,
    /// Countries shipped to (ISO-3166 alpha-2); empty: everywhere.
    #[serde(default)]
    pub countries: Vec<String>,
}

fn max_items() -> usize {
    100
}

fn max_quantity() -> u32 {
    999
}

impl Params {
    pub fn from_json(json: &str) -> Result<Self, Problem> {
        let params: Params = orderflow_plugin_sdk::parse_params("validation", json)
            .map_err(|message| problem("invalid_params", &message, None))?;
        if params.max_items == 0 || params.max_quantity == 0 {
            return Err(problem(
                "invalid_params",
                "max_items and max_quantity must be at least 1",
                None,
            ));
        }
        Ok(params)
    }
}

/// Collects violations with their field paths.
#[derive(Default)]
struct Violations(Vec<Problem>);

impl Violations {
    fn add(&mut self, code: &str, message: String, field: String) {
        self.0.push(Problem {
            code: code.into(),
            message,
            field: Some(field),
        });
    }
}

pub fn validate(params: &Params, order: &OrderDraft) -> Result<(), Vec<Problem>> {
    let mut v = Violations::default();
    check_items(params, order, &mut v);
    check_address(params, order, &mut v);
    if v.0.is_empty() { Ok(()) } else { Err(v.0) }
}

fn check_items(params: &Params, order: &OrderDraft, v: &mut Violations) {
    let count = order.items.len();
    if count == 0 {
        v.add(
            "no_items",
            "an order needs at least one item".into(),
            "items".into(),
        );
    } else if count > params.max_items {
        v.add(
            "too_many_items",
            format!(
                "an order may have at most {} items, this one has {count}",
                params.max_items
            ),
            "items".into(),
        );
    }
    let currency = order
        .items
        .first()
        .map(|item| &item.product.unit_price.currency);
    let mut subtotal: i128 = 0;
    for (i, item) in order.items.iter().enumerate() {
        let product = &item.product;
        if !(1..=params.max_quantity).contains(&item.quantity) {
            v.add(
                "invalid_quantity",
                format!("quantity must be between 1 and {}", params.max_quantity),
                format!("items[{i}].quantity"),
            );
        }
        if !product.active {
            v.add(
                "product_inactive",
                format!("product {} is no longer sold", product.product_id),
                format!("items[{i}].product_id"),
            );
        } else if let Some((wanted, lines)) = first_line_of_product(order, i) {
            // Lines of one product draw on one stock, so they are judged on their sum
            // (at the product's first line): two lines of 40 need 80 in stock. Where the
            // workflow reserves, what other orders hold is not to be had: the figure is
            // what is available.
            let (has, what) = match product.available {
                Some(available) => (available, "available"),
                None => (product.stock, "in stock"),
            };
            if has < wanted {
                let over = if lines > 1 {
                    format!("; the order asks for {wanted} over {lines} lines")
                } else {
                    String::new()
                };
                v.add(
                    "insufficient_stock",
                    format!(
                        "only {} of product {} {what}{over}",
                        has.max(0),
                        product.product_id
                    ),
                    format!("items[{i}].quantity"),
                );
            }
        }
        if Some(&product.unit_price.currency) != currency {
            v.add(
                "mixed_currencies",
                "all items of an order must be priced in one currency".into(),
                format!("items[{i}]"),
            );
        }
        subtotal += i128::from(product.unit_price.minor) * i128::from(item.quantity);
    }
    if let Some(max) = params.max_order_value
        && subtotal > i128::from(max)
    {
        v.add(
            "order_value_exceeded",
            format!("an order may be worth at most {max} minor units"),
            "items".into(),
        );
    }
}

/// For the first line of its product: the quantity of all the order's lines of that
/// product, and how many lines they are. None for any later line of it.
fn first_line_of_product(order: &OrderDraft, line: usize) -> Option<(i64, usize)> {
    let id = &order.items[line].product.product_id;
    if order.items[..line]
        .iter()
        .any(|item| &item.product.product_id == id)
    {
        return None;
    }
    let same: Vec<u32> = order.items[line..]
        .iter()
        .filter(|item| &item.product.product_id == id)
        .map(|item| item.quantity)
        .collect();
    Some((same.iter().map(|&q| i64::from(q)).sum(), same.len()))
}

fn check_address(params: &Params, order: &OrderDraft, v: &mut Violations) {
    let a = &order.shipping_address;
    // State or province is part of the address only where the post uses it.
    let needs_state = matches!(a.country.as_str(), "US" | "CA");
    let required = [
        ("full_name", &a.full_name, true),
        ("address_line_1", &a.address_line_1, true),
        ("city", &a.city, true),
        ("state", &a.state, needs_state),
        ("postal_code", &a.postal_code, true),
        ("country", &a.country, true),
    ];
    for (name, value, needed) in required {
        if needed && value.trim().is_empty() {
            v.add(
                "required",
                format!("{name} is required"),
                format!("shipping_address.{name}"),
            );
        }
    }
    let country = a.country.as_str();
    if country.is_empty() {
        return;
    }
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        v.add(
            "invalid_country",
            "country must be an ISO-3166 alpha-2 code such as US".into(),
            "shipping_address.country".into(),
        );
    } else if !params.countries.is_empty() && !params.countries.iter().any(|c| c == country) {
        v.add(
            "unsupported_country",
            format!("we do not ship to {country}"),
            "shipping_address.country".into(),
        );
    } else if !a.postal_code.trim().is_empty() && !postal::is_valid(country, &a.postal_code) {
        v.add(
            "invalid_postal_code",
            format!("`{}` is not a postal code of {country}", a.postal_code),
            "shipping_address.postal_code".into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orderflow::plugins::types::{Address, LineItem, Money, ProductSnapshot};

    fn item(minor: i64, quantity: u32) -> LineItem {
        LineItem {
            product: ProductSnapshot {
                product_id: "p1".into(),
                name: "Thing".into(),
                sku: "SKU1".into(),
                unit_price: Money {
                    minor,
                    currency: "USD".into(),
                },
                stock: 10,
                active: true,
                available: None,
            },
            quantity,
        }
    }

    /// An order of `items`, each line a product of its own.
    fn order(mut items: Vec<LineItem>) -> OrderDraft {
        for (i, item) in items.iter_mut().enumerate() {
            item.product.product_id = format!("p{i}");
        }
        order_as_given(items)
    }

    fn order_as_given(items: Vec<LineItem>) -> OrderDraft {
        OrderDraft {
            user_id: "u1".into(),
            items,
            shipping_address: Address {
                full_name: "Ada".into(),
                address_line_1: "1 Main St".into(),
                address_line_2: None,
                city: "Springfield".into(),
                state: "CA".into(),
                postal_code: "94105".into(),
                country: "US".into(),
                phone: None,
            },
            shipping_method: "standard".into(),
            payment_method: "card".into(),
            discount_code: None,
        }
    }

    fn params() -> Params {
        Params::from_json(r#"{"max_order_value": 100000}"#).unwrap()
    }

    /// (code, field) of every violation, in order.
    fn violations(o: &OrderDraft) -> Vec<(String, String)> {
        match validate(&params(), o) {
            Ok(()) => vec![],
            Err(list) => list
                .into_iter()
                .map(|p| (p.code, p.field.unwrap_or_default()))
                .collect(),
        }
    }

    fn pair(code: &str, field: &str) -> (String, String) {
        (code.into(), field.into())
    }

    #[test]
    fn a_good_order_passes() {
        assert_eq!(violations(&order(vec![item(1000, 2)])), vec![]);
    }

    #[test]
    fn item_count_bounds() {
        assert_eq!(violations(&order(vec![])), vec![pair("no_items", "items")]);
        assert_eq!(violations(&order(vec![item(1, 1); 100])), vec![]);
        assert_eq!(
            violations(&order(vec![item(1, 1); 101])),
            vec![pair("too_many_items", "items")]
        );
    }

    #[test]
    fn quantity_bounds() {
        let mut big = item(1, 999);
        big.product.stock = 1000;
        assert_eq!(violations(&order(vec![big.clone()])), vec![]);
        big.quantity = 1000;
        assert_eq!(
            violations(&order(vec![big])),
            vec![pair("invalid_quantity", "items[0].quantity")]
        );
        assert_eq!(
            violations(&order(vec![item(1, 1), item(1, 0)])),
            vec![pair("invalid_quantity", "items[1].quantity")]
        );
    }

    #[test]
    fn stock_activity_and_currency() {
        let mut inactive = item(1, 1);
        inactive.product.active = false;
        let short = item(1, 11);
        let mut euro = item(1, 1);
        euro.product.unit_price.currency = "EUR".into();
        assert_eq!(
            violations(&order(vec![item(1, 10), inactive, short, euro])),
            vec![
                pair("product_inactive", "items[1].product_id"),
                pair("insufficient_stock", "items[2].quantity"),
                pair("mixed_currencies", "items[3]"),
            ]
        );
    }

    #[test]
    fn where_stock_is_reserved_what_is_available_counts() {
        // 10 in stock, 3 of them available: 3 fit, 4 do not.
        let mut three = item(1, 3);
        three.product.available = Some(3);
        assert_eq!(violations(&order(vec![three.clone()])), vec![]);
        three.quantity = 4;
        assert_eq!(
            violations(&order(vec![three])),
            vec![pair("insufficient_stock", "items[0].quantity")]
        );
    }

    #[test]
    fn lines_of_one_product_are_judged_on_their_sum() {
        // 10 in stock: 6 + 4 fit, 6 + 5 do not; another product's lines do not count.
        let mut other = item(1, 10);
        other.product.product_id = "p2".into();
        assert_eq!(
            violations(&order_as_given(vec![item(1, 6), other.clone(), item(1, 4)])),
            vec![]
        );
        assert_eq!(
            violations(&order_as_given(vec![item(1, 6), other, item(1, 5)])),
            vec![pair("insufficient_stock", "items[0].quantity")]
        );
    }

    #[test]
    fn maximum_order_value() {
        assert_eq!(violations(&order(vec![item(10_000, 10)])), vec![]);
        assert_eq!(
            violations(&order(vec![item(10_001, 10)])),
            vec![pair("order_value_exceeded", "items")]
        );
    }

    #[test]
    fn required_address_fields() {
        let mut o = order(vec![item(1, 1)]);
        o.shipping_address.full_name = " ".into();
        o.shipping_address.city = String::new();
        o.shipping_address.state = String::new();
        assert_eq!(
            violations(&o),
            vec![
                pair("required", "shipping_address.full_name"),
                pair("required", "shipping_address.city"),
                pair("required", "shipping_address.state"),
            ]
        );
        // No state needed in Germany.
        o.shipping_address.full_name = "Ada".into();
        o.shipping_address.city = "Berlin".into();
        o.shipping_address.country = "DE".into();
        o.shipping_address.postal_code = "10115".into();
        assert_eq!(violations(&o), vec![]);
    }

    /// A state or province only where the post uses one: the host hands a state a client
    /// left out, or sent as null, on as "".
    #[test]
    fn a_state_is_asked_for_in_the_us_and_canada_only() {
        for (country, city, postal_code) in [
            ("DE", "Berlin", "10117"),
            ("GB", "London", "SW1A 2AA"),
            ("FR", "Paris", "75008"),
            ("JP", "Tokyo", "100-0001"),
        ] {
            let mut o = order(vec![item(1, 1)]);
            let a = &mut o.shipping_address;
            (a.country, a.city, a.postal_code) = (country.into(), city.into(), postal_code.into());
            a.state = String::new();
            assert_eq!(violations(&o), vec![], "{country}");
        }
        for (country, postal_code) in [("US", "94105"), ("CA", "K1A 0B1")] {
            let mut o = order(vec![item(1, 1)]);
            let a = &mut o.shipping_address;
            (a.country, a.postal_code) = (country.into(), postal_code.into());
            a.state = "  ".into();
            assert_eq!(
                violations(&o),
                vec![pair("required", "shipping_address.state")],
                "{country}"
            );
        }
    }

    #[test]
    fn country_and_postal_code() {
        let mut o = order(vec![item(1, 1)]);
        o.shipping_address.postal_code = "ABC".into();
        assert_eq!(
            violations(&o),
            vec![pair("invalid_postal_code", "shipping_address.postal_code")]
        );
        o.shipping_address.country = "usa".into();
        assert_eq!(
            violations(&o),
            vec![pair("invalid_country", "shipping_address.country")]
        );
        let only_us = Params::from_json(r#"{"countries": ["US"]}"#).unwrap();
        o.shipping_address.country = "FR".into();
        o.shipping_address.postal_code = "75008".into();
        assert_eq!(
            validate(&only_us, &o).unwrap_err()[0].code,
            "unsupported_country"
        );
    }

    #[test]
    fn bad_params_are_refused() {
        for json in [
            r#"{"max_items": 0}"#,
            r#"{"max_items": "x"}"#,
            r#"{"surprise": 1}"#,
        ] {
            assert_eq!(
                Params::from_json(json).unwrap_err().code,
                "invalid_params",
                "{json}"
            );
        }
    }

    /// The shipped fixtures, run natively; `orderflow plugin test` runs them through wasm.
    #[test]
    fn fixtures() {
        orderflow_plugin_sdk::fixtures::validation(
            env!("CARGO_MANIFEST_DIR"),
            Params::from_json,
            |params, order, _now| validate(params, order),
        );
    }
}
