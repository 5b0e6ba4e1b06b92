/*
 * process.c — sipc_process_describe: what tools show of the processes holding a channel's roles (name, stopped
 * or running, traced). The platform layer reads the OS; this file checks the arguments and sanitises the name.
 */
#include "platform.h"

#include <string.h>

int sipc_process_describe(int64_t pid, sipc_process_info *info)
{
    if (info == NULL || info->struct_size < sizeof(sipc_process_info) || pid <= 0)
        return SIPC_ERR_INVALID_ARGUMENT;
    memset(info, 0, sizeof *info);
    info->struct_size = (uint32_t)sizeof *info;
    info->state = SIPC_PROCESS_UNKNOWN;
    sipc_os_process_describe(pid, info);
    /* Another process chose its name: keep it one printable ASCII line for terminals and UIs. */
    info->name[SIPC_PROCESS_NAME_MAX] = '\0';
    for (char *c = info->name; *c != '\0'; c++) {
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
            *c = '?';
    }
    return SIPC_OK;
}
