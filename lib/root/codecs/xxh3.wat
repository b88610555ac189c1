;; XXH3-64 (seed 0, default secret) of inputs longer than 240 bytes, the checksum RNTuple stores
;; after every page, with WebAssembly SIMD: the source of the bytes in xxh3-simd.ts. Rebuild with
;; `wat2wasm lib/root/codecs/xxh3.wat -o x.wasm && base64 -w0 x.wasm` (WABT); the unit test
;; test/unit/xxh3-simd.test.ts compares the two when wat2wasm is installed, and the hashes with
;; hash-wasm's. Shorter inputs use other formulas: hash-wasm hashes those.
;;
;; Memory: the 192-byte secret at 0, inputs from 1024 on. matches(p, len): whether the XXH3-64 of
;; [p, p + len) equals the little-endian 64-bit word at p + len (len > 240).
;; The 8 accumulators are 4 i64x2 vectors; one 64-byte stripe adds, per 64-bit lane, the product
;; of the low and high halves of (data xor secret) and the neighbouring lane's data. Every 16
;; stripes (1024 bytes) the accumulators are scrambled with the secret's last 64 bytes.
(module
(memory (export "memory") 1)
(data (i32.const 0) "\b8\fe\6c\39\23\a4\4b\be\7c\01\81\2c\f7\21\ad\1c\de\d4\6d\e9\83\90\97\db\72\40\a4\a4\b7\b3\67\1f\cb\79\e6\4e\cc\c0\e5\78\82\5a\d0\7d\cc\ff\72\21\b8\08\46\74\f7\43\24\8e\e0\35\90\e6\81\3a\26\4c\3c\28\52\bb\91\c3\00\cb\88\d0\65\8b\1b\53\2e\a3\71\64\48\97\a2\0d\f9\4e\38\19\ef\46\a9\de\ac\d8\a8\fa\76\3f\e3\9c\34\3f\f9\dc\bb\c7\c7\0b\4f\1d\8a\51\e0\4b\cd\b4\59\31\c8\9f\7e\c9\d9\78\73\64\ea\c5\ac\83\34\d3\eb\c3\c5\81\a0\ff\fa\13\63\eb\17\0d\dd\51\b7\f0\da\49\d3\16\55\26\29\d4\68\9e\2b\16\be\58\7d\47\a1\fc\8f\f8\b8\d1\7a\d0\31\ce\45\cb\3a\8f\95\16\04\28\af\d7\fb\ca\bb\4b\40\7e")
;; low 64 bits xor high 64 bits of the 128-bit product a * b
(func $mulfold (param $a i64) (param $b i64) (result i64)
 (local $ll i64) (local $hl i64) (local $lh i64) (local $cross i64)
 (local.set $ll (i64.mul (i64.and (local.get $a) (i64.const 0xffffffff)) (i64.and (local.get $b) (i64.const 0xffffffff))))
 (local.set $hl (i64.mul (i64.shr_u (local.get $a) (i64.const 32)) (i64.and (local.get $b) (i64.const 0xffffffff))))
 (local.set $lh (i64.mul (i64.and (local.get $a) (i64.const 0xffffffff)) (i64.shr_u (local.get $b) (i64.const 32))))
 (local.set $cross (i64.add (i64.add (i64.shr_u (local.get $ll) (i64.const 32)) (i64.and (local.get $hl) (i64.const 0xffffffff))) (local.get $lh)))
 (i64.xor
  (i64.or (i64.shl (local.get $cross) (i64.const 32)) (i64.and (local.get $ll) (i64.const 0xffffffff)))
  (i64.add (i64.add (i64.shr_u (local.get $hl) (i64.const 32)) (i64.shr_u (local.get $cross) (i64.const 32)))
   (i64.mul (i64.shr_u (local.get $a) (i64.const 32)) (i64.shr_u (local.get $b) (i64.const 32))))))
(func $hash (param $p i32) (param $len i32) (result i64)
 (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $d v128) (local $k v128)
 (local $blockEnd i32) (local $end i32) (local $s i32) (local $h i64)
 (local.set $a0 (v128.const i64x2 0xC2B2AE3D 0x9E3779B185EBCA87))
 (local.set $a1 (v128.const i64x2 0xC2B2AE3D27D4EB4F 0x165667B19E3779F9))
 (local.set $a2 (v128.const i64x2 0x85EBCA77C2B2AE63 0x85EBCA77))
 (local.set $a3 (v128.const i64x2 0x27D4EB2F165667C5 0x9E3779B1))
 ;; whole blocks of 16 stripes, each followed by a scramble: those before the last byte
 (local.set $blockEnd (i32.add (local.get $p) (i32.and (i32.sub (local.get $len) (i32.const 1)) (i32.const -1024))))
 (block $blocksDone (loop $blocks
  (br_if $blocksDone (i32.ge_u (local.get $p) (local.get $blockEnd)))
  (local.set $s (i32.const 0))
  (loop $stripes
  (local.set $d (v128.load offset=0 (local.get $p)))
  (local.set $k (v128.xor (local.get $d) (v128.load offset=0 (local.get $s))))
  (local.set $a0 (i64x2.add (local.get $a0) (i64x2.add
   (i64x2.extmul_low_i32x4_u (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $k) (local.get $k))
                             (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $k) (local.get $k)))
   (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))
  (local.set $d (v128.load offset=16 (local.get $p)))
  (local.set $k (v128.xor (local.get $d) (v128.load offset=16 (local.get $s))))
  (local.set $a1 (i64x2.add (local.get $a1) (i64x2.add
   (i64x2.extmul_low_i32x4_u (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $k) (local.get $k))
                             (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $k) (local.get $k)))
   (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))
  (local.set $d (v128.load offset=32 (local.get $p)))
  (local.set $k (v128.xor (local.get $d) (v128.load offset=32 (local.get $s))))
  (local.set $a2 (i64x2.add (local.get $a2) (i64x2.add
   (i64x2.extmul_low_i32x4_u (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $k) (local.get $k))
                             (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $k) (local.get $k)))
   (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))
  (local.set $d (v128.load offset=48 (local.get $p)))
  (local.set $k (v128.xor (local.get $d) (v128.load offset=48 (local.get $s))))
  (local.set $a3 (i64x2.add (local.get $a3) (i64x2.add
   (i64x2.extmul_low_i32x4_u (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $k) (local.get $k))
                             (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $k) (local.get $k)))
   (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))
   (local.set $p (i32.add (local.get $p) (i32.const 64)))
   (local.set $s (i32.add (local.get $s) (i32.const 8)))
   (br_if $stripes (i32.lt_u (local.get $s) (i32.const 128))))
  (local.set $a0 (v128.xor (local.get $a0) (i64x2.shr_u (local.get $a0) (i32.const 47))))
  (local.set $a0 (i64x2.mul (v128.xor (local.get $a0) (v128.load offset=128 (i32.const 0))) (v128.const i64x2 0x9E3779B1 0x9E3779B1)))
  (local.set $a1 (v128.xor (local.get $a1) (i64x2.shr_u (local.get $a1) (i32.const 47))))
  (local.set $a1 (i64x2.mul (v128.xor (local.get $a1) (v128.load offset=144 (i32.const 0))) (v128.const i64x2 0x9E3779B1 0x9E3779B1)))
  (local.set $a2 (v128.xor (local.get $a2) (i64x2.shr_u (local.get $a2) (i32.const 47))))
  (local.set $a2 (i64x2.mul (v128.xor (local.get $a2) (v128.load offset=160 (i32.const 0))) (v128.const i64x2 0x9E3779B1 0x9E3779B1)))
  (local.set $a3 (v128.xor (local.get $a3) (i64x2.shr_u (local.get $a3) (i32.const 47))))
  (local.set $a3 (i64x2.mul (v128.xor (local.get $a3) (v128.load offset=176 (i32.const 0))) (v128.const i64x2 0x9E3779B1 0x9E3779B1)))
  (br $blocks)))
 ;; the stripes of the last block that end before the last byte, then the input's last 64 bytes
 (local.set $end (i32.add (local.get $blockEnd) (i32.and (i32.and (i32.sub (local.get $len) (i32.const 1)) (i32.const 1023)) (i32.const -64))))
 (local.set $s (i32.const 0))
 (block $lastDone (loop $last
  (br_if $lastDone (i32.ge_u (local.get $p) (local.get $end)))
  (local.set $d (v128.load offset=0 (local.get $p)))
  (local.set $k (v128.xor (local.get $d) (v128.load offset=0 (local.get $s))))
  (local.set $a0 (i64x2.add (local.get $a0) (i64x2.add
   (i64x2.extmul_low_i32x4_u (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $k) (local.get $k))
                             (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $k) (local.get $k)))
   (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))
  (local.set $d (v128.load offset=16 (local.get $p)))
  (local.set $k (v128.xor (local.get $d) (v128.load offset=16 (local.get $s))))
  (local.set $a1 (i64x2.add (local.get $a1) (i64x2.add
   (i64x2.extmul_low_i32x4_u (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $k) (local.get $k))
                             (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $k) (local.get $k)))
   (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))
  (local.set $d (v128.load offset=32 (local.get $p)))
  (local.set $k (v128.xor (local.get $d) (v128.load offset=32 (local.get $s))))
  (local.set $a2 (i64x2.add (local.get $a2) (i64x2.add
   (i64x2.extmul_low_i32x4_u (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $k) (local.get $k))
                             (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $k) (local.get $k)))
   (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))
  (local.set $d (v128.load offset=48 (local.get $p)))
  (local.set $k (v128.xor (local.get $d) (v128.load offset=48 (local.get $s))))
  (local.set $a3 (i64x2.add (local.get $a3) (i64x2.add
   (i64x2.extmul_low_i32x4_u (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $k) (local.get $k))
                             (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $k) (local.get $k)))
   (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))
  (local.set $p (i32.add (local.get $p) (i32.const 64)))
  (local.set $s (i32.add (local.get $s) (i32.const 8)))
  (br $last)))
 (local.set $p (i32.sub (i32.add (local.get $blockEnd) (i32.and (i32.sub (local.get $len) (i32.const 1)) (i32.const 1023))) (i32.const 63)))
  (local.set $d (v128.load offset=0 (local.get $p)))
  (local.set $k (v128.xor (local.get $d) (v128.load offset=0 (i32.const 121))))
  (local.set $a0 (i64x2.add (local.get $a0) (i64x2.add
   (i64x2.extmul_low_i32x4_u (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $k) (local.get $k))
                             (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $k) (local.get $k)))
   (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))
  (local.set $d (v128.load offset=16 (local.get $p)))
  (local.set $k (v128.xor (local.get $d) (v128.load offset=16 (i32.const 121))))
  (local.set $a1 (i64x2.add (local.get $a1) (i64x2.add
   (i64x2.extmul_low_i32x4_u (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $k) (local.get $k))
                             (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $k) (local.get $k)))
   (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))
  (local.set $d (v128.load offset=32 (local.get $p)))
  (local.set $k (v128.xor (local.get $d) (v128.load offset=32 (i32.const 121))))
  (local.set $a2 (i64x2.add (local.get $a2) (i64x2.add
   (i64x2.extmul_low_i32x4_u (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $k) (local.get $k))
                             (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $k) (local.get $k)))
   (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))
  (local.set $d (v128.load offset=48 (local.get $p)))
  (local.set $k (v128.xor (local.get $d) (v128.load offset=48 (i32.const 121))))
  (local.set $a3 (i64x2.add (local.get $a3) (i64x2.add
   (i64x2.extmul_low_i32x4_u (i8x16.shuffle 0 1 2 3 8 9 10 11 0 1 2 3 8 9 10 11 (local.get $k) (local.get $k))
                             (i8x16.shuffle 4 5 6 7 12 13 14 15 4 5 6 7 12 13 14 15 (local.get $k) (local.get $k)))
   (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d)))))
 ;; merge, then avalanche
 (local.set $h (i64.mul (i64.extend_i32_u (local.get $len)) (i64.const 0x9E3779B185EBCA87)))
  (local.set $h (i64.add (local.get $h) (call $mulfold
   (i64.xor (i64x2.extract_lane 0 (local.get $a0)) (i64.load offset=11 (i32.const 0)))
   (i64.xor (i64x2.extract_lane 1 (local.get $a0)) (i64.load offset=19 (i32.const 0))))))
  (local.set $h (i64.add (local.get $h) (call $mulfold
   (i64.xor (i64x2.extract_lane 0 (local.get $a1)) (i64.load offset=27 (i32.const 0)))
   (i64.xor (i64x2.extract_lane 1 (local.get $a1)) (i64.load offset=35 (i32.const 0))))))
  (local.set $h (i64.add (local.get $h) (call $mulfold
   (i64.xor (i64x2.extract_lane 0 (local.get $a2)) (i64.load offset=43 (i32.const 0)))
   (i64.xor (i64x2.extract_lane 1 (local.get $a2)) (i64.load offset=51 (i32.const 0))))))
  (local.set $h (i64.add (local.get $h) (call $mulfold
   (i64.xor (i64x2.extract_lane 0 (local.get $a3)) (i64.load offset=59 (i32.const 0)))
   (i64.xor (i64x2.extract_lane 1 (local.get $a3)) (i64.load offset=67 (i32.const 0))))))
 (local.set $h (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 37))))
 (local.set $h (i64.mul (local.get $h) (i64.const 0x165667919E3779F9)))
 (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 32))))
(func (export "matches") (param $p i32) (param $len i32) (result i32)
 (i64.eq (call $hash (local.get $p) (local.get $len)) (i64.load (i32.add (local.get $p) (local.get $len)))))
)
