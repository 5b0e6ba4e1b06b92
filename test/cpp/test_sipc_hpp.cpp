// Tests of the C++ wrapper (helper/include/sipc.hpp) against real peers: this binary re-executed as a
// second process ("peer MODE NAME"). Built with g++ and clang++, plain and under ASan+UBSan (make test-cpp).
#include "sipc.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

extern char **environ;

using namespace std::chrono_literals;

namespace {

int failures = 0;
int passes = 0;

#define EXPECT(cond)                                                                                   \
    do {                                                                                               \
        if (!(cond)) throw std::runtime_error(std::string(__FILE__ ":") + std::to_string(__LINE__) +   \
                                              ": expected " #cond);                                    \
    } while (0)

// Runs `body` and expects it to throw sipc::error with status `expected`.
void expect_error(sipc::status expected, const std::function<void()> &body, int line)
{
    try {
        body();
    } catch (const sipc::error &e) {
        if (e.status_code() == expected) return;
        throw std::runtime_error("line " + std::to_string(line) + ": got " + e.name() + ", expected " +
                                 sipc::status_name(expected) + ": " + e.what());
    }
    throw std::runtime_error("line " + std::to_string(line) + ": no error, expected " + sipc::status_name(expected));
}
#define EXPECT_ERROR(status, ...) expect_error(status, [&] { __VA_ARGS__; }, __LINE__)

std::string unique_name(const char *label)
{
    static int counter = 0;
    return std::string("tcpp-") + label + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

// A second process: this binary with "peer MODE NAME".
struct peer_process {
    pid_t pid = -1;
    peer_process(const char *mode, const std::string &name)
    {
        std::string self = "/proc/self/exe";
        std::vector<std::string> args = {"sipc-hpp-peer", "peer", mode, name};
        std::vector<char *> argv;
        for (auto &a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
            throw std::runtime_error("posix_spawn failed");
    }
    int wait()
    {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0) {
        }
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    void kill9() const { ::kill(pid, SIGKILL); }
    ~peer_process()
    {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            wait();
        }
    }
};

// Deterministic random bytes, so both processes know every message without exchanging it.
std::vector<std::uint8_t> payload(std::uint32_t seed, std::uint32_t index, std::uint32_t max)
{
    std::uint32_t x = seed * 2654435761u + index * 40503u + 1u;
    auto next = [&x] {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        return x;
    };
    std::vector<std::uint8_t> data(next() % (max + 1));
    for (auto &b : data) b = static_cast<std::uint8_t>(next());
    return data;
}

bool same(const sipc::message &m, const std::vector<std::uint8_t> &expected)
{
    return m.size() == expected.size() && (expected.empty() || std::memcmp(m.data(), expected.data(), m.size()) == 0);
}

constexpr std::uint32_t kMessages = 2000;
constexpr std::uint32_t kMaxSize = 3000;

// ---- peer side ----

int run_peer(const std::string &mode, const std::string &name)
{
    sipc::channel ipc(name);
    ipc.connect(10s);
    if (mode == "echo") {
        // Answers every message until the other side leaves.
        for (;;) {
            std::optional<sipc::message> m;
            try {
                m = ipc.try_recv(sipc::forever);
            } catch (const sipc::error &e) {
                return e.status_code() == sipc::status::peer_gone ? 0 : 2;
            }
            ipc.send(*m, 10s);
        }
    }
    if (mode == "exchange") {
        // Sends kMessages random-size messages while receiving as many, checking every byte.
        std::thread sender([&] {
            for (std::uint32_t i = 0; i < kMessages; i++) ipc.send(payload(2, i, kMaxSize), 10s);
        });
        int bad = 0;
        for (std::uint32_t i = 0; i < kMessages; i++)
            if (!same(ipc.recv(10s), payload(1, i, kMaxSize))) bad++;
        sender.join();
        ipc.recv(10s); // the other side's "done": we may leave
        return bad == 0 ? 0 : 3;
    }
    if (mode == "once") {
        // Says one thing and closes.
        ipc.send("bye");
        return 0;
    }
    if (mode == "hold") {
        ipc.send("ready");
        std::this_thread::sleep_for(1h); // killed by the test
        return 4;
    }
    return 5;
}

// ---- tests ----

void test_two_lines()
{
    const std::string name = unique_name("two-lines");
    sipc::channel ipc(name, {.max_message_size = 1024}); // server or client, by who came first
    peer_process peer("echo", name);
    ipc.connect(5s); ipc.send("Hello other process"); auto reply = ipc.recv(5s);
    EXPECT(reply.text() == "Hello other process");
    EXPECT(ipc.get_role() == sipc::role::server);
    EXPECT(ipc.max_message_size() == 1024);
    ipc.close();
    EXPECT(peer.wait() == 0);
}

void test_byte_spans()
{
    const std::string name = unique_name("spans");
    sipc::channel ipc(name);
    peer_process peer("echo", name);
    ipc.connect(5s);
    const std::string with_nul("a\0b", 3);
    const std::vector<std::byte> bytes = {std::byte{0}, std::byte{255}, std::byte{10}};
    const std::array<std::uint8_t, 4> array = {1, 2, 3, 4};
    const unsigned char raw[] = {9, 8, 7};
    ipc.send(with_nul);
    ipc.send(bytes);
    ipc.send(array);
    ipc.send(sipc::const_bytes(raw, sizeof raw));
    ipc.send(std::string_view());
    EXPECT(ipc.recv(5s).text() == with_nul);
    EXPECT(ipc.recv(5s).bytes() == bytes);
    auto third = ipc.recv(5s);
    EXPECT(third.size() == 4 && std::memcmp(third.data(), array.data(), 4) == 0);
    std::array<char, 8> into{};
    std::size_t length = 0;
    // Receive into a caller's buffer; too small leaves the message queued and says the size needed.
    std::array<char, 2> small{};
    EXPECT(ipc.try_peek_size(5s) == std::optional<std::size_t>(3));
    EXPECT(ipc.try_recv(small, length, 0ms) == sipc::status::buffer_too_small && length == 3);
    EXPECT(ipc.try_recv(into, length, 5s) == sipc::status::ok && length == 3 && into[0] == 9 && into[2] == 7);
    EXPECT(ipc.recv(5s).empty());
    ipc.close();
    EXPECT(peer.wait() == 0);
}

void test_exchange_both_ways()
{
    const std::string name = unique_name("exchange");
    sipc::channel ipc(name, {.max_message_size = kMaxSize, .queue_depth = 8});
    peer_process peer("exchange", name);
    ipc.connect(10s);
    std::thread sender([&] {
        for (std::uint32_t i = 0; i < kMessages; i++) ipc.send(payload(1, i, kMaxSize), 10s);
    });
    int bad = 0;
    for (std::uint32_t i = 0; i < kMessages; i++)
        if (!same(ipc.recv(10s), payload(2, i, kMaxSize))) bad++;
    sender.join();
    ipc.send("done");
    EXPECT(bad == 0);
    EXPECT(peer.wait() == 0);
    auto info = ipc.info();
    EXPECT(info.to_client.messages == kMessages + 1 && info.to_server.messages == kMessages);
}

void test_errors_and_non_throwing_forms()
{
    const std::string name = unique_name("errors");
    EXPECT_ERROR(sipc::status::invalid_name, sipc::channel("bad name!"));
    EXPECT(!sipc::is_valid_name("bad name!") && sipc::is_valid_name(name));
    sipc::channel server(name, {.max_message_size = 16, .open_timeout = 2s});
    EXPECT_ERROR(sipc::status::mismatch, sipc::channel(name, {.max_message_size = 32}));
    EXPECT(server.try_connect(0ms) == sipc::status::timeout);
    EXPECT(server.try_send("x", 0ms) == sipc::status::not_connected);
    EXPECT_ERROR(sipc::status::not_connected, server.try_recv(0ms));
    sipc::channel client(name);
    EXPECT(client.get_role() == sipc::role::client && client.max_message_size() == 16);
    EXPECT_ERROR(sipc::status::busy, sipc::channel third(name));
    client.connect(1s);
    server.connect(1s);
    EXPECT(!server.try_recv(1ms).has_value());
    EXPECT_ERROR(sipc::status::timeout, server.recv(1ms));
    try {
        client.send(std::string(17, 'x'));
        EXPECT(false);
    } catch (const sipc::error &e) {
        EXPECT(e.status_code() == sipc::status::too_big);
        EXPECT(std::string(e.name()) == "TOO_BIG");
        EXPECT(e.code() == sipc::status::too_big); // a std::error_code enum
        EXPECT(std::string(e.what()).find(name) != std::string::npos);
    }
    EXPECT(client.try_send(std::string(17, 'x')) == sipc::status::too_big);
    client.close();
    EXPECT_ERROR(sipc::status::peer_gone, server.recv(1s));
    EXPECT(std::string(sipc::status_name(sipc::status::peer_gone)) == "PEER_GONE");
    EXPECT(std::string(sipc::error_category().name()) == "sipc");
}

void test_status_names_match_the_library()
{
    // Every status the library names (the enum's members are checked against sipc.h by test/interop/names).
    for (int rc = SIPC_OK; std::string(sipc_status_name(rc)) != "UNKNOWN"; rc--) {
        const auto s = static_cast<sipc::status>(rc);
        EXPECT(std::string(sipc::status_name(s)) == sipc_status_name(rc));
    }
}

void test_timeouts()
{
    EXPECT(sipc::timeout(1500us).milliseconds() == 2);
    EXPECT(sipc::timeout(-5s).milliseconds() == 0);
    EXPECT(sipc::timeout(0ms).milliseconds() == 0);
    EXPECT(sipc::timeout(2s).milliseconds() == 2000);
    EXPECT(sipc::forever.milliseconds() == SIPC_INFINITE && sipc::forever.is_infinite());
    EXPECT(sipc::timeout(std::chrono::hours(24 * 365)).milliseconds() == std::numeric_limits<std::int32_t>::max() - 1);
    EXPECT(sipc::timeout(std::chrono::duration<double>(0.25)).milliseconds() == 250);
}

void test_cancel_from_another_thread()
{
    const std::string name = unique_name("cancel");
    sipc::channel ipc(name);
    std::atomic<int> outcome{1};
    std::thread waiter([&] { outcome = static_cast<int>(ipc.try_connect(sipc::forever)); });
    ipc.cancel(); // sticky: a connect that starts after it fails at once too
    waiter.join();
    EXPECT(outcome == SIPC_ERR_CANCELLED);
    ipc.uncancel();
    peer_process peer("hold", name);
    ipc.connect(5s);
    EXPECT(ipc.recv(5s).text() == "ready");
    std::thread receiver([&] {
        try {
            ipc.recv();
            outcome = 0;
        } catch (const sipc::error &e) {
            outcome = static_cast<int>(e.status_code());
        }
    });
    ipc.cancel();
    receiver.join();
    EXPECT(outcome == SIPC_ERR_CANCELLED);
    peer.kill9();
    EXPECT(peer.wait() == 128 + SIGKILL);
    ipc.uncancel();
    EXPECT_ERROR(sipc::status::peer_gone, ipc.recv(5s)); // kill -9 is seen as the peer going away
}

void test_move_only_channel()
{
    static_assert(!std::is_copy_constructible_v<sipc::channel> && std::is_nothrow_move_constructible_v<sipc::channel>);
    const std::string name = unique_name("move");
    sipc::channel first(name);
    sipc::channel moved(std::move(first));
    EXPECT(!first.is_open() && moved.is_open()); // NOLINT(bugprone-use-after-move): documented moved-from state
    EXPECT(sipc::stat(name).server_pid == getpid());
    sipc::channel other(unique_name("move-other"));
    const std::string other_name = other.name();
    other = std::move(moved); // closes the channel `other` held
    EXPECT_ERROR(sipc::status::not_found, sipc::stat(other_name));
    EXPECT(other.name() == name && other.is_open());
}

void test_observer_iterates_and_stops()
{
    const std::string name = unique_name("observe");
    sipc::channel ipc(name, {.max_message_size = kMaxSize, .queue_depth = 64});
    sipc::observer watcher(name);
    peer_process peer("echo", name);
    ipc.connect(5s);
    constexpr std::uint32_t count = 40;
    for (std::uint32_t i = 0; i < count; i++) {
        ipc.send(payload(7, i, kMaxSize));
        EXPECT(same(ipc.recv(5s), payload(7, i, kMaxSize)));
    }
    std::uint64_t seen[2] = {0, 0};
    std::uint64_t total = 0;
    for (const sipc::observed_message &m : watcher) {
        EXPECT(!m.truncated() && m.data.size() == m.length);
        EXPECT(same(m.data, payload(7, static_cast<std::uint32_t>(m.sequence), kMaxSize)));
        EXPECT(m.time().time_since_epoch().count() > 0);
        seen[static_cast<int>(m.direction)]++;
        total += 1 + m.missed;
        if (total == 2 * count) watcher.cancel(); // ends the loop
    }
    EXPECT(seen[0] + seen[1] > 0 && total == 2 * count);
    EXPECT_ERROR(sipc::status::cancelled, watcher.next(0ms));
    ipc.close();
    EXPECT(peer.wait() == 0);

    // A channel that goes away ends the iteration of a new observer.
    const std::string gone = unique_name("observe-gone");
    auto owner = std::make_optional<sipc::channel>(gone);
    sipc::observer late(gone);
    EXPECT(!late.next(0ms).has_value());
    owner.reset(); // last one out removes the channel
    int after_removal = 0;
    for (const auto &m : late) after_removal += static_cast<int>(m.length);
    EXPECT(after_removal == 0);
}

// Waits up to 30 s for the next item of an observer that reports events; throws when none came.
sipc::observation next_item(sipc::observer &watcher)
{
    std::optional<sipc::observation> item = watcher.next_observation(30s);
    EXPECT(item.has_value());
    return std::move(*item);
}

// The next event, skipping messages.
sipc::observer_event next_event(sipc::observer &watcher)
{
    for (;;) {
        sipc::observation item = next_item(watcher);
        if (const auto *event = std::get_if<sipc::observer_event>(&item)) return *event;
    }
}

void test_lossless_observer_misses_nothing()
{
    const std::string name = unique_name("lossless");
    // A queue of 4: a plain observer falls a ring behind two peers at full speed within microseconds.
    sipc::channel ipc(name, {.max_message_size = kMaxSize, .queue_depth = 4});
    // The longest stall bound: a sanitizer build on a loaded machine must not be dropped for being slow.
    sipc::observer watcher(name, {.lossless = true, .stall_timeout = 10s, .events = true});
    EXPECT(watcher.reports_events());
    std::uint64_t next_sequence[2] = {0, 0};
    std::uint64_t messages = 0, missed = 0, bad = 0, drops = 0;
    std::int64_t client_pid = 0;
    std::string follower_error;
    std::thread follower([&] {
        while (messages < 2 * kMessages + 1) {
            std::optional<sipc::observation> item;
            try {
                item = watcher.next_observation(30s);
            } catch (const sipc::error &e) {
                follower_error = e.what();
            }
            if (!item) return;
            if (const auto *event = std::get_if<sipc::observer_event>(&*item)) {
                if (event->kind == sipc::event_kind::attached && event->role == sipc::role::client)
                    client_pid = event->pid;
                if (event->kind == sipc::event_kind::lossless_dropped) drops++;
                continue;
            }
            const auto &m = std::get<sipc::observed_message>(*item);
            const int d = static_cast<int>(m.direction);
            missed += m.missed;
            if (m.sequence != next_sequence[d]) bad++;
            next_sequence[d] = m.sequence + 1;
            const bool last = m.direction == sipc::direction::to_client && m.sequence == kMessages;
            if (!last && !same(m.data, payload(m.direction == sipc::direction::to_client ? 1 : 2,
                                               static_cast<std::uint32_t>(m.sequence), kMaxSize)))
                bad++;
            messages++;
        }
    });
    peer_process peer("exchange", name);
    const pid_t peer_pid = peer.pid;
    ipc.connect(10s);
    std::thread sender([&] {
        for (std::uint32_t i = 0; i < kMessages; i++) ipc.send(payload(1, i, kMaxSize), 30s);
    });
    for (std::uint32_t i = 0; i < kMessages; i++) ipc.recv(30s);
    sender.join();
    ipc.send("done");
    follower.join();
    EXPECT(peer.wait() == 0);
    EXPECT(follower_error.empty());
    EXPECT(messages == 2 * kMessages + 1 && missed == 0 && bad == 0 && drops == 0);
    EXPECT(next_sequence[0] == kMessages + 1 && next_sequence[1] == kMessages);
    EXPECT(client_pid == peer_pid);
    const sipc::observer_stats stats = watcher.stats();
    EXPECT(stats.messages == messages && stats.missed == 0);
    EXPECT(stats.missed_asleep + stats.missed_away + stats.missed_running == stats.missed);
    EXPECT(stats.spin_hits <= stats.spins && stats.woken <= stats.sleeps);
    EXPECT(stats.native.messages == stats.messages && stats.longest_away >= std::chrono::nanoseconds(0));
    EXPECT(!stats.wake_latency_mean() || *stats.wake_latency_mean() <= stats.wake_latency_max);
}

void test_observer_events_name_the_peers()
{
    const std::string name = unique_name("events");
    sipc::channel ipc(name);
    sipc::observer watcher(name, {.events = true});
    // The holder at the start comes first: this process, as the server.
    sipc::observer_event event = next_event(watcher);
    EXPECT(event.kind == sipc::event_kind::attached && event.role == sipc::role::server && event.pid == getpid());
    EXPECT(event.session == 1 && event.reason == sipc::drop_reason::none);
    EXPECT(event.time().time_since_epoch().count() > 0);
    EXPECT_ERROR(sipc::status::invalid_argument, watcher.next(0ms)); // it would hide the events
    {
        peer_process once("once", name);
        ipc.connect(10s);
        EXPECT(ipc.recv(10s).text() == "bye");
        event = next_event(watcher);
        EXPECT(event.kind == sipc::event_kind::attached && event.role == sipc::role::client && event.pid == once.pid);
        EXPECT(event.session == 1 && std::string(sipc::event_kind_name(event.kind)) == "attached");
        // Its message comes between its attach and its close.
        sipc::observation item = next_item(watcher);
        const auto *said = std::get_if<sipc::observed_message>(&item);
        EXPECT(said != nullptr && said->data.text() == "bye" && said->direction == sipc::direction::to_server);
        event = next_event(watcher);
        EXPECT(event.kind == sipc::event_kind::closed && event.role == sipc::role::client && event.pid == once.pid);
        EXPECT(once.wait() == 0);
    }
    EXPECT_ERROR(sipc::status::peer_gone, ipc.recv(5s));
    peer_process held("hold", name);
    ipc.connect(10s);
    EXPECT(ipc.recv(10s).text() == "ready");
    event = next_event(watcher);
    EXPECT(event.kind == sipc::event_kind::attached && event.pid == held.pid && event.session == 2);
    const pid_t killed = held.pid;
    held.kill9();
    EXPECT(held.wait() == 128 + SIGKILL);
    // Nobody wakes the observer for a SIGKILL: it finds out when it checks the holders.
    event = next_event(watcher);
    EXPECT(event.kind == sipc::event_kind::died && event.role == sipc::role::client && event.pid == killed);
    EXPECT(event.session == 2 && std::string(sipc::event_kind_name(event.kind)) == "died");
    // The range form ends on cancel(), like the message loop.
    watcher.cancel();
    int after_cancel = 0;
    for (const sipc::observation &o : watcher.observations()) after_cancel += static_cast<int>(o.index()) + 1;
    EXPECT(after_cancel == 0);
}

void test_observer_reports_discarded_messages()
{
    const std::string name = unique_name("fate");
    sipc::channel server(name);
    sipc::observer watcher(name);
    auto first = std::make_optional<sipc::channel>(name);
    server.connect(5s);
    server.send("for-first");
    first.reset(); // leaves without taking it
    std::optional<sipc::observed_message> m = watcher.next(10s);
    EXPECT(m && m->data.text() == "for-first" && m->undeliverable);
    std::uint64_t discarded = m->discarded;
    sipc::channel second(name);
    EXPECT(server.try_send("for-second", 5s) == sipc::status::peer_gone);
    server.connect(5s);
    server.send("for-second");
    EXPECT(second.recv(5s).text() == "for-second");
    m = watcher.next(10s);
    EXPECT(m && m->data.text() == "for-second" && !m->undeliverable);
    discarded += m->discarded;
    EXPECT(discarded == 1);
    EXPECT(watcher.stats().messages == 2);
}

void test_observe_options_are_checked()
{
    const std::string name = unique_name("observe-options");
    sipc::channel ipc(name);
    EXPECT_ERROR(sipc::status::invalid_argument, sipc::observer(name, {.stall_timeout = 5s})); // not lossless
    EXPECT_ERROR(sipc::status::invalid_argument,
                 sipc::observer(name, {.lossless = true, .stall_timeout = std::chrono::milliseconds(10001)}));
    EXPECT_ERROR(sipc::status::invalid_argument, sipc::observer(name, {.lossless = true, .stall_timeout = -1s}));
    EXPECT_ERROR(sipc::status::invalid_argument, sipc::observer(name, {.capacity = SIPC_MAX_MESSAGE_LIMIT + 1u}));
    try {
        sipc::observer refused(name, {.stall_timeout = 5s});
        EXPECT(false);
    } catch (const sipc::error &e) {
        EXPECT(std::string(e.what()).find("lossless") != std::string::npos);
        EXPECT(std::string(e.what()).find(name) != std::string::npos);
    }
    // At most two lossless observers per channel: the library says BUSY for a third.
    sipc::observer one(name, {.lossless = true, .stall_timeout = 10s});
    sipc::observer two(name, {.lossless = true});
    EXPECT_ERROR(sipc::status::busy, sipc::observer(name, {.lossless = true}));
    two.close();
    sipc::observer three(name, {.lossless = true, .capacity = 8});
    EXPECT(!three.reports_events() && !three.next(0ms).has_value());
    EXPECT_ERROR(sipc::status::not_found, sipc::observer(unique_name("observe-none"), {.lossless = true}));
    // Each observer copies at most the capacity asked for.
    sipc::observer small(name, {.capacity = 1});
    peer_process peer("once", name);
    ipc.connect(10s);
    std::optional<sipc::observed_message> m = three.next(10s);
    EXPECT(m && m->length == 3 && m->data.text() == "bye" && !m->truncated());
    m = small.next(10s);
    EXPECT(m && m->length == 3 && m->data.text() == "b" && m->truncated());
    EXPECT(peer.wait() == 0);
    const sipc::observer_stats stats = three.stats();
    EXPECT(stats.messages == 1 && stats.missed == 0);
}

void test_by_name()
{
    const std::string name = unique_name("manage");
    EXPECT_ERROR(sipc::status::not_found, sipc::stat(name));
    sipc::channel ipc(name, {.max_message_size = 100, .queue_depth = 3});
    auto info = sipc::stat(name);
    EXPECT(std::string(info.name) == name && info.max_message_size == 100 && info.queue_depth == 3);
    EXPECT(sipc::stat(name, 0ms).state == SIPC_STATE_WAITING && sipc::stat(name, sipc::forever).queue_depth == 3);
    EXPECT(info.state == SIPC_STATE_WAITING && info.mode == 0600);
    auto names = sipc::list();
    EXPECT(std::find(names.begin(), names.end(), name) != names.end());
    EXPECT_ERROR(sipc::status::busy, sipc::remove(name));
    sipc::remove(name, true, 1s);
    EXPECT_ERROR(sipc::status::not_found, sipc::remove(name));
    EXPECT(std::string(sipc::version()).find('.') != std::string::npos);
}

} // namespace

int main(int argc, char **argv)
{
    if (argc == 4 && std::string(argv[1]) == "peer") {
        try {
            return run_peer(argv[2], argv[3]);
        } catch (const std::exception &e) {
            std::fprintf(stderr, "peer %s: %s\n", argv[2], e.what());
            return 9;
        }
    }
    const std::pair<const char *, void (*)()> tests[] = {
        {"two lines (the seed's usage)", test_two_lines},
        {"byte spans in, messages out", test_byte_spans},
        {"random-size messages both ways, byte-exact", test_exchange_both_ways},
        {"errors carry stable statuses; non-throwing forms", test_errors_and_non_throwing_forms},
        {"status names match the library", test_status_names_match_the_library},
        {"std::chrono timeouts", test_timeouts},
        {"cancel connect and recv from another thread; kill -9", test_cancel_from_another_thread},
        {"move-only channel closes what it owned", test_move_only_channel},
        {"observer is iterable and stops on cancel / removal", test_observer_iterates_and_stops},
        {"lossless observer of two busy peers misses nothing; its stats agree",
         test_lossless_observer_misses_nothing},
        {"observer events name the peers: attached, closed, killed", test_observer_events_name_the_peers},
        {"observer reports undeliverable and discarded messages", test_observer_reports_discarded_messages},
        {"observe options are checked; a third lossless observer is refused", test_observe_options_are_checked},
        {"stat, list, remove", test_by_name},
    };
    for (const auto &[title, body] : tests) {
        try {
            body();
            passes++;
            std::printf("ok   %s\n", title);
        } catch (const std::exception &e) {
            failures++;
            std::printf("FAIL %s: %s\n", title, e.what());
        }
    }
    std::printf("%d passed, %d failed\n", passes, failures);
    return failures == 0 ? 0 : 1;
}
