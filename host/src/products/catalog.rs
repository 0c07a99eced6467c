use super::{Products, Unavailable, WireProduct};
use crate::domain::ProductSnapshot;
use async_trait::async_trait;
use std::collections::HashMap;
use std::path::Path;

/// Products from a JSON file (an array in the product service's format): the stand-in for
/// the product service when none is configured.
pub struct CatalogFile {
    products: HashMap<String, ProductSnapshot>,
}

impl CatalogFile {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let wire: Vec<WireProduct> =
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let products = wire
            .into_iter()
            .map(|p| p.snapshot().map(|s| (s.product_id.clone(), s)))
            .collect::<Result<_, _>>()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Ok(CatalogFile { products })
    }
}

#[async_trait]
impl Products for CatalogFile {
    async fn lookup(&self, id: &str) -> Result<Option<ProductSnapshot>, Unavailable> {
        Ok(self.products.get(id).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_repo_catalog_loads() {
        let catalog = CatalogFile::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog/products.json"),
        )
        .unwrap();
        let widget = catalog.lookup("prod-widget").await.unwrap().unwrap();
        assert_eq!(
            (widget.unit_price.minor, widget.unit_price.currency.as_str()),
            (1250, "USD")
        );
        assert!(
            !catalog
                .lookup("prod-retired")
                .await
                .unwrap()
                .unwrap()
                .active
        );
        assert_eq!(catalog.lookup("nope").await.unwrap(), None);
    }
}
