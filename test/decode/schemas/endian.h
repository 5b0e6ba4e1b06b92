/* Explicit byte order: gcc's scalar_storage_order attribute. */
#include <stdint.h>

struct __attribute__((scalar_storage_order("big-endian"))) be_header {
  uint16_t type;
  uint32_t length;
  int64_t stamp;
  float ratio;
  double value;
  int16_t deltas[3];
};

struct __attribute__((scalar_storage_order("little-endian"))) le_record { uint32_t a; uint16_t b; };

struct __attribute__((scalar_storage_order("big-endian"))) be_outer {
  uint32_t id;
  struct be_header header;
};
