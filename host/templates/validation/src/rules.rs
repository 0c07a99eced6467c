//! The validation rules, in plain Rust: unit-tested natively (`cargo test`), run by the
//! host through the component (`lib.rs`). Two rules to start from:
//!
//! - at most `max_quantity` units of a product per order;
//! - only the `payment_methods` listed are accepted.
//!
//! Every violation is reported, not just the first, each with the path of the field it is
//! about (`items[2].quantity`), so a client can mark every faulty field at once. Add your
//! rules to [`validate`], and a fixture for each in `fixtures/`.

use crate::orderflow::plugins::types::{OrderDraft, Problem};
use orderflow_plugin_sdk::log;
use serde::Deserialize;

/// The `[validation.params]` table of a workflow using this plugin (`fixtures/params.json`
/// for the fixtures).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The most units of one product an order may take.
    pub max_quantity: u32,
    /// The payment methods accepted, e.g. `["card", "invoice"]`.
    pub payment_methods: Vec<String>,
}

impl Params {
    /// Parameters the rules cannot work with are refused here: a workflow that gives them
    /// fails to load, rather than failing its orders.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let params: Params = orderflow_plugin_sdk::parse_params("validation", json)?;
        if params.max_quantity == 0 || params.payment_methods.is_empty() {
            return Err("max_quantity and payment_methods must allow something".into());
        }
        Ok(params)
    }
}

pub fn validate(params: &Params, order: &OrderDraft) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    let mut refuse = |code: &str, message: String, field: String| {
        problems.push(Problem {
            code: code.into(),
            message,
            field: Some(field),
        })
    };
    for (i, item) in order.items.iter().enumerate() {
        if item.quantity > params.max_quantity {
            refuse(
                "too_many_units",
                format!(
                    "at most {} units of a product per order",
                    params.max_quantity
                ),
                format!("items[{i}].quantity"),
            );
        }
    }
    let method = &order.payment_method;
    if !params.payment_methods.contains(method) {
        refuse(
            "payment_method_not_accepted",
            format!(
                "payment method `{method}` is not accepted (accepted: {})",
                params.payment_methods.join(", ")
            ),
            "payment_method".into(),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        log::info(&format!(
            "{} problems with {} lines paid by `{method}`",
            problems.len(),
            order.items.len()
        ));
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::Params;

    #[test]
    fn parameters_must_allow_something() {
        assert!(Params::from_json(r#"{"max_quantity": 1, "payment_methods": ["card"]}"#).is_ok());
        let nothing = Params::from_json(r#"{"max_quantity": 0, "payment_methods": []}"#);
        assert!(nothing.unwrap_err().contains("must allow something"));
    }
}
