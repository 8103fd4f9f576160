//! Which finding keys the store may hold, kept in memory by the writer thread: a Bloom filter over
//! the keys' hashes. A bulk import's findings are mostly new, and for a new finding the two index
//! probes of `load_by_identifier` find nothing at a seventh of the writer's time; the filter says
//! "not there" for nearly all of them at the cost of a few memory reads.
//!
//! It may answer "maybe" for a key that is absent (then the probes run as before), never "no" for
//! a key that is present: every key that the writer's connection writes goes through
//! [`note_key`] on the writer thread, and when another connection has committed (`PRAGMA
//! data_version` moved) the filter is dropped and built again from the tables. Deleted findings
//! leave their bits set, which only makes "maybe" a little more frequent.

use rusqlite::Connection;
use std::cell::RefCell;
use std::time::{Duration, Instant};

/// Bits per key at the filter's capacity; with [`PROBES`] probes, about 0.7% false "maybe"s when
/// full, far fewer before.
const BITS_PER_KEY: usize = 12;
const PROBES: usize = 4;
/// The fewest keys a filter is sized for (6 KB of bits).
const MIN_CAPACITY: usize = 4096;

/// A Bloom filter over 64-bit key hashes (already well mixed: xxh3).
#[derive(Debug)]
pub struct KeyFilter {
    bits: Vec<u64>,
    /// The number of bits minus one (a power of two minus one).
    mask: u64,
    count: usize,
    capacity: usize,
}

impl KeyFilter {
    /// An empty filter sized for `capacity` keys.
    pub fn with_capacity(capacity: usize) -> KeyFilter {
        let capacity = capacity.max(MIN_CAPACITY);
        let bits = (capacity * BITS_PER_KEY).next_power_of_two();
        KeyFilter { bits: vec![0; bits / 64], mask: bits as u64 - 1, count: 0, capacity }
    }

    fn positions(&self, hash: i64) -> [u64; PROBES] {
        let h = hash as u64;
        // Double hashing from the hash's two halves; the step is odd, so it cycles all bits.
        let step = h.rotate_left(32) | 1;
        std::array::from_fn(|i| h.wrapping_add((i as u64).wrapping_mul(step)) & self.mask)
    }

    pub fn insert(&mut self, hash: i64) {
        for p in self.positions(hash) {
            self.bits[(p / 64) as usize] |= 1 << (p % 64);
        }
        self.count += 1;
    }

    /// False only if `hash` was never inserted.
    pub fn may_contain(&self, hash: i64) -> bool {
        self.positions(hash).iter().all(|p| self.bits[(p / 64) as usize] & (1 << (p % 64)) != 0)
    }

    /// Whether the filter holds more keys than it was sized for (its "maybe"s grow frequent).
    pub fn is_full(&self) -> bool {
        self.count > self.capacity
    }
}

/// The writer thread's filter, the `data_version` that it is current with, and when it was last
/// built.
struct WriterKeys {
    filter: Option<KeyFilter>,
    data_version: i64,
    built_at: Option<Instant>,
}

/// After another connection's commit made the filter stale, it is built again at most this
/// often: a `findinghub import` beside `serve` commits all the time, and a build reads every key
/// (a tenth of a second per million findings). In between, lookups probe the tables.
const REBUILD_PAUSE: Duration = Duration::from_secs(10);

thread_local! {
    static WRITER_KEYS: RefCell<Option<WriterKeys>> = const { RefCell::new(None) };
}

fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
}

/// A filter of the key tables' hashes, sized for twice as many.
fn build(conn: &Connection) -> rusqlite::Result<KeyFilter> {
    let mut hashes = Vec::new();
    for table in ["finding_keys", "finding_keys_recent"] {
        let mut stmt = conn.prepare(&format!("SELECT key_hash FROM {table}"))?;
        let rows = stmt.query_map([], |r| r.get::<_, i64>(0))?;
        for h in rows {
            hashes.push(h?);
        }
    }
    let mut filter = KeyFilter::with_capacity(hashes.len() * 2);
    for h in hashes {
        filter.insert(h);
    }
    tracing::debug!(keys = filter.count, "finding key filter built");
    Ok(filter)
}

/// Makes the writer thread's filter current at the start of an import transaction (so that no
/// other connection can commit until it ends): drops it if another connection has committed
/// since, and builds it if there is none (see [`REBUILD_PAUSE`]) or it is full.
pub fn refresh(conn: &Connection) {
    WRITER_KEYS.with(|cell| {
        let mut state = cell.borrow_mut();
        let Ok(version) = data_version(conn) else {
            *state = None;
            return;
        };
        let keys = state.get_or_insert(WriterKeys { filter: None, data_version: version, built_at: None });
        if keys.data_version != version {
            keys.filter = None;
            keys.data_version = version;
        }
        let wanted = match &keys.filter {
            Some(filter) => filter.is_full(),
            None => keys.built_at.is_none_or(|at| at.elapsed() >= REBUILD_PAUSE),
        };
        if wanted {
            keys.built_at = Some(Instant::now());
            keys.filter = match build(conn) {
                Ok(filter) => Some(filter),
                Err(e) => {
                    tracing::warn!(error = %e, "building the finding key filter failed; lookups probe the tables");
                    None
                }
            };
        }
    });
}

/// Whether the store may hold a finding with this key hash. True when the thread has no filter.
pub fn may_hold(hash: i64) -> bool {
    WRITER_KEYS.with(|cell| cell.borrow().as_ref().and_then(|k| k.filter.as_ref()).is_none_or(|f| f.may_contain(hash)))
}

/// Records a key that this thread's connection writes (a no-op on threads without a filter).
pub fn note_key(hash: i64) {
    WRITER_KEYS.with(|cell| {
        if let Some(filter) = cell.borrow_mut().as_mut().and_then(|k| k.filter.as_mut()) {
            filter.insert(hash);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::KeyFilter;

    fn hash(i: u64) -> i64 {
        findinghub_hub::finding::identifier_hash("arn:aws:securityhub:us-east-1::product/aws/test", &i.to_string())
    }

    #[test]
    fn every_inserted_key_is_found_and_few_others_are() {
        let n = 50_000;
        let mut filter = KeyFilter::with_capacity(n as usize);
        for i in 0..n {
            filter.insert(hash(i));
        }
        assert!((0..n).all(|i| filter.may_contain(hash(i))), "a Bloom filter has no false negatives");
        let false_maybes = (n..2 * n).filter(|&i| filter.may_contain(hash(i))).count();
        assert!(false_maybes < n as usize / 50, "{false_maybes} false maybes of {n}");
        assert!(!filter.is_full());
        filter.insert(hash(2 * n));
        assert!(filter.is_full(), "past its capacity");
    }

    #[test]
    fn an_empty_filter_holds_nothing() {
        let filter = KeyFilter::with_capacity(0);
        assert!(!(0..1000).any(|i| filter.may_contain(hash(i))));
    }
}
