/* Following a channel by name across its removal: wait for the name to lead to a channel again, then observe it. */
#include "cli_follow.h"

#include "cli.h"

/* The longest wait between checks for a stop (a signal, the caller's stopping) while the key monitor is quiet. */
#define FOLLOW_SLICE_MS 100

int cli_observe_when_back(const char *name, const sipc_observe_options *options, const cli_follow_wait *wait,
                          sipc_observer **observer)
{
    *observer = NULL;
    sipc_os_key_monitor *monitor = NULL;
    if (sipc_os_key_monitor_open(&monitor) != SIPC_OK)
        monitor = NULL;
    int status;
    for (;;) {
        if (cli_stop_signal() != 0 || (wait->stopping != NULL && wait->stopping(wait->context))) {
            status = SIPC_ERR_CANCELLED;
            break;
        }
        status = sipc_observe_ex(name, options, observer);
        if (status == SIPC_OK || (status != SIPC_ERR_NOT_FOUND && !wait->retry_failures))
            break;
        int32_t left = sipc_deadline_ms_left(wait->deadline);
        if (left == 0) {
            status = SIPC_ERR_TIMEOUT;
            break;
        }
        int32_t slice = left == SIPC_INFINITE || left > FOLLOW_SLICE_MS ? FOLLOW_SLICE_MS : left;
        if (monitor == NULL || sipc_os_key_monitor_wait(monitor, slice) == SIPC_ERR_CANCELLED)
            sipc_os_sleep_us((uint32_t)slice * 1000u);
    }
    if (monitor != NULL)
        sipc_os_key_monitor_close(monitor);
    return status;
}
