//! Severity Label ⇄ Normalized, as Security Hub derives one from the other.

/// The five labels, from least to most severe.
pub const LABELS: [&str; 5] = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];

/// Normalized (0..=100) → Label: 0 INFORMATIONAL, 1–39 LOW, 40–69 MEDIUM, 70–89 HIGH, 90–100 CRITICAL.
pub fn label_from_normalized(normalized: i64) -> &'static str {
    match normalized {
        i64::MIN..=0 => "INFORMATIONAL",
        1..=39 => "LOW",
        40..=69 => "MEDIUM",
        70..=89 => "HIGH",
        _ => "CRITICAL",
    }
}

/// Label → Normalized: INFORMATIONAL 0, LOW 1, MEDIUM 40, HIGH 70, CRITICAL 90.
pub fn normalized_from_label(label: &str) -> Option<i64> {
    Some(match label {
        "INFORMATIONAL" => 0,
        "LOW" => 1,
        "MEDIUM" => 40,
        "HIGH" => 70,
        "CRITICAL" => 90,
        _ => return None,
    })
}

/// The rank of a label (0 for INFORMATIONAL … 4 for CRITICAL), for sorting by severity.
pub fn label_rank(label: &str) -> Option<usize> {
    LABELS.iter().position(|l| *l == label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivations_agree_at_the_boundaries() {
        for (n, l) in [
            (0, "INFORMATIONAL"),
            (1, "LOW"),
            (39, "LOW"),
            (40, "MEDIUM"),
            (69, "MEDIUM"),
            (70, "HIGH"),
            (89, "HIGH"),
            (90, "CRITICAL"),
            (100, "CRITICAL"),
        ] {
            assert_eq!(label_from_normalized(n), l, "{n}");
        }
        for l in LABELS {
            let n = normalized_from_label(l).expect("known label");
            assert_eq!(label_from_normalized(n), l);
        }
        assert_eq!(normalized_from_label("SEVERE"), None);
    }
}
