use super::Money;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AppliedRule {
    pub rule: String,
    pub description: String,
    pub amount: Money,
}

/// A price breakdown. The host checks it (`runtime::checks`) before anyone sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Quote {
    pub subtotal: Money,
    pub tax: Money,
    pub shipping: Money,
    pub discount: Money,
    pub total: Money,
    pub applied: Vec<AppliedRule>,
}
