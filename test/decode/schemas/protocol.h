/* A protocol as it is sent over sipc: every message starts with its type. */
#include <stdint.h>

enum msg_type { MSG_HELLO = 1, MSG_SAMPLE = 2, MSG_BYE = 3 };

struct hello { uint16_t type; uint16_t version; char name[16]; };
struct sample { uint16_t type; uint16_t channel; uint32_t seq; double value; };
struct bye { uint16_t type; uint8_t reason; };
