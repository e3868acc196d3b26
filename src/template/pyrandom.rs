//! Python's `random.Random`: the MT19937 generator, its seeding (`seed=` strings through
//! SHA-512 as version 2 does, integers by their 32-bit words, floats by `hash()`), and the
//! draws Ansible's `random`/`shuffle` filters and `password` lookup make (`_randbelow`,
//! `randrange`, `choice`, `shuffle`). A seeded template therefore gives exactly the value
//! ansible-core gives for the same seed, which roles rely on (e.g. cron minutes spread by
//! `inventory_hostname`).

use sha2::Digest;

const N: usize = 624;
const M: usize = 397;

/// A Mersenne Twister in the state Python's `random.Random(seed)` would be in.
pub(crate) struct PyRandom {
    mt: [u32; N],
    index: usize,
}

/// A seed as Python receives it; the kinds seed differently.
pub(crate) enum Seed<'a> {
    /// A `str`: version-2 seeding, the text followed by its SHA-512 digest as one integer.
    Text(&'a str),
    /// An `int` (and `bool`): seeded by the 32-bit words of its absolute value.
    Int(i128),
    /// A `float`: seeded by Python's `hash()` of it.
    Float(f64),
}

impl PyRandom {
    /// The generator `random.Random(seed)` makes.
    pub(crate) fn new(seed: Seed<'_>) -> Self {
        let key = match seed {
            Seed::Text(s) => {
                let mut bytes = s.as_bytes().to_vec();
                bytes.extend_from_slice(&sha2::Sha512::digest(s.as_bytes()));
                words_of_big_endian(&bytes)
            }
            Seed::Int(i) => words_of_big_endian(&i.unsigned_abs().to_be_bytes()),
            Seed::Float(f) => {
                let h = py_float_hash(f);
                words_of_big_endian(&h.unsigned_abs().to_be_bytes())
            }
        };
        let mut r = PyRandom {
            mt: [0; N],
            index: N,
        };
        r.init_by_array(&key);
        r
    }

    /// A generator seeded from the operating system, like `random.SystemRandom` in effect.
    pub(crate) fn from_entropy() -> Self {
        let mut key = Vec::with_capacity(8);
        for _ in 0..2 {
            for w in uuid::Uuid::new_v4().as_bytes().chunks(4) {
                key.push(u32::from_le_bytes([w[0], w[1], w[2], w[3]]));
            }
        }
        let mut r = PyRandom {
            mt: [0; N],
            index: N,
        };
        r.init_by_array(&key);
        r
    }

    fn init_genrand(&mut self, s: u32) {
        self.mt[0] = s;
        for i in 1..N {
            let prev = self.mt[i - 1];
            self.mt[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        self.index = N;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19_650_218);
        let (mut i, mut j) = (1usize, 0usize);
        let len = key.len().max(1);
        for _ in 0..N.max(len) {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key.get(j).copied().unwrap_or(0))
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
            if j >= len {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
        }
        self.mt[0] = 0x8000_0000;
        self.index = N;
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            for k in 0..N {
                let y = (self.mt[k] & 0x8000_0000) | (self.mt[(k + 1) % N] & 0x7fff_ffff);
                let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
                self.mt[k] = self.mt[(k + M) % N] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(k)` for k <= 128: whole words first, least significant first.
    fn getrandbits(&mut self, k: u32) -> u128 {
        if k == 0 {
            return 0;
        }
        let mut out: u128 = 0;
        let mut left = k;
        let mut shift = 0;
        while left > 0 {
            let mut r = self.next_u32();
            if left < 32 {
                r >>= 32 - left;
            }
            out |= u128::from(r) << shift;
            shift += 32;
            left = left.saturating_sub(32);
        }
        out
    }

    /// `_randbelow(n)`: a uniform integer in `[0, n)` by rejection, n > 0.
    pub(crate) fn below(&mut self, n: u128) -> u128 {
        if n == 0 {
            return 0;
        }
        let k = 128 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }

    /// `randrange(start, stop, step)`, or Python's error text when the range is empty.
    pub(crate) fn randrange(
        &mut self,
        start: i128,
        stop: i128,
        step: i128,
    ) -> Result<i128, String> {
        let width = stop - start;
        let empty = || format!("empty range in randrange({start}, {stop}, {step})");
        if step == 1 {
            if width > 0 {
                return Ok(start + self.below(width as u128) as i128);
            }
            return Err(empty());
        }
        let n = match step {
            0 => return Err("zero step for randrange()".into()),
            s if s > 0 => (width + s - 1).div_euclid(s),
            s => (width + s + 1).div_euclid(s),
        };
        if n <= 0 {
            return Err(empty());
        }
        Ok(start + step * self.below(n as u128) as i128)
    }

    /// `shuffle(list)` in place, the same swaps Python makes.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u128 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// The 32-bit words, least significant first, of the unsigned big-endian integer `bytes`;
/// `[0]` for zero, as CPython's `random_seed` builds its key.
fn words_of_big_endian(bytes: &[u8]) -> Vec<u32> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let digits = &bytes[start..];
    if digits.is_empty() {
        return vec![0];
    }
    let mut words = Vec::with_capacity(digits.len() / 4 + 1);
    let mut end = digits.len();
    while end > 0 {
        let from = end.saturating_sub(4);
        let mut w = 0u32;
        for b in &digits[from..end] {
            w = (w << 8) | u32::from(*b);
        }
        words.push(w);
        end = from;
    }
    words
}

/// CPython's `hash(float)`: the value reduced modulo the Mersenne prime 2**61 - 1.
fn py_float_hash(v: f64) -> i64 {
    const BITS: i32 = 61;
    const MODULUS: u64 = (1u64 << BITS) - 1;
    if v.is_nan() {
        return 0;
    }
    if v.is_infinite() {
        return if v > 0.0 { 314_159 } else { -314_159 };
    }
    let (mut m, mut e) = frexp(v.abs());
    let sign: i64 = if v < 0.0 { -1 } else { 1 };
    let mut x: u64 = 0;
    while m != 0.0 {
        x = ((x << 28) & MODULUS) | (x >> (BITS - 28));
        m *= 268_435_456.0;
        e -= 28;
        let y = m as u64;
        m -= y as f64;
        x += y;
        if x >= MODULUS {
            x -= MODULUS;
        }
    }
    let e = if e >= 0 {
        e % BITS
    } else {
        BITS - 1 - ((-1 - e) % BITS)
    };
    x = ((x << e) & MODULUS) | (x >> (BITS - e));
    let h = x as i64 * sign;
    if h == -1 { -2 } else { h }
}

/// C's `frexp` for finite non-negative values: `v = m * 2**e` with `0.5 <= m < 1`.
fn frexp(v: f64) -> (f64, i32) {
    if v == 0.0 {
        return (0.0, 0);
    }
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        // Subnormal: scale into the normal range first.
        let (m, e) = frexp(v * 2f64.powi(54));
        return (m, e - 54);
    }
    let m = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (m, exp - 1022)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values printed by CPython 3.11's `random` module.
    #[test]
    fn matches_cpython() {
        let mut r = PyRandom::new(Seed::Int(42));
        assert_eq!(r.getrandbits(32), 2_746_317_213);
        assert_eq!(
            PyRandom::new(Seed::Float(2.5)).randrange(0, 1_000_000, 1),
            Ok(439_117)
        );
        assert_eq!(
            PyRandom::new(Seed::Int(-7)).randrange(0, 1_000_000, 1),
            Ok(339_563)
        );
        assert_eq!(
            PyRandom::new(Seed::Text("héllo")).randrange(0, 10i128.pow(30), 1),
            Ok(145_452_858_929_223_492_010_923_610_855)
        );
        let mut r = PyRandom::new(Seed::Int(1));
        assert_eq!(r.randrange(5, 100, 7), Ok(19));
        assert_eq!(r.randrange(100, 5, -3), Ok(88));
        let mut r = PyRandom::new(Seed::Text("x"));
        let mut l: Vec<u32> = (1..=10).collect();
        r.shuffle(&mut l);
        assert_eq!(l, [1, 9, 3, 10, 5, 4, 7, 2, 8, 6]);
        assert_eq!(py_float_hash(1.5), 1_152_921_504_606_846_977);
        assert_eq!(py_float_hash(-2.0), -2);
        assert_eq!(py_float_hash(0.1), 230_584_300_921_369_408);
    }
}
