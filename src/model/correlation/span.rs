//! Span packing: the text fields of a span in one allocation, optional numbers packed into
//! sentinels, and the hashing that keys sessions and spans, so a million retained observations
//! fit in a few hundred megabytes.
use super::*;

/// Text fields of a span, packed into one allocation (one `malloc` per span instead of ten).
pub(super) const F_ID: usize = 0;
pub(super) const F_TRACE: usize = 1;
pub(super) const F_POBS: usize = 2;
pub(super) const F_NAME: usize = 3;
pub(super) const F_MODEL: usize = 4;
pub(super) const F_STATUS: usize = 5;
pub(super) const F_INPUT: usize = 6;
pub(super) const F_OUTPUT: usize = 7;
pub(super) const F_HTML: usize = 8;
pub(super) const F_PARENT: usize = 9;
pub(super) const F_USER: usize = 10;
pub(super) const FIELDS: usize = 11;

#[derive(Clone, Debug, PartialEq)]
pub(super) struct Texts {
    pub(super) buf: Box<str>,
    /// End offset of each field in `buf` (fields are capped, so the sum fits in u16).
    pub(super) ends: [u16; FIELDS],
    /// Bit i set: field i is present (`Some`).
    pub(super) present: u16,
}

impl Texts {
    pub(super) fn build(fields: [(Option<&str>, usize); FIELDS]) -> Texts {
        let total: usize = fields
            .iter()
            .map(|(s, max)| s.map_or(0, |s| cut(s, *max).len()))
            .sum();
        let mut buf = String::with_capacity(total);
        let mut ends = [0u16; FIELDS];
        let mut present = 0u16;
        for (i, (s, max)) in fields.iter().enumerate() {
            if let Some(s) = s {
                buf.push_str(cut(s, *max));
                present |= 1 << i;
            }
            ends[i] = u16::try_from(buf.len()).unwrap_or(u16::MAX);
        }
        Texts {
            buf: buf.into_boxed_str(),
            ends,
            present,
        }
    }

    #[inline]
    pub(super) fn get(&self, f: usize) -> Option<&str> {
        if self.present & (1 << f) == 0 {
            return None;
        }
        let start = if f == 0 { 0 } else { self.ends[f - 1] as usize };
        self.buf.get(start..self.ends[f] as usize)
    }

    #[inline]
    pub(super) fn str(&self, f: usize) -> &str {
        self.get(f).unwrap_or_default()
    }

    /// These texts with the input and output of `other` (fields already cut to their caps).
    pub(super) fn with_io_of(&self, other: &Texts) -> Texts {
        let field = |i: usize| {
            let src = if i == F_INPUT || i == F_OUTPUT {
                other
            } else {
                self
            };
            (src.get(i), usize::MAX)
        };
        Texts::build(std::array::from_fn(field))
    }

    pub(super) fn len_of(&self, f: usize) -> usize {
        self.get(f).map_or(0, str::len)
    }
}

/// How a span declared its AgentCore parent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Parent {
    None,
    /// The parent is this span's own session.
    Same,
    /// Another session: its key is this byte range of the stored parent reference.
    Other(u16, u16),
}

/// Retained spans dominate the correlator's memory, so the optional numbers are stored in
/// sentinel form (80 bytes a span instead of 128): `NONE_U32` / NaN mean absent. A duration
/// saturates at ~49 days and token counts at ~4.29 billion, far past anything a span carries.
#[derive(Clone, Debug)]
pub(super) struct Span {
    pub(super) texts: Texts,
    pub(super) start_ms: i64,
    pub(super) cost_usd: f64,
    pub(super) duration_ms: u32,
    pub(super) input_tokens: u32,
    pub(super) output_tokens: u32,
    pub(super) path: Option<u16>,
    pub(super) parent: Parent,
    pub(super) level: Level,
    pub(super) side: Option<Side>,
}

/// Field by field, the cost by its bits: an absent cost (NaN) equals an absent cost, so a
/// re-delivered observation is recognised as unchanged.
impl PartialEq for Span {
    fn eq(&self, o: &Span) -> bool {
        self.texts == o.texts
            && self.start_ms == o.start_ms
            && self.cost_usd.to_bits() == o.cost_usd.to_bits()
            && self.duration_ms == o.duration_ms
            && self.input_tokens == o.input_tokens
            && self.output_tokens == o.output_tokens
            && self.path == o.path
            && self.parent == o.parent
            && self.level == o.level
            && self.side == o.side
    }
}

pub(super) const NONE_U32: u32 = u32::MAX;

pub(super) fn pack_u64(v: Option<u64>) -> u32 {
    v.map_or(NONE_U32, |v| u32::try_from(v).unwrap_or(NONE_U32 - 1))
}

pub(super) fn unpack_u32(v: u32) -> Option<u64> {
    (v != NONE_U32).then_some(u64::from(v))
}

impl Span {
    pub(super) fn id(&self) -> &str {
        self.texts.str(F_ID)
    }
    pub(super) fn duration_ms(&self) -> Option<i64> {
        (self.duration_ms != NONE_U32).then_some(i64::from(self.duration_ms))
    }
    pub(super) fn input_tokens(&self) -> Option<u64> {
        unpack_u32(self.input_tokens)
    }
    pub(super) fn output_tokens(&self) -> Option<u64> {
        unpack_u32(self.output_tokens)
    }
    pub(super) fn cost_usd(&self) -> Option<f64> {
        (!self.cost_usd.is_nan()).then_some(self.cost_usd)
    }
    pub(super) fn last_ms(&self) -> i64 {
        self.start_ms + self.duration_ms().unwrap_or(0)
    }
    pub(super) fn payload(&self) -> usize {
        self.texts.len_of(F_INPUT) + self.texts.len_of(F_OUTPUT)
    }
    pub(super) fn order_key(&self) -> (i64, &str) {
        (self.start_ms, self.id())
    }
}

pub(super) fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut n = max;
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}

/// Keyed 64-bit string hash for the id and session maps (keyed per process, so ids cannot be
/// crafted to collide). Each 8-byte word goes through a bijection of the state, so two strings of
/// the same length never collide; different lengths start from different states. Lookups still
/// compare the stored string, so a collision could only cost a missed dedupe, never a wrong
/// session.
pub(super) fn hash_str(seed: u64, s: &str) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let b = s.as_bytes();
    let mut h = seed ^ (b.len() as u64).wrapping_mul(K);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(K).rotate_left(29);
    }
    // murmur3 fmix64
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// The maps are keyed by `hash_str` already: pass the u64 through.
#[derive(Clone, Copy, Default)]
pub(super) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

pub(super) type HashKeyed<V> = HashMap<u64, V, BuildHasherDefault<PassThrough>>;
