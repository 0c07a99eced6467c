use crate::orders::{Caller, Customer};
use crate::orders::{CustomerError, Customers};
use async_trait::async_trait;
use serde::Deserialize;
use std::time::Duration;

/// The user service over HTTP, with a timeout on every request.
pub struct UserService {
    client: reqwest::Client,
    base: String,
}

#[derive(Deserialize)]
struct Profile {
    id: String,
    email: Option<String>,
    full_name: Option<String>,
}

impl UserService {
    pub fn new(base: &str, timeout: Duration) -> anyhow::Result<Self> {
        Ok(UserService {
            client: reqwest::Client::builder().timeout(timeout).build()?,
            base: base.trim_end_matches('/').to_owned(),
        })
    }
}

#[async_trait]
impl Customers for UserService {
    /// The profile of the token's user; a profile of someone else than the caller is a
    /// rejection (the two services disagree about who this is).
    async fn profile(&self, caller: &Caller) -> Result<Customer, CustomerError> {
        let response = self
            .client
            .get(format!("{}/api/v1/users/me", self.base))
            .bearer_auth(&caller.token)
            .send()
            .await
            .map_err(|e| CustomerError::Unavailable(e.to_string()))?;
        match response.status().as_u16() {
            200 => {
                let body = response
                    .bytes()
                    .await
                    .map_err(|e| CustomerError::Unavailable(e.to_string()))?;
                let profile: Profile = serde_json::from_slice(&body)
                    .map_err(|e| CustomerError::Unavailable(format!("malformed profile: {e}")))?;
                if profile.id != caller.user_id {
                    return Err(CustomerError::Rejected);
                }
                Ok(Customer {
                    email: profile.email,
                    full_name: profile.full_name,
                })
            }
            401 | 403 => Err(CustomerError::Rejected),
            status => Err(CustomerError::Unavailable(format!("status {status}"))),
        }
    }
}
