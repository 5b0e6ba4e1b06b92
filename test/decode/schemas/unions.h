/* Unions, anonymous members, nested records, flexible array members. */
#include <stdint.h>

union number { int32_t i; float f; uint8_t bytes[4]; };

struct tagged_value {
  uint8_t kind;
  union { int64_t i; double d; char s[6]; };
  struct { uint16_t lo; uint16_t hi; };
  union number n;
};

struct nested {
  struct inner { uint8_t a; struct deepest { uint32_t x; uint8_t y; } d; } in;
  struct inner more[2];
  union { struct { uint8_t r, g, b; } rgb; uint32_t packed; } colour;
};

struct frame { uint16_t count; uint16_t pad; uint32_t items[]; };
struct text_frame { uint8_t len; char text[]; };
