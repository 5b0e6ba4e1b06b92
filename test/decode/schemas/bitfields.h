/* Bit-fields: widths, signedness, straddling, zero-width, packed and #pragma pack, enums and bools. */
#include <stdint.h>
#include <stdbool.h>

enum mode { MODE_OFF = 0, MODE_ON = 1, MODE_AUTO = 2 };

struct flags {
  unsigned a : 1;
  unsigned b : 3;
  signed int c : 4;
  int d : 5;
  unsigned e : 20;
  uint8_t f;
  uint16_t g : 9;
  uint16_t h : 9;
  uint64_t i : 40;
  uint64_t j : 30;
  enum mode m : 2;
  bool on : 1;
};

struct zero_width { uint8_t a; int : 0; uint8_t b; uint8_t c : 3; uint32_t : 0; uint8_t d; };
struct unnamed_gap { uint32_t a : 3; uint32_t : 5; uint32_t b : 8; uint8_t tail; };
struct char_bits { uint8_t a : 7; uint8_t b : 7; uint8_t c : 2; };
struct __attribute__((packed)) packed_bits { uint8_t a : 7; uint16_t b : 12; uint32_t c : 17; uint8_t tail; };
#pragma pack(push, 1)
struct pragma_bits { uint8_t a : 7; uint16_t b : 12; uint32_t c : 17; int64_t d : 33; };
#pragma pack(pop)
#pragma pack(push, 2)
struct pragma2_bits { uint8_t a : 3; uint32_t b : 30; uint8_t c; };
#pragma pack(pop)
struct only_bits { uint64_t a : 1; };
struct small_after_bits { uint32_t a : 4; uint8_t b; uint16_t c : 4; };
struct __attribute__((packed)) packed_zero { uint8_t a; int : 0; uint8_t b; };
#pragma pack(push, 1)
struct pragma_zero { uint8_t a; int : 0; uint8_t b; };
#pragma pack(pop)
#pragma pack(push, 2)
struct pragma2_zero { uint8_t a; int : 0; uint8_t b; };
#pragma pack(pop)
struct wide_zero { uint8_t a; uint64_t : 0; uint8_t b; };
/* Unnamed bit-fields are padding (C11 6.7.2.1p12): in a union they add to its size but not to its alignment, and
 * name no member, so two of them are no clash. */
union padded_flags { uint8_t flags; unsigned : 12; unsigned : 20; };
struct holds_padded_flags { uint8_t before; union padded_flags u; uint8_t after; };
struct unnamed_tail { uint8_t a; unsigned : 20; };
