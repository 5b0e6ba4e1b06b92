// The C++ peer of the interoperability matrix, on sipc.hpp (same command line as peer.c).
#include "sipc.hpp"
#include "stream.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {

struct stream {
    interop_stream s{};
    stream(std::uint32_t seed, std::uint32_t max, bool no_newline)
    {
        if (interop_stream_init(&s, seed, max, no_newline ? 1 : 0) != 0) throw std::bad_alloc();
    }
    ~stream() { interop_stream_free(&s); }
    stream(const stream &) = delete;
    stream &operator=(const stream &) = delete;
    sipc::const_bytes next()
    {
        std::uint32_t length = 0;
        const std::uint8_t *data = interop_stream_message(&s, &length);
        return {data, length};
    }
};

bool same(const sipc::message &m, sipc::const_bytes expected)
{
    return m.size() == expected.size() && (m.empty() || std::memcmp(m.data(), expected.data(), m.size()) == 0);
}

std::uint32_t arg(char **argv, int i) { return static_cast<std::uint32_t>(std::stoul(argv[i])); }

int exchange(char **argv)
{
    sipc::channel ipc(argv[2], {.max_message_size = arg(argv, 3), .queue_depth = arg(argv, 4)});
    ipc.connect(60s);
    const std::uint32_t count = arg(argv, 5), max = ipc.max_message_size();
    stream outgoing(arg(argv, 6), max, arg(argv, 8) != 0), expected(arg(argv, 7), max, arg(argv, 9) != 0);
    std::string send_error;
    std::thread sender([&] {
        try {
            for (std::uint32_t i = 0; i < count; i++) ipc.send(outgoing.next(), 60s);
        } catch (const sipc::error &e) {
            send_error = e.what();
        }
    });
    int result = 0;
    try {
        for (std::uint32_t i = 0; i < count && result == 0; i++) {
            const sipc::message m = ipc.recv(60s);
            const sipc::const_bytes want = expected.next();
            if (!same(m, want)) {
                std::printf("mismatch at message %u: %zu bytes, expected %zu\n", i, m.size(), want.size());
                result = 1;
            }
        }
    } catch (const sipc::error &e) {
        std::printf("recv: %s\n", e.name());
        result = 1;
    }
    if (result != 0) ipc.cancel();
    sender.join();
    if (result == 0 && !send_error.empty()) {
        std::printf("send: %s\n", send_error.c_str());
        result = 1;
    }
    if (result == 0) std::printf("ok exchanged %u each way\n", count);
    return result;
}

int wait_gone(char **argv)
{
    sipc::channel ipc(argv[2]);
    ipc.connect(60s);
    std::printf("connected\n");
    std::fflush(stdout);
    try {
        for (;;) ipc.recv();
    } catch (const sipc::error &e) {
        std::printf("%s\n", e.name());
        return e.status_code() == sipc::status::peer_gone ? 0 : 1;
    }
}

int observe(char **argv)
{
    sipc::observer observer(argv[2]);
    const std::uint32_t count = arg(argv, 3), max = observer.info().max_message_size;
    stream to_client(arg(argv, 4), max, arg(argv, 6) != 0), to_server(arg(argv, 5), max, arg(argv, 7) != 0);
    std::uint64_t next_index[2] = {0, 0}, seen = 0, missed = 0;
    std::printf("watching\n");
    std::fflush(stdout);
    for (const sipc::observed_message &m : observer) {
        const int d = m.direction == sipc::direction::to_server ? 1 : 0;
        stream &s = d == 1 ? to_server : to_client;
        sipc::const_bytes want;
        while (next_index[d] <= m.sequence) { // skip what was missed
            want = s.next();
            next_index[d]++;
        }
        if (m.length != want.size() || !same(m.data, want)) {
            std::printf("observed message %d/%llu differs\n", d, static_cast<unsigned long long>(m.sequence));
            return 1;
        }
        seen++;
        missed += m.missed;
        if (seen + missed >= 2ull * count) break;
    }
    if (seen + missed < 2ull * count) {
        std::printf("the channel went away after %llu messages\n", static_cast<unsigned long long>(seen + missed));
        return 1;
    }
    std::printf("ok observed %llu missed %llu\n", static_cast<unsigned long long>(seen),
                static_cast<unsigned long long>(missed));
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    std::setvbuf(stdout, nullptr, _IOLBF, 0);
    try {
        const std::string mode = argc > 1 ? argv[1] : "";
        if (argc == 10 && mode == "exchange") return exchange(argv);
        if (argc == 3 && mode == "wait-gone") return wait_gone(argv);
        if (argc == 8 && mode == "observe") return observe(argv);
    } catch (const sipc::error &e) {
        std::printf("%s: %s\n", e.name(), e.what());
        return 1;
    }
    std::fprintf(stderr, "usage: see test/interop/peers/peer.c\n");
    return 2;
}
