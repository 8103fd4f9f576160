//! Product ARNs and the names that the service fills in for them.
//!
//! `arn:<partition>:securityhub:<region>:<account-id>:product/<company-id>/<product-id>`; AWS's own
//! integrations have an empty account (`…::product/aws/guardduty`), and every account has a
//! private product `…:<acct>:product/<acct>/default` for its own findings.

/// The parts of a product ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub company: &'a str,
    pub product: &'a str,
}

impl<'a> ProductArn<'a> {
    /// Parses a product ARN, or `None` when it is malformed.
    pub fn parse(arn: &'a str) -> Option<ProductArn<'a>> {
        let mut parts = arn.splitn(6, ':');
        let (scheme, partition, service, region, account, resource) =
            (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        if scheme != "arn" || service != "securityhub" || !PARTITIONS.contains(&partition) {
            return None;
        }
        if region.is_empty() || !region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return None;
        }
        if !(account.is_empty() || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))) {
            return None;
        }
        let rest = resource.strip_prefix("product/")?;
        let (company, product) = rest.split_once('/')?;
        let valid = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if !valid(company) || !valid(product) {
            return None;
        }
        Some(ProductArn { partition, region, account, company, product })
    }

    /// A product that belongs to one account (its `default` product or a custom one): its
    /// findings may carry their own ProductName and CompanyName.
    pub fn is_account_owned(&self) -> bool {
        !self.account.is_empty() && self.company == self.account
    }

    /// Security Hub's own control findings.
    pub fn is_security_hub_controls(&self) -> bool {
        self.company == "aws" && self.product == "securityhub"
    }
}

const PARTITIONS: [&str; 5] = ["aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b"];

/// ProductName and CompanyName of a product, as the service fills them in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductNames {
    pub product_name: String,
    pub company_name: String,
}

/// The names that the built-in catalog knows for a product: AWS's integrations by name, an
/// account's default product as `Default` / `Personal`; other products are named after their ARN.
pub fn builtin_names(arn: &ProductArn<'_>) -> ProductNames {
    if let Some(entry) = crate::catalog::find(arn.company, arn.product) {
        return ProductNames { product_name: entry.name.to_owned(), company_name: entry.company.to_owned() };
    }
    if arn.is_account_owned() && arn.product == "default" {
        return ProductNames { product_name: "Default".to_owned(), company_name: "Personal".to_owned() };
    }
    ProductNames { product_name: arn.product.to_owned(), company_name: arn.company.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let gd = ProductArn::parse("arn:aws:securityhub:us-east-1::product/aws/guardduty").expect("aws product");
        assert_eq!((gd.region, gd.account, gd.company, gd.product), ("us-east-1", "", "aws", "guardduty"));
        assert_eq!(builtin_names(&gd).product_name, "GuardDuty");
        let own = ProductArn::parse("arn:aws:securityhub:eu-west-1:123456789012:product/123456789012/default")
            .expect("default product");
        assert!(own.is_account_owned());
        assert_eq!(builtin_names(&own).company_name, "Personal");
        let partner = ProductArn::parse("arn:aws:securityhub:eu-west-1::product/prowler/prowler").expect("partner");
        assert!(!partner.is_account_owned());
    }

    #[test]
    fn rejects_malformed_arns() {
        for bad in [
            "arn:aws::securityhub:us-east-1::product/aws/guardduty",
            "arn:aws:guardduty:us-east-1::product/aws/guardduty",
            "arn:aws:securityhub:us-east-1::product/aws",
            "arn:aws:securityhub:us-east-1:12345:product/aws/guardduty",
            "arn:aws:securityhub:::product/aws/guardduty",
            "product/aws/guardduty",
            "",
        ] {
            assert_eq!(ProductArn::parse(bad), None, "{bad}");
        }
    }
}
