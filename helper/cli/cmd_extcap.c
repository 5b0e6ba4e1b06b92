/* `sipc extcap`: sipc as a Wireshark capture source (the extcap protocol) and its launcher's installer. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "recording.h"

#define EXTCAP_INTERFACE "sipc"
#if defined(_WIN32)
#define LAUNCHER_NAME "sipc-extcap.bat"
#define PATH_SEPARATOR "\\"
#else
#define LAUNCHER_NAME "sipc-extcap"
#define PATH_SEPARATOR "/"
#endif

/* ---- the extcap protocol ---- */

static int print_interfaces(void)
{
    printf("extcap {version=%s}{display=sipc: live traffic of shared-memory channels}\n", SIPC_CLI_VERSION);
    printf("interface {value=" EXTCAP_INTERFACE "}{display=sipc channels (shared memory)}\n");
    return fflush(stdout) == 0 ? SIPC_CLI_EXIT_OK : SIPC_CLI_EXIT_IO;
}

static int print_dlts(void)
{
    printf("dlt {number=%u}{name=USER0}{display=sipc messages (payload only; direction in the packet flags)}\n",
           CAPTURE_LINKTYPE_USER0);
    return fflush(stdout) == 0 ? SIPC_CLI_EXIT_OK : SIPC_CLI_EXIT_IO;
}

/* Config values must not contain the protocol's braces. */
static bool extcap_safe(const char *text)
{
    return strpbrk(text, "{}\n") == NULL;
}

static int print_channel_value(const char *name, void *user)
{
    bool *first = user;
    if (extcap_safe(name)) {
        printf("value {arg=0}{value=%s}{display=%s}{default=%s}\n", name, name, *first ? "true" : "false");
        *first = false;
    }
    return 0;
}

static int print_config(bool values_only)
{
    if (!values_only)
        printf("arg {number=0}{call=--channel}{display=Channel}{type=selector}{required=true}{reload=true}"
               "{tooltip=The sipc channel to watch (the live channels are listed; reload refreshes the list)}\n");
    if (!values_only)
        printf("arg {number=1}{call=--lossless}{display=Lossless}{type=boolflag}{default=false}"
               "{tooltip=The peers wait for this capture rather than overwrite a message it has not copied}\n");
    if (!values_only)
        printf("arg {number=2}{call=--no-events}{display=Messages only}{type=boolflag}{default=false}"
               "{tooltip=Leave out the peer events (attached, closed, died, missed), which are packets without "
               "payload with a comment and count as packets in capture limits}\n");
    bool first = true;
    int status = sipc_list(print_channel_value, &first);
    if (status != SIPC_OK)
        fprintf(stderr, "sipc: extcap: cannot list the channels: %s\n", sipc_strerror(status));
    return fflush(stdout) == 0 ? SIPC_CLI_EXIT_OK : SIPC_CLI_EXIT_IO;
}

static int capture(const char *command, const char *channel, const char *fifo, bool lossless, bool events)
{
    if (!channel || !channel[0]) {
        fprintf(stderr, "sipc: extcap: choose a channel (the interface's Channel option, or "
                        "-o extcap." EXTCAP_INTERFACE ".channel:NAME with tshark)\n");
        return SIPC_CLI_EXIT_USAGE;
    }
    if (!fifo)
        return cli_usage_error(command, "--capture needs --fifo PATH");
    sipc_observer *observer = NULL;
    sipc_observe_options observe_options;
    /* Peer events are written as `sipc record` writes them: packets without payload or direction, with a comment. */
    recording_observe_options(&observe_options, events, lossless, 0);
    int status = sipc_validate_name(channel);
    if (status == SIPC_OK)
        status = sipc_observe_ex(channel, &observe_options, &observer);
    if (status != SIPC_OK)
        return cli_fail(command, channel, status);
    /* Wireshark created the FIFO (on Windows a named pipe) and waits for the pcapng header. */
    FILE *file = cli_open_fifo(fifo);
    if (!file) {
        sipc_observer_close(observer);
        return cli_io_error(command, "cannot open %s: %s", fifo, strerror(errno));
    }
    const char *names[1] = {channel};
    recording_output output;
    int exit_code = -1;
    if (!recording_output_open_stream(&output, command, file, fifo, CAPTURE_PCAPNG, names, 1, &exit_code)) {
        fclose(file);
        sipc_observer_close(observer);
        return exit_code;
    }
    return recording_run(command, names, &observer, 1, &observe_options, &output, 0, 0, true, false);
}

/* ---- installing the launcher ---- */

static bool join_path(char *out, size_t size, const char *a, const char *b)
{
    int n = snprintf(out, size, "%s%s%s", a, PATH_SEPARATOR, b);
    return n > 0 && (size_t)n < size;
}

static bool is_directory(const char *path)
{
    char probe[4096];
    if (!join_path(probe, sizeof probe, path, "."))
        return false;
    FILE *file = fopen(probe, "rb"); /* opening "DIR/." for reading works for directories on POSIX */
    if (file)
        fclose(file);
    return file != NULL;
}

/* The folder Wireshark 4.2+ reads per user. */
static bool personal_folder(char *out, size_t size)
{
#if defined(_WIN32)
    const char *app_data = getenv("APPDATA");
    return app_data && join_path(out, size, app_data, "Wireshark\\extcap");
#else
    const char *home = getenv("HOME");
    return home && home[0] && join_path(out, size, home, ".local/lib/wireshark/extcap");
#endif
}

/* The global folder of an installed Wireshark: the first that exists of the usual places. */
static bool global_folder(char *out, size_t size)
{
#if defined(_WIN32)
    const char *program_files = getenv("ProgramFiles");
    return program_files && join_path(out, size, program_files, "Wireshark\\extcap") && is_directory(out);
#else
    static const char *const candidates[] = {"/usr/lib/x86_64-linux-gnu/wireshark/extcap",
                                             "/usr/lib/aarch64-linux-gnu/wireshark/extcap",
                                             "/usr/lib/arm-linux-gnueabihf/wireshark/extcap",
                                             "/usr/lib/wireshark/extcap",
                                             "/usr/lib64/wireshark/extcap",
                                             "/usr/local/lib/wireshark/extcap",
                                             "/Applications/Wireshark.app/Contents/MacOS/extcap",
                                             "/opt/homebrew/lib/wireshark/extcap"};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        if (is_directory(candidates[i]) && strlen(candidates[i]) < size) {
            memcpy(out, candidates[i], strlen(candidates[i]) + 1);
            return true;
        }
    }
    return false;
#endif
}

static int install(const char *command, bool uninstall, const char *folder_option, bool global)
{
    char folder[4096];
    if (folder_option) {
        if (strlen(folder_option) >= sizeof folder)
            return cli_usage_error(command, "--folder is too long");
        memcpy(folder, folder_option, strlen(folder_option) + 1);
    } else if (global) {
        if (!global_folder(folder, sizeof folder))
            return cli_io_error(command, "found no global Wireshark extcap folder; name it with --folder (tshark -G "
                                         "folders prints it as 'Extcap path')");
    } else if (!personal_folder(folder, sizeof folder)) {
        return cli_io_error(command, "cannot tell your home folder; name the extcap folder with --folder");
    }
    char launcher[4200];
    if (!join_path(launcher, sizeof launcher, folder, LAUNCHER_NAME))
        return cli_usage_error(command, "--folder is too long");
    if (uninstall) {
        if (!cli_remove_file(launcher))
            return cli_io_error(command, "cannot remove %s: %s", launcher, strerror(errno));
        printf("removed %s\n", launcher);
        return SIPC_CLI_EXIT_OK;
    }
    char self[4096];
    if (!cli_executable_path(self, sizeof self))
        return cli_io_error(command, "cannot tell where this sipc executable is");
    cli_buffer script = {0};
#if defined(_WIN32)
    bool ok = cli_buffer_printf(&script,
                                "@echo off\r\nrem sipc's Wireshark extcap launcher (sipc extcap install)\r\n"
                                "\"%s\" extcap %%*\r\n",
                                self);
#else
    /* Single quotes keep every character of the path; a quote itself becomes '\''. */
    bool ok = cli_buffer_append_str(&script, "#!/bin/sh\n# sipc's Wireshark extcap launcher, written by 'sipc extcap "
                                             "install'; 'sipc extcap uninstall' removes it.\nexec '");
    for (const char *p = self; ok && *p; p++)
        ok = *p == '\'' ? cli_buffer_append_str(&script, "'\\''") : cli_buffer_append(&script, p, 1);
    ok = ok && cli_buffer_append_str(&script, "' extcap \"$@\"\n");
#endif
    int exit_code = SIPC_CLI_EXIT_OK;
    if (!ok)
        exit_code = cli_io_error(command, "out of memory");
    else if (!cli_make_directories(folder))
        exit_code = cli_io_error(command, "cannot create %s: %s", folder, strerror(errno));
    else if (!cli_write_executable(launcher, script.data))
        exit_code = cli_io_error(command, "cannot write %s: %s", launcher, strerror(errno));
    cli_buffer_free(&script);
    if (exit_code != SIPC_CLI_EXIT_OK)
        return exit_code;
    printf("installed %s (it runs %s)\n", launcher, self);
    if (!folder_option && !global)
        printf("Wireshark 4.2 and later read this folder; older ones (e.g. Debian 12's 4.0) read only their global "
               "folder:\nrun 'sipc extcap install --global' as root, or --folder with the 'Extcap path' of "
               "'tshark -G folders'.\n");
    return SIPC_CLI_EXIT_OK;
}

int cmd_extcap(const cli_command *command, int argc, char **argv)
{
    bool interfaces = false, dlts = false, config = false, capturing = false, debug = false, global = false;
    bool lossless = false, no_events = false;
    const char *version = NULL, *interface = NULL, *reload = NULL, *fifo = NULL, *filter = NULL, *channel = NULL;
    const char *control_in = NULL, *control_out = NULL, *debug_file = NULL, *folder = NULL;
    const cli_option options[] = {
        {"extcap-interfaces", CLI_OPT_FLAG, &interfaces, NULL, 0, 0, NULL},
        {"extcap-version", CLI_OPT_STRING, &version, NULL, 0, 0, NULL},
        {"extcap-interface", CLI_OPT_STRING, &interface, NULL, 0, 0, NULL},
        {"extcap-dlts", CLI_OPT_FLAG, &dlts, NULL, 0, 0, NULL},
        {"extcap-config", CLI_OPT_FLAG, &config, NULL, 0, 0, NULL},
        {"extcap-reload-option", CLI_OPT_STRING, &reload, NULL, 0, 0, NULL},
        {"capture", CLI_OPT_FLAG, &capturing, NULL, 0, 0, NULL},
        {"fifo", CLI_OPT_STRING, &fifo, NULL, 0, 0, NULL},
        {"extcap-capture-filter", CLI_OPT_STRING, &filter, NULL, 0, 0, NULL},
        {"extcap-control-in", CLI_OPT_STRING, &control_in, NULL, 0, 0, NULL},
        {"extcap-control-out", CLI_OPT_STRING, &control_out, NULL, 0, 0, NULL},
        {"debug", CLI_OPT_FLAG, &debug, NULL, 0, 0, NULL},
        {"debug-file", CLI_OPT_STRING, &debug_file, NULL, 0, 0, NULL},
        {"channel", CLI_OPT_STRING, &channel, NULL, 0, 0, NULL},
        {"lossless", CLI_OPT_FLAG, &lossless, NULL, 0, 0, NULL},
        {"no-events", CLI_OPT_FLAG, &no_events, NULL, 0, 0, NULL},
        {"folder", CLI_OPT_STRING, &folder, NULL, 0, 0, NULL},
        {"global", CLI_OPT_FLAG, &global, NULL, 0, 0, NULL},
    };
    const char *positional[1];
    size_t count = 0;
    int rc = cli_parse(command, argc, argv, options, sizeof options / sizeof options[0], positional, 0, 1, &count);
    if (rc >= 0)
        return rc;
    if (count == 1) {
        bool uninstall = strcmp(positional[0], "uninstall") == 0;
        if (!uninstall && strcmp(positional[0], "install") != 0)
            return cli_usage_error(command->name, "unknown action '%s' (install or uninstall)", positional[0]);
        if (folder && global)
            return cli_usage_error(command->name, "give --folder or --global, not both");
        return install(command->name, uninstall, folder, global);
    }
    if (interfaces)
        return print_interfaces();
    if (interface && strcmp(interface, EXTCAP_INTERFACE) != 0) {
        fprintf(stderr, "sipc: extcap: unknown interface '%s' (this source has '" EXTCAP_INTERFACE "')\n", interface);
        return SIPC_CLI_EXIT_USAGE;
    }
    if (dlts)
        return print_dlts();
    if (config)
        return print_config(reload != NULL);
    if (capturing) {
        if (filter && filter[0])
            fprintf(stderr, "sipc: extcap: capture filters are not supported; use a display filter\n");
        return capture(command->name, channel, fifo, lossless, !no_events);
    }
    return cli_usage_error(command->name, "nothing to do: install, uninstall or an extcap request");
}
