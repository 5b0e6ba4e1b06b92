/* Plain structs: every scalar type, nested structs, arrays, enums, pointers, typedefs, #define sizes. */
#ifndef BASIC_H
#define BASIC_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NAME_LEN 12
#define N_VALUES (2 + 1)

enum color { RED = 1, GREEN = 2, BLUE = 4, ALIAS_BLUE = 4 };
typedef enum { SMALL = -1, LARGE = 1000000 } size_class_t;
enum big { BIG_ONE = 1, BIG_HUGE = 0x100000000 };

struct point { int16_t x; int16_t y; };
typedef struct point point_t;

struct scalars {
  char c; signed char sc; unsigned char uc;
  short s; unsigned short us;
  int i; unsigned u;
  long l; unsigned long ul;
  long long ll; unsigned long long ull;
  int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32; uint32_t u32; int64_t i64; uint64_t u64;
  float f; double d;
  bool flag; _Bool flag2;
  size_t sz; ptrdiff_t pd; intptr_t ip;
};

struct sample {
  uint16_t type;
  uint32_t seq;
  double value;
  char name[NAME_LEN];
  point_t at;
  struct point path[N_VALUES];
  enum color color;
  size_class_t klass;
  enum big big;
  const char *label;
  void (*callback)(int);
  uint8_t raw[5];
  int16_t grid[2][3];
};

int sample_init(struct sample *s, int flags);
extern const struct sample sample_default;
_Static_assert(sizeof(struct point) == 4, "point");

#ifdef __cplusplus
}
#endif
#endif
