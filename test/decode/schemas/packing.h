/* #pragma pack, packed and aligned attributes, _Alignas. */
#include <stdint.h>

#pragma pack(push, 1)
struct packed1 { uint8_t a; uint32_t b; uint16_t c; double d; };
#pragma pack(push, 2)
struct packed2 { uint8_t a; uint32_t b; uint8_t c; uint64_t d; };
#pragma pack(pop)
struct still1 { uint8_t a; uint64_t b; };
#pragma pack(pop)
struct natural { uint8_t a; uint64_t b; };

#pragma pack(4)
struct packed4 { uint8_t a; double b; uint16_t c; };
#pragma pack()

struct __attribute__((packed)) attr_packed { uint8_t a; uint32_t b; uint16_t c; };
struct attr_packed_after { uint8_t a; uint64_t b; } __attribute__((__packed__));
struct member_packed { uint8_t a; uint32_t b __attribute__((packed)); uint16_t c; };
struct aligned_member { uint8_t a; uint32_t b __attribute__((aligned(16))); uint8_t c; };
struct __attribute__((aligned(8))) aligned_record { uint8_t a; };
struct has_aligned_record { uint8_t a; struct aligned_record r; uint8_t c; };
struct alignas_member { uint8_t a; _Alignas(8) uint16_t b; uint8_t c; };
typedef struct __attribute__((packed)) { uint8_t kind; struct natural inner; uint16_t tail; } packed_outer_t;
struct padded_tail { uint32_t a; uint8_t b; };
struct array_of_padded { uint8_t n; struct padded_tail items[3]; };
