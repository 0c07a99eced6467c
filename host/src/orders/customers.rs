//! Who placed an order: the seam through which placing one asks for the caller's profile.
//! Its backends (the user service, the token's own claims) are `crate::customers`'.

use super::{Caller, Customer};
use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CustomerError {
    /// The token is valid here but its user is unknown there (or someone else).
    #[error("the user service rejected the token")]
    Rejected,
    #[error("user service unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Customers: Send + Sync + 'static {
    /// The profile of the caller, as it is now.
    async fn profile(&self, caller: &Caller) -> Result<Customer, CustomerError>;
}
