;; Split encoding undone with 128-bit shuffles: the source of the bytes in unsplit-simd.ts.
;; Rebuild with `wat2wasm lib/root/rntuple/unsplit.wat -o x.wasm && base64 -w0 x.wasm` (WABT); the unit
;; test test/unit/rntuple-split.test.ts compares the two when wat2wasm is installed.
;;
;; unsplit32(p, dst, n, blocks) / unsplit64(...): a page of n elements stored as byte planes
;; (all first bytes, then all second bytes, ...) starts at p - from; `blocks` groups of 16
;; elements, from element `from` on, are written to dst as whole elements (little-endian).
;; Planes are interleaved byte by byte, then 16-bit, then (64-bit elements) 32-bit units.
(module (memory (export "memory") 1)
(func (export "unsplit32") (param $p i32) (param $dst i32) (param $n i32) (param $blocks i32)
 (local $end i32) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
 (local $ab0 v128) (local $ab1 v128) (local $cd0 v128) (local $cd1 v128)
 (local.set $end (i32.add (local.get $p) (i32.shl (local.get $blocks) (i32.const 4))))
 (block $done (loop $l
  (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
  (local.set $a (v128.load (local.get $p)))
  (local.set $b (v128.load (i32.add (local.get $p) (local.get $n))))
  (local.set $c (v128.load (i32.add (local.get $p) (i32.shl (local.get $n) (i32.const 1)))))
  (local.set $d (v128.load (i32.add (local.get $p) (i32.mul (local.get $n) (i32.const 3)))))
  (local.set $ab0 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $a) (local.get $b))) (local.set $ab1 (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $a) (local.get $b)))
  (local.set $cd0 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $c) (local.get $d))) (local.set $cd1 (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $c) (local.get $d)))
  (v128.store offset=0 (local.get $dst) (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $ab0) (local.get $cd0)))
  (v128.store offset=16 (local.get $dst) (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $ab0) (local.get $cd0)))
  (v128.store offset=32 (local.get $dst) (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $ab1) (local.get $cd1)))
  (v128.store offset=48 (local.get $dst) (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $ab1) (local.get $cd1)))
  (local.set $p (i32.add (local.get $p) (i32.const 16)))
  (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
  (br $l))))
(func (export "unsplit64") (param $p i32) (param $dst i32) (param $n i32) (param $blocks i32)
 (local $end i32) (local $a v128) (local $b v128) (local $c v128) (local $d v128) (local $e v128) (local $f v128) (local $g v128) (local $h v128) (local $ab0 v128) (local $ab1 v128) (local $cd0 v128) (local $cd1 v128) (local $ef0 v128) (local $ef1 v128) (local $gh0 v128) (local $gh1 v128) (local $q0 v128) (local $q1 v128) (local $q2 v128) (local $q3 v128) (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
 (local.set $end (i32.add (local.get $p) (i32.shl (local.get $blocks) (i32.const 4))))
 (block $done (loop $l
  (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
  (local.set $a (v128.load (i32.add (local.get $p) (i32.mul (local.get $n) (i32.const 0)))))
  (local.set $b (v128.load (i32.add (local.get $p) (i32.mul (local.get $n) (i32.const 1)))))
  (local.set $c (v128.load (i32.add (local.get $p) (i32.mul (local.get $n) (i32.const 2)))))
  (local.set $d (v128.load (i32.add (local.get $p) (i32.mul (local.get $n) (i32.const 3)))))
  (local.set $e (v128.load (i32.add (local.get $p) (i32.mul (local.get $n) (i32.const 4)))))
  (local.set $f (v128.load (i32.add (local.get $p) (i32.mul (local.get $n) (i32.const 5)))))
  (local.set $g (v128.load (i32.add (local.get $p) (i32.mul (local.get $n) (i32.const 6)))))
  (local.set $h (v128.load (i32.add (local.get $p) (i32.mul (local.get $n) (i32.const 7)))))
  (local.set $ab0 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $a) (local.get $b))) (local.set $ab1 (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $a) (local.get $b)))
  (local.set $cd0 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $c) (local.get $d))) (local.set $cd1 (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $c) (local.get $d)))
  (local.set $ef0 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $e) (local.get $f))) (local.set $ef1 (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $e) (local.get $f)))
  (local.set $gh0 (i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23 (local.get $g) (local.get $h))) (local.set $gh1 (i8x16.shuffle 8 24 9 25 10 26 11 27 12 28 13 29 14 30 15 31 (local.get $g) (local.get $h)))
  (local.set $q0 (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $ab0) (local.get $cd0))) (local.set $q1 (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $ab0) (local.get $cd0))) (local.set $q2 (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $ab1) (local.get $cd1))) (local.set $q3 (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $ab1) (local.get $cd1)))
  (local.set $r0 (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $ef0) (local.get $gh0))) (local.set $r1 (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $ef0) (local.get $gh0))) (local.set $r2 (i8x16.shuffle 0 1 16 17 2 3 18 19 4 5 20 21 6 7 22 23 (local.get $ef1) (local.get $gh1))) (local.set $r3 (i8x16.shuffle 8 9 24 25 10 11 26 27 12 13 28 29 14 15 30 31 (local.get $ef1) (local.get $gh1)))
  (v128.store offset=0 (local.get $dst) (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q0) (local.get $r0)))
  (v128.store offset=16 (local.get $dst) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $q0) (local.get $r0)))
  (v128.store offset=32 (local.get $dst) (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q1) (local.get $r1)))
  (v128.store offset=48 (local.get $dst) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $q1) (local.get $r1)))
  (v128.store offset=64 (local.get $dst) (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q2) (local.get $r2)))
  (v128.store offset=80 (local.get $dst) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $q2) (local.get $r2)))
  (v128.store offset=96 (local.get $dst) (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $q3) (local.get $r3)))
  (v128.store offset=112 (local.get $dst) (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $q3) (local.get $r3)))
  (local.set $p (i32.add (local.get $p) (i32.const 16)))
  (local.set $dst (i32.add (local.get $dst) (i32.const 128)))
  (br $l))))
;; zigzag32(p, end) / zigzag64(p, end): the 32- or 64-bit elements in [p, end) (a multiple of 16
;; bytes) from zigzag encoding (0, -1, 1, -2, ... stored as 0, 1, 2, 3, ...) back to two's
;; complement, in place: x >>> 1, every bit flipped when x is odd.
(func (export "zigzag32") (param $p i32) (param $end i32) (local $x v128)
 (block $done (loop $l
  (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
  (local.set $x (v128.load (local.get $p)))
  (v128.store (local.get $p) (v128.xor (i32x4.shr_u (local.get $x) (i32.const 1)) (i32x4.shr_s (i32x4.shl (local.get $x) (i32.const 31)) (i32.const 31))))
  (local.set $p (i32.add (local.get $p) (i32.const 16)))
  (br $l))))
(func (export "zigzag64") (param $p i32) (param $end i32) (local $x v128)
 (block $done (loop $l
  (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
  (local.set $x (v128.load (local.get $p)))
  (v128.store (local.get $p) (v128.xor (i64x2.shr_u (local.get $x) (i32.const 1)) (i64x2.shr_s (i64x2.shl (local.get $x) (i32.const 63)) (i32.const 63))))
  (local.set $p (i32.add (local.get $p) (i32.const 16)))
  (br $l))))
;; tail(p, n, size, from, count, dst): elements [from, from + count) of the split page at p
;; (n elements of `size` bytes) written whole at dst, byte by byte: what unsplit32/64 leave over.
(func (export "tail") (param $p i32) (param $n i32) (param $size i32) (param $from i32) (param $count i32) (param $dst i32)
 (local $i i32) (local $b i32)
 (block $done (loop $elements
  (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
  (local.set $b (i32.const 0))
  (loop $bytes
   (i32.store8 (i32.add (local.get $dst) (i32.add (i32.mul (local.get $i) (local.get $size)) (local.get $b)))
    (i32.load8_u (i32.add (local.get $p) (i32.add (i32.mul (local.get $b) (local.get $n)) (i32.add (local.get $from) (local.get $i))))))
   (local.set $b (i32.add (local.get $b) (i32.const 1)))
   (br_if $bytes (i32.lt_u (local.get $b) (local.get $size))))
  (local.set $i (i32.add (local.get $i) (i32.const 1)))
  (br $elements))))
;; index32(src, dst, count, delta) / index64(...): `count` unsigned 32- or 64-bit integers at src
;; (collection offsets) as float64 at dst, each the running sum of those before when `delta`
;; (the page's first element is absolute): the sum is one integer addition per element.
(func (export "index32") (param $src i32) (param $dst i32) (param $count i32) (param $delta i32)
 (local $end i32) (local $sum i64) (local $v i64)
 (local.set $end (i32.add (local.get $src) (i32.shl (local.get $count) (i32.const 2))))
 (block $done (loop $l
  (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
  (local.set $v (i64.load32_u (local.get $src)))
  (local.set $sum (select (i64.add (local.get $sum) (local.get $v)) (local.get $v) (local.get $delta)))
  (f64.store (local.get $dst) (f64.convert_i64_u (local.get $sum)))
  (local.set $src (i32.add (local.get $src) (i32.const 4)))
  (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
  (br $l))))
(func (export "index64") (param $src i32) (param $dst i32) (param $count i32) (param $delta i32)
 (local $end i32) (local $sum i64) (local $v i64)
 (local.set $end (i32.add (local.get $src) (i32.shl (local.get $count) (i32.const 3))))
 (block $done (loop $l
  (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
  (local.set $v (i64.load (local.get $src)))
  (local.set $sum (select (i64.add (local.get $sum) (local.get $v)) (local.get $v) (local.get $delta)))
  (f64.store (local.get $dst) (f64.convert_i64_u (local.get $sum)))
  (local.set $src (i32.add (local.get $src) (i32.const 8)))
  (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
  (br $l))))
;; offsets(src, dst, count, add, prev): `count` float64 at src (collection offsets from index32 or
;; index64) as int32 at dst, each moved by `add` (where the chunk's offsets start). Returns the last
;; of them, or -1 when one is smaller than the one before it (`prev` before the first): offsets
;; that go backwards. Past 2^31 a value saturates; the caller refuses such totals.
(func (export "offsets") (param $src i32) (param $dst i32) (param $count i32) (param $add f64) (param $prev f64) (result f64)
 (local $end i32) (local $v f64) (local $back i32)
 (local.set $end (i32.add (local.get $src) (i32.shl (local.get $count) (i32.const 3))))
 (block $done (loop $l
  (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
  (local.set $v (f64.load (local.get $src)))
  (local.set $back (i32.or (local.get $back) (f64.lt (local.get $v) (local.get $prev))))
  (local.set $prev (local.get $v))
  (i32.store (local.get $dst) (i32.trunc_sat_f64_s (f64.add (local.get $v) (local.get $add))))
  (local.set $src (i32.add (local.get $src) (i32.const 8)))
  (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
  (br $l)))
 (select (f64.const -1) (local.get $prev) (local.get $back)))
)
