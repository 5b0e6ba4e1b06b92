/* The `sipc` command: dispatch, help and version. */
#include "cli.h"
#include "cli_schema.h"

#include <string.h>

static const cli_command commands[] = {
    {"connect", cmd_connect, "join a channel: stdin lines become messages, received messages go to stdout",
     "usage: sipc connect NAME [--raw] [--file F] [--format raw|hex|text|json] [--json] [--timeout MS]\n"
     "                         [--linger MS] [--max-size BYTES] [--depth N]\n"
     "\n"
     "Opens the channel (creating it if needed), waits for the peer, then sends stdin and prints\n"
     "what the peer sends, like netcat. One thread sends, another receives.\n"
     "\n"
     "  --raw            send stdin in chunks of up to the channel's max message size instead of\n"
     "                   one message per line; received messages are written without separators\n"
     "  --file F         send file F as one message instead of reading stdin\n"
     "  --format FMT     how received messages are written (default text: message + newline;\n"
     "                   raw with --raw); --json is --format json\n"
     "  --timeout MS     how long to wait for the peer to connect (default inf)\n"
     "  --linger MS      after stdin ends and the peer took every message, keep printing replies\n"
     "                   until none arrived for MS (default 500; inf waits until the peer leaves)\n"
     "  --max-size BYTES, --depth N  message size limit and queue depth if this command creates\n"
     "                   the channel (default 64k and 16; when attaching, the channel's own apply)\n"
     "\n"
     "Ends at stdin EOF + drain + linger, when the peer leaves (its queued messages are printed\n"
     "first), or on SIGINT/SIGTERM.\n"},
    {"send", cmd_send, "send one message (text, file or hex) and wait until it is queued",
     "usage: sipc send NAME (TEXT | --file F | --hex HEX) [--timeout MS] [--max-size BYTES] [--depth N]\n"
     "\n"
     "Sends one message and returns once it is in the peer's queue (the peer may leave later;\n"
     "queued messages are still delivered). Waits for a peer if none is attached.\n"
     "\n"
     "  TEXT             the message bytes, as given (no newline is added)\n"
     "  --file F         the whole content of file F ('-' for stdin)\n"
     "  --hex HEX        bytes written as hex digits, e.g. 'de ad be ef' or 0xdeadbeef\n"
     "  --timeout MS     give up when no peer connects or the queue stays full this long (default inf)\n"
     "  --max-size BYTES, --depth N  message size limit and queue depth if this command creates\n"
     "                   the channel (default 64k and 16; when attaching, the channel's own apply)\n"},
    {"recv", cmd_recv, "receive messages and print them, serving one peer after another",
     "usage: sipc recv NAME [--count N] [--format raw|hex|text|json] [--json] [--timeout MS]\n"
     "                      [--max-size BYTES] [--depth N] [--schema FILE.h (--type T | --tag TYPE@OFF --cases L)]\n"
     "\n"
     "Receives messages and writes them to stdout. Like `nc -lk`, when a peer leaves it keeps the\n"
     "channel and serves the next one, until --count messages arrived or nothing arrived for MS.\n"
     "\n"
     "  --count N        stop after N messages (exit 3 TIMEOUT if fewer arrive in time)\n"
     "  --format FMT     text (default): message + newline; raw: bytes only; hex: hex + newline;\n"
     "                   json: {\"index\":0,\"length\":5,\"text\":\"hello\"} per line (\"hex\" instead of\n"
     "                   \"text\" when the message is not UTF-8); --json is --format json\n"
     "  --timeout MS     stop when no message arrives for MS (default inf); without --count that is\n"
     "                   success if at least one message arrived\n"
     "  --max-size BYTES, --depth N  message size limit and queue depth if this command creates\n"
     "                   the channel (default 64k and 16; when attaching, the channel's own apply)\n"
     "\n"
     "With --schema each message is printed as its fields (text: one \"  path = value\" line each;\n"
     "json: \"type\" and \"fields\" in each object, \"problems\" when it does not fit; see 'sipc help "
     "decode'):\n" CLI_SCHEMA_HELP},
    {"echo", cmd_echo, "an echo peer: sends every message back, serving one peer after another",
     "usage: sipc echo NAME [--count N] [--timeout MS] [--max-size BYTES] [--depth N]\n"
     "\n"
     "Sends each received message back to its sender. Serves successive peers like `nc -lk`.\n"
     "\n"
     "  --count N        stop after echoing N messages\n"
     "  --timeout MS     stop when no message arrives for MS (default inf)\n"
     "  --max-size BYTES, --depth N  message size limit and queue depth if this command creates\n"
     "                   the channel (default 64k and 16; when attaching, the channel's own apply)\n"},
    {"ls", cmd_ls, "list every sipc channel on this machine",
     "usage: sipc ls [--json]\n"
     "\n"
     "One line per channel: state, server and client pids (* = process gone), queue fill and\n"
     "message counters per direction. Channels nobody alive is attached to are marked stale.\n"
     "Entries of the shared-memory namespace that cannot be used (not a sipc segment, e.g. a FIFO;\n"
     "corrupt; unreadable; locked) are listed as 'unusable' with the reason; listing never waits.\n"
     "\n"
     "  --json           one JSON object per channel per line\n"},
    {"stat", cmd_stat, "show everything about one channel", "usage: sipc stat NAME [--json]\n"},
    {"tap", cmd_tap, "watch a channel's live traffic in both directions (read-only)",
     "usage: sipc tap NAME [--format text|hex|json] [--json] [--count N] [--timeout MS] [--preview N]\n"
     "                     [--lossless [--stall-timeout MS]] [--events] [--follow] [--quiet] [--stats]\n"
     "                     [--schema FILE.h (--type T | --tag TYPE@OFF --cases LIST [--default T])]\n"
     "\n"
     "Prints each message sent on the channel from now on, without consuming it:\n"
     "  12:00:01.123456 client->server #0 5 B \"hello\"\n"
     "and \"missed N\" lines when the observer fell behind.\n"
     "\n"
     "  --format FMT     text (default, with a preview), hex (full payload in hex) or json\n"
     "  --json           same as --format json: {\"dir\":\"client->server\",\"seq\":0,\"time\":...,\n"
     "                   \"length\":5,\"missed\":0,\"text\":\"hello\"} per line\n"
     "  --count N        stop after N messages\n"
     "  --timeout MS     stop when nothing was sent for MS (default inf)\n"
     "  --preview N      characters of preview in text format (default 60)\n"
     "  --lossless       the peers never overwrite a message the tap has not copied: nothing is missed,\n"
     "                   and the peers go at most at the tap's pace (a tap that stops reading for\n"
     "                   --stall-timeout MS, default 1000, max 10000, is dropped and goes on as a plain tap)\n"
     "  --events         also print peers attaching, closing and dying (with pid), and a lossless drop:\n"
     "                   12:00:01.123456 event client attached pid 4242 (session 1)\n"
     "                   json: {\"event\":\"attached\",\"role\":\"client\",\"pid\":4242,\"session\":1,...}\n"
     "  --follow         when the channel is removed, wait for its name to come back and observe it again\n"
     "                   (event lines \"removed\" and \"reattached\"; what the new channel carried before\n"
     "                   counts as missed)\n"
     "  --quiet          do not print the \"watching\" line on stderr when the tap starts\n"
     "  --stats          at the end, print on stderr what the observer did and why it missed what it\n"
     "                   missed: \"sipc: tap NAME: stats {...}\" (sipc_observer_get_stats, one JSON object)\n"
     "\n"
     "With --schema each message's fields follow its line (text: \"  path = value\" lines; json: \"type\",\n"
     "\"fields\" and \"problems\" keys; see 'sipc help decode'):\n" CLI_SCHEMA_HELP},
    {"decode", cmd_decode, "decode messages given in hex with a C-struct schema (as tap/recv --schema do)",
     "usage: sipc decode --schema FILE.h (--type T | --tag TYPE@OFF --cases LIST [--default T])\n"
     "                   [--hex HEX | --file F] [--json] [--target T] [--endian little|big]\n"
     "\n"
     "Decodes one message (--hex, --file) or one message per stdin line in hex (what tap/recv\n"
     "--format hex print) with the same rules as the VS Code extension's decoder:\n"
     "  #0 24 B\n"
     "    type struct sample\n"
     "    seq = 7\n"
     "    color = RED (1)\n"
     "A message that does not fit is decoded as far as it goes and says why (\"  problem TOO_SHORT: ...\";\n"
     "also TRAILING_BYTES, BAD_ENUM, BAD_BOOL, UNKNOWN_TAG). JSON: {\"index\":0,\"length\":24,\"type\":\n"
     "\"struct sample\",\"fields\":{\"seq\":7,\"color\":\"RED\",...},\"problems\":[...]}: enums by name (a number\n"
     "when the value has none), char arrays as text, 64-bit integers and pointers as strings, a missing\n"
     "field as null. A schema that cannot be laid out exactly is refused with file:line and the\n"
     "construct (exit 1).\n"
     "\n" CLI_SCHEMA_HELP},
    {"record", cmd_record, "record channels' traffic to pcapng or JSON Lines (read-only, like tap)",
     "usage: sipc record NAME... -o FILE [--format pcapng|jsonl] [--count N] [--duration D]\n"
     "                   [--rotate-size BYTES] [--rotate-time D] [--lossless [--stall-timeout MS]] [--quiet]\n"
     "                   [--stats]\n"
     "\n"
     "Observes one or more channels (never consuming their traffic) and writes every message with\n"
     "its direction and nanosecond timestamp, plus events (messages the observer missed, discarded\n"
     "messages, the channel removed and back). Ends after --count messages, after --duration, or on\n"
     "SIGINT/SIGTERM (exit 0): the file is always complete.\n"
     "\n"
     "  -o, --output FILE  where to write; '-' is stdout (e.g. | wireshark -k -i -)\n"
     "  --format F       pcapng (default; Wireshark, tshark) or jsonl (default for .jsonl/.ndjson/.json):\n"
     "                   pcapng has one interface per channel (LINKTYPE_USER0), direction flags\n"
     "                   (outbound = client->server) and events as packet comments; JSON Lines has one\n"
     "                   object per message with base64 \"data\" and \"text\" when it is UTF-8\n"
     "  --count N        stop after N messages (all channels together)\n"
     "  --duration D     stop after D (250ms, 90s, 30m, 12h)\n"
     "  --rotate-size B  start a new file when one reaches B bytes (64k, 100m): FILE-00001.pcapng, ...\n"
     "  --rotate-time D  start a new file every D\n"
     "  --lossless       the peers never overwrite a message the recorder has not copied (they wait for\n"
     "                   it, at most --stall-timeout MS each time, default 1000, before dropping it)\n"
     "  --quiet          no progress lines on stderr\n"
     "  --stats          at the end, print on stderr per channel what its observer did and why it missed\n"
     "                   what it missed: \"sipc: record NAME: stats {...}\" (as tap --stats)\n"
     "\n"
     "Without --lossless the observer copies messages while the peers run; on a channel busier than it\n"
     "can follow it records 'missed' events with the number lost. Peer events (attached, closed, died)\n"
     "are recorded too.\n"},
    {"replay", cmd_replay, "play one side of a recording into a channel; --expect checks the answers",
     "usage: sipc replay FILE --to NAME [--direction to-server|to-client] [--speed X | --as-fast-as-possible]\n"
     "                        [--expect] [--junit FILE] [--timeout MS] [--linger MS] [--channel REC]\n"
     "       sipc replay FILE --list\n"
     "\n"
     "Sends the recorded messages of one direction into channel NAME with their recorded timing and\n"
     "receives what the other side answers. Each message waits (up to --timeout) for the answers\n"
     "recorded before it, then keeps its recorded distance to the latest of them.\n"
     "\n"
     "  --to NAME        the channel to play into\n"
     "  --direction D    to-server (default): play the client's messages, as the client of a running\n"
     "                   server; to-client: play the server's messages, as the server (the name must be\n"
     "                   free; a client connects to it)\n"
     "  --speed X        scale the recorded pauses (2 = twice as fast); --as-fast-as-possible: no pauses\n"
     "  --expect         compare the answers with the recording byte for byte; on a difference print\n"
     "                   each one (expected, got, first differing byte) and exit 30\n"
     "  --junit FILE     write a JUnit XML report (one test case per recorded answer); implies --expect\n"
     "  --timeout MS     how long an answer may take (default 5000)\n"
     "  --linger MS      after the last answer, how long to wait for unexpected extra ones (default 200)\n"
     "  --channel REC    which recorded channel to replay when the file holds several\n"
     "  --list           print the recording (messages and events) and exit\n"},
    {"extcap", cmd_extcap, "Wireshark capture source: live traffic of a channel in Wireshark/tshark",
     "usage: sipc extcap install [--folder DIR | --global]\n"
     "       sipc extcap uninstall [--folder DIR | --global]\n"
     "       sipc extcap --extcap-interfaces | --extcap-interface sipc (--extcap-dlts | --extcap-config |\n"
     "                   --capture --fifo PATH --channel NAME [--lossless] [--no-events])\n"
     "\n"
     "'install' writes a small launcher (sipc-extcap, on Windows sipc-extcap.bat) that runs this sipc\n"
     "into Wireshark's personal extcap folder (~/.local/lib/wireshark/extcap, Windows\n"
     "%APPDATA%\\Wireshark\\extcap: read by Wireshark 4.2 and later). Older versions (Debian 12's 4.0)\n"
     "read only their global folder: use --global (as root) or --folder with the 'Extcap path' that\n"
     "'tshark -G folders' names. Then Wireshark lists the interface 'sipc'; its option 'Channel' lists\n"
     "the live channels. tshark: tshark -i sipc -o extcap.sipc.channel:NAME -w out.pcapng\n"
     "Peer events (attached, closed, died, missed) are packets without payload, with a comment, as in\n"
     "'sipc record'; --no-events (option 'Messages only') leaves them out of the capture.\n"
     "\n"
     "The other forms are the extcap protocol Wireshark speaks with the launcher.\n"},
    {"rm", cmd_rm, "remove channels by name, or every stale channel",
     "usage: sipc rm [--force] [--timeout MS] [--] NAME...\n"
     "       sipc rm --stale [--older-than DURATION] [--timeout MS]\n"
     "\n"
     "Removes the channels' names (any number of them). Refused (exit 5 BUSY) while a live process\n"
     "is attached, unless --force. Processes still attached keep working on their mapping. --force\n"
     "also removes what squats a channel's name without being a channel (a FIFO, a corrupt segment).\n"
     "'--' ends the options: names after it may start with '-'.\n"
     "\n"
     "  --timeout MS     wait at most MS for each channel's lock (default 5000), then TIMEOUT\n"
     "  --stale          remove every channel that no live process is attached to (prints each name)\n"
     "  --older-than D   with --stale: only those idle (no message, not created) for at least D,\n"
     "                   e.g. 90s, 30m, 12h, 7d\n"},
#if defined(__linux__) /* POSIX pipes and socket pairs with fork(), and Linux CPU affinity */
    {"bench", cmd_bench, "measure sipc against a pipe, a Unix socket and memcpy",
     "usage: sipc bench [--quick] [--runs N] [--sessions N] [--json [FILE]]\n"
     "\n"
     "Round-trip latency (median, p99) at 64 B, 4 KiB, 64 KiB and 1 MiB and one-way throughput at\n"
     "64 KiB and 1 MiB for sipc, a pipe pair and a Unix socket pair (two processes, fork), memcpy\n"
     "bandwidth as the ceiling, pinned (same / split CPU) and unpinned, and the CPU an idle\n"
     "connected channel uses. Then sessions from fresh processes (64 B request/reply of 100, 1,000\n"
     "and 10,000 round trips, a stream acknowledged every 16 messages, requests after 10-100 us of\n"
     "work): the distribution of the session medians and p90s, and sipc's sleeps per round trip.\n"
     "Prints PASS/MISS per target; exits 0 either way.\n"
     "\n"
     "  --quick          fewer runs, shorter streams and 8 sessions per figure (same session lengths)\n"
     "  --runs N         repetitions per measurement (medians are reported)\n"
     "  --sessions N     fresh-process sessions per session figure (default 20, --quick 8)\n"
     "  --json [FILE]    write every figure as JSON to FILE, or to stdout instead of the table\n"},
#endif
};

static const size_t command_count = sizeof commands / sizeof commands[0];

static const cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < command_count; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void print_main_help(FILE *out)
{
    fputs("sipc — named, synchronous, shared-memory channels between processes\n"
          "\n"
          "usage: sipc COMMAND [ARGS...]     sipc help COMMAND     sipc --version\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < command_count; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "Channel names: 1..200 characters of [A-Za-z0-9._-], not starting with '.'; '--' ends\n"
          "the options, so names after it may start with '-' (sipc rm -- -old).\n"
          "Sizes accept k/m suffixes (64k, 1m). Timeouts are milliseconds or 'inf'. --timeout also bounds\n"
          "each wait for a channel's lock when opening, closing or removing it (without --timeout: 5 s).\n"
          "\n"
          "Exit codes:\n"
          "  0  success                         10 INVALID_ARGUMENT: option out of range\n"
          "  1  bad command line                11 BUFFER_TOO_SMALL\n"
          "  2  local I/O error (file, stdout)  12 NOT_FOUND: no channel of that name\n"
          "  3  TIMEOUT: the wait ran out       13 CORRUPT: the shared segment is damaged\n"
          "  4  PEER_GONE: the peer left        14 VERSION: incompatible protocol version\n"
          "  5  BUSY: both roles are taken      15 PERMISSION: the OS refused access\n"
          "  6  TOO_BIG: message too large      16 NO_MEMORY\n"
          "  7  CANCELLED                       17 MISMATCH: exists with other options\n"
          "  8  CLOSED                          18 NOT_CONNECTED\n"
          "  9  INVALID_NAME                    19 SYSTEM: another OS error\n"
          "                                     20 NOT_A_CHANNEL: the name leads to something else\n"
          "  30 replay --expect: the answers differ from the recording\n"
          "  130/143  stopped by SIGINT/SIGTERM\n"
          "(A library status S exits with 2 + |S|.)\n",
          out);
}

int main(int argc, char **argv)
{
    cli_note_starter();
    if (argc < 2) {
        print_main_help(stderr);
        return SIPC_CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_main_help(stdout);
        return SIPC_CLI_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        printf("sipc %s (libsipc %s, protocol %d.%d)\n", SIPC_CLI_VERSION, sipc_version(), SIPC_VERSION_MAJOR,
               SIPC_VERSION_MINOR);
        return SIPC_CLI_EXIT_OK;
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            print_main_help(stdout);
            return SIPC_CLI_EXIT_OK;
        }
        const cli_command *command = find_command(argv[2]);
        if (!command) {
            fprintf(stderr, "sipc: help: unknown command '%s' (see 'sipc --help')\n", argv[2]);
            return SIPC_CLI_EXIT_USAGE;
        }
        cli_print_command_help(command, stdout);
        return SIPC_CLI_EXIT_OK;
    }
    const cli_command *command = find_command(name);
    /* A launcher may run this binary directly with Wireshark's arguments. */
    if (!command && strncmp(name, "--extcap-", 9) == 0) {
        cli_signals_install();
        return cmd_extcap(find_command("extcap"), argc, argv);
    }
    if (!command) {
        fprintf(stderr, "sipc: unknown command '%s' (see 'sipc --help')\n", name);
        return SIPC_CLI_EXIT_USAGE;
    }
    cli_signals_install();
    return command->run(command, argc - 1, argv + 1);
}
