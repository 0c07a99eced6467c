//! An order as a client asks for it, and what the host makes sure of before any plugin
//! sees it (or a change to an order is written): every required text is there, no text is
//! longer than the schema says, and the country is one ISO 3166-1 code in one spelling.

use super::service::OrderError;
use crate::domain::{Address, Problem};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewItem {
    #[schema(min_length = 1, max_length = 100)]
    pub product_id: String,
    #[schema(minimum = 0, maximum = 4294967295_u32, format = Int64)]
    pub quantity: u32,
}

/// An order as a client asks for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewOrder {
    pub items: Vec<NewItem>,
    pub shipping_address: Address,
    #[schema(min_length = 1, max_length = 50)]
    pub shipping_method: String,
    #[schema(min_length = 1, max_length = 50)]
    pub payment_method: String,
    #[schema(max_length = 50)]
    pub discount_code: Option<String>,
    #[schema(max_length = 1000)]
    pub notes: Option<String>,
    /// Where the order comes from: it follows the workflow that declares this channel.
    /// Absent: the default workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 50)]
    pub sales_channel: Option<String>,
}

/// Longest texts, in characters; the `max_length`s of the schema above and of [`Address`]
/// say the same (a test holds the OpenAPI document to these).
pub mod limits {
    pub const PRODUCT_ID: usize = 100;
    pub const METHOD: usize = 50;
    pub const CODE: usize = 50;
    pub const NOTES: usize = 1000;
    pub const NAME: usize = 200;
    pub const LINE: usize = 200;
    pub const CITY: usize = 100;
    pub const STATE: usize = 100;
    pub const POSTAL_CODE: usize = 20;
    pub const PHONE: usize = 40;
    /// A shipment's tracking number and carrier, a payment's transaction id.
    pub const REFERENCE: usize = 200;
}

/// The free texts a status or payment change carries (a tracking number, notes), each with
/// the field the client named it by and its longest length: blank ones count as absent, and
/// every one too long is refused by name.
pub fn check_change_texts<const N: usize>(
    texts: [(&str, &mut Option<String>, usize); N],
) -> Result<(), OrderError> {
    let mut problems = Vec::new();
    for (field, text, max) in texts {
        if text.as_deref().is_some_and(|t| t.trim().is_empty()) {
            *text = None;
        }
        check(&mut problems, field, text.as_ref(), Text::Optional, max);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(OrderError::Refused(problems))
    }
}

/// What a text field must be.
enum Text {
    Required,
    Optional,
}

impl NewOrder {
    /// The order as the plugins will see it, or every problem of its texts at once.
    /// Optional texts that are blank count as absent; the country becomes its alpha-2 code,
    /// so `USA` and `US` are taxed, checked and counted alike.
    pub fn checked(mut self) -> Result<NewOrder, OrderError> {
        for optional in [
            &mut self.discount_code,
            &mut self.notes,
            &mut self.sales_channel,
            &mut self.shipping_address.address_line_2,
            &mut self.shipping_address.phone,
        ] {
            if optional.as_deref().is_some_and(|t| t.trim().is_empty()) {
                *optional = None;
            }
        }
        let mut problems = Vec::new();
        for (i, item) in self.items.iter().enumerate() {
            check(
                &mut problems,
                &format!("items[{i}].product_id"),
                Some(&item.product_id),
                Text::Required,
                limits::PRODUCT_ID,
            );
        }
        let a = &self.shipping_address;
        let texts = [
            (
                "shipping_method",
                Some(&self.shipping_method),
                Text::Required,
                limits::METHOD,
            ),
            (
                "payment_method",
                Some(&self.payment_method),
                Text::Required,
                limits::METHOD,
            ),
            (
                "discount_code",
                self.discount_code.as_ref(),
                Text::Optional,
                limits::CODE,
            ),
            ("notes", self.notes.as_ref(), Text::Optional, limits::NOTES),
            (
                "sales_channel",
                self.sales_channel.as_ref(),
                Text::Optional,
                limits::CODE,
            ),
            (
                "shipping_address.full_name",
                Some(&a.full_name),
                Text::Required,
                limits::NAME,
            ),
            (
                "shipping_address.address_line_1",
                Some(&a.address_line_1),
                Text::Required,
                limits::LINE,
            ),
            (
                "shipping_address.address_line_2",
                a.address_line_2.as_ref(),
                Text::Optional,
                limits::LINE,
            ),
            (
                "shipping_address.city",
                Some(&a.city),
                Text::Required,
                limits::CITY,
            ),
            // Required only where the post uses it: the validation plugin knows where.
            (
                "shipping_address.state",
                Some(&a.state),
                Text::Optional,
                limits::STATE,
            ),
            (
                "shipping_address.postal_code",
                Some(&a.postal_code),
                Text::Required,
                limits::POSTAL_CODE,
            ),
            (
                "shipping_address.phone",
                a.phone.as_ref(),
                Text::Optional,
                limits::PHONE,
            ),
        ];
        for (field, value, rule, max) in texts {
            check(&mut problems, field, value, rule, max);
        }
        let country = a.country.trim();
        if country.is_empty() {
            problems.push(problem(
                "required",
                "country is required".into(),
                "shipping_address.country",
            ));
        } else {
            match alpha2(country) {
                Some(code) => self.shipping_address.country = code.to_owned(),
                None => problems.push(problem(
                    "invalid_country",
                    format!(
                        "`{}` is not an ISO 3166-1 country code (alpha-2 such as US, or alpha-3 such as USA)",
                        truncated(country)
                    ),
                    "shipping_address.country",
                )),
            }
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(OrderError::Refused(problems))
        }
    }
}

/// The alpha-2 code of an ISO 3166-1 alpha-2 or alpha-3 code, in any letter case.
pub fn alpha2(code: &str) -> Option<&'static str> {
    let upper = code.to_ascii_uppercase();
    match upper.len() {
        2 => rust_iso3166::from_alpha2(&upper),
        3 => rust_iso3166::from_alpha3(&upper),
        _ => None,
    }
    .map(|country| country.alpha2)
}

fn check(problems: &mut Vec<Problem>, field: &str, value: Option<&String>, rule: Text, max: usize) {
    let name = field.rsplit('.').next().unwrap_or(field);
    match value {
        Some(text) if text.chars().count() > max => problems.push(problem(
            "too_long",
            format!("{name} may be at most {max} characters long"),
            field,
        )),
        Some(text) if matches!(rule, Text::Required) && text.trim().is_empty() => {
            problems.push(problem("required", format!("{name} is required"), field));
        }
        _ => {}
    }
}

fn problem(code: &str, message: String, field: &str) -> Problem {
    Problem {
        code: code.into(),
        message,
        field: Some(field.into()),
    }
}

/// Echoes a client's text back without echoing a megabyte of it.
fn truncated(text: &str) -> String {
    const SHOWN: usize = 20;
    match text.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> NewOrder {
        NewOrder {
            items: vec![NewItem {
                product_id: "prod-mug".into(),
                quantity: 1,
            }],
            shipping_address: Address::example(),
            shipping_method: "standard".into(),
            payment_method: "card".into(),
            discount_code: None,
            notes: None,
            sales_channel: None,
        }
    }

    fn problems(order: NewOrder) -> Vec<(String, String)> {
        match order.checked() {
            Ok(_) => vec![],
            Err(OrderError::Refused(problems)) => problems
                .into_iter()
                .map(|p| (p.code, p.field.unwrap_or_default()))
                .collect(),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn countries_in_either_iso_spelling_become_alpha_2() {
        for (given, stored) in [
            ("US", "US"),
            ("USA", "US"),
            ("usa", "US"),
            (" de ", "DE"),
            ("GBR", "GB"),
            ("ca", "CA"),
        ] {
            let mut o = order();
            o.shipping_address.country = given.into();
            assert_eq!(
                o.checked().unwrap().shipping_address.country,
                stored,
                "{given}"
            );
        }
        for unknown in ["XX", "XYZ", "U", "United States", "U$"] {
            let mut o = order();
            o.shipping_address.country = unknown.into();
            assert_eq!(
                problems(o),
                [(
                    "invalid_country".to_owned(),
                    "shipping_address.country".to_owned()
                )],
                "{unknown}"
            );
        }
    }

    #[test]
    fn blank_required_texts_and_long_texts_are_all_named() {
        let mut o = order();
        o.payment_method = "".into();
        o.shipping_method = "  ".into();
        o.items[0].product_id = "".into();
        o.shipping_address.full_name = "x".repeat(limits::NAME + 1);
        o.notes = Some("n".repeat(limits::NOTES + 1));
        o.shipping_address.country = "".into();
        let pairs: Vec<(&str, &str)> = vec![
            ("required", "items[0].product_id"),
            ("required", "shipping_method"),
            ("required", "payment_method"),
            ("too_long", "notes"),
            ("too_long", "shipping_address.full_name"),
            ("required", "shipping_address.country"),
        ];
        let expected: Vec<(String, String)> = pairs
            .into_iter()
            .map(|(c, f)| (c.into(), f.into()))
            .collect();
        assert_eq!(problems(o), expected);
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        let mut o = order();
        o.shipping_address.full_name = "é".repeat(limits::NAME);
        assert_eq!(problems(o), vec![]);
    }

    #[test]
    fn blank_optional_texts_are_absent() {
        let mut o = order();
        o.discount_code = Some(" ".into());
        o.shipping_address.phone = Some("".into());
        let o = o.checked().unwrap();
        assert_eq!((o.discount_code, o.shipping_address.phone), (None, None));
    }
}
