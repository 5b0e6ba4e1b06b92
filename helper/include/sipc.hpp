// sipc.hpp — header-only C++17 wrapper over libsipc (sipc.h).
//
//     sipc::channel ipc("mychannel", {.max_message_size = 1024});  // server or client, by who came first
//     ipc.connect(5s); ipc.send("Hello other process"); auto reply = ipc.recv(5s);
//
// Failures throw sipc::error, which carries the library's stable status (sipc::status, named like
// SIPC_ERR_* and like the error codes of the Node and Python bindings: error::name() == "PEER_GONE").
// Every blocking call also has a non-throwing form: try_connect/try_send return the status,
// try_recv returns std::nullopt when the wait ran out. sipc::status is a std::error_code enum.
//
// Threads: send/recv/connect/cancel/info may be called from several threads on one channel at once;
// cancel() wakes every blocked call with status::cancelled (and keeps failing later calls until
// uncancel()), so another thread can stop a connect or recv. Destroy or close() a channel only after the
// threads that use it returned, as with sipc_close.
#ifndef SIPC_HPP
#define SIPC_HPP

#include "sipc.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace sipc {

// ---- statuses and errors ----

// The library's statuses (sipc.h's sipc_status), one name per SIPC_ERR_* constant.
enum class status : int {
    ok = SIPC_OK,
    timeout = SIPC_ERR_TIMEOUT,
    peer_gone = SIPC_ERR_PEER_GONE,
    busy = SIPC_ERR_BUSY,
    too_big = SIPC_ERR_TOO_BIG,
    cancelled = SIPC_ERR_CANCELLED,
    closed = SIPC_ERR_CLOSED,
    invalid_name = SIPC_ERR_INVALID_NAME,
    invalid_argument = SIPC_ERR_INVALID_ARGUMENT,
    buffer_too_small = SIPC_ERR_BUFFER_TOO_SMALL,
    not_found = SIPC_ERR_NOT_FOUND,
    corrupt = SIPC_ERR_CORRUPT,
    version = SIPC_ERR_VERSION,
    permission = SIPC_ERR_PERMISSION,
    no_memory = SIPC_ERR_NO_MEMORY,
    mismatch = SIPC_ERR_MISMATCH,
    not_connected = SIPC_ERR_NOT_CONNECTED,
    system = SIPC_ERR_SYSTEM,
    not_a_channel = SIPC_ERR_NOT_A_CHANNEL,
};

// Stable upper-case name, the same in every binding: "TIMEOUT", "PEER_GONE", ... ("UNKNOWN" otherwise).
inline const char *status_name(status s) noexcept { return sipc_status_name(static_cast<int>(s)); }

// A sentence for users, e.g. "the peer closed the channel or died".
inline const char *status_message(status s) noexcept { return sipc_strerror(static_cast<int>(s)); }

class error_category_impl final : public std::error_category {
public:
    const char *name() const noexcept override { return "sipc"; }
    std::string message(int value) const override { return sipc_strerror(value); }
};

inline const std::error_category &error_category() noexcept
{
    static const error_category_impl instance;
    return instance;
}

inline std::error_code make_error_code(status s) noexcept { return {static_cast<int>(s), error_category()}; }

// Every failure of the wrapper. status_code() is stable; what() names the operation, the channel and why.
class error : public std::system_error {
public:
    error(status s, const std::string &context, int os_error = 0)
        : std::system_error(make_error_code(s), describe(s, context, os_error)), status_(s), os_error_(os_error)
    {
    }
    status status_code() const noexcept { return status_; }
    // "PEER_GONE", "TIMEOUT", ...: the code the Node and Python bindings use too.
    const char *name() const noexcept { return status_name(status_); }
    // errno (or GetLastError) behind SYSTEM/PERMISSION/NO_MEMORY when the library reported one, else 0.
    int os_error() const noexcept { return os_error_; }

private:
    static std::string describe(status s, const std::string &context, int os_error)
    {
        std::string text = context + ": " + status_message(s) + " (" + status_name(s) + ")";
        if (os_error != 0) text += " [OS error " + std::to_string(os_error) + "]";
        return text;
    }
    status status_;
    int os_error_;
};

namespace detail {
inline bool carries_os_error(status s) noexcept
{
    return s == status::system || s == status::permission || s == status::no_memory;
}

[[noreturn]] inline void raise(int rc, const std::string &context)
{
    const auto s = static_cast<status>(rc);
    throw error(s, context, carries_os_error(s) ? sipc_last_os_error() : 0);
}

inline void check(int rc, const char *operation, std::string_view name)
{
    if (rc != SIPC_OK) raise(rc, std::string(operation) + " '" + std::string(name) + "'");
}

// For calls by name (open, observe, stat, remove): the library's detail sentence about the failure, if any,
// e.g. what the name leads to instead of a channel.
inline void check_by_name(int rc, const char *operation, std::string_view name)
{
    if (rc == SIPC_OK) return;
    std::string context = std::string(operation) + " '" + std::string(name) + "'";
    const char *detail = sipc_last_error_message();
    if (detail != nullptr && detail[0] != '\0') context += std::string(" (") + detail + ")";
    raise(rc, context);
}

inline sipc_channel_info empty_info() noexcept
{
    sipc_channel_info info;
    std::memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    return info;
}
} // namespace detail

// ---- timeouts ----

// A wait limit: any std::chrono duration (rounded up to whole milliseconds; negative means 0) or sipc::forever.
class timeout {
public:
    constexpr timeout() noexcept = default; // forever
    template <class Rep, class Period>
    constexpr timeout(std::chrono::duration<Rep, Period> d) noexcept : ms_(clamp(d))
    {
    }
    static constexpr timeout infinite() noexcept { return timeout(); }
    constexpr bool is_infinite() const noexcept { return ms_ == SIPC_INFINITE; }
    constexpr std::int32_t milliseconds() const noexcept { return ms_; }

private:
    template <class Rep, class Period>
    static constexpr std::int32_t clamp(std::chrono::duration<Rep, Period> d) noexcept
    {
        using ms_double = std::chrono::duration<double, std::milli>;
        const double ms = std::chrono::duration_cast<ms_double>(d).count();
        if (!(ms > 0)) return 0;
        constexpr double largest = static_cast<double>(std::numeric_limits<std::int32_t>::max() - 1);
        if (ms >= largest) return std::numeric_limits<std::int32_t>::max() - 1;
        const auto whole = static_cast<std::int32_t>(ms);
        return static_cast<double>(whole) < ms ? whole + 1 : whole;
    }
    std::int32_t ms_ = SIPC_INFINITE;
};

inline constexpr timeout forever{};

// ---- byte spans ----

namespace detail {
template <class T, class = void> struct is_byte_container : std::false_type {};
template <class T> using data_pointer_t = decltype(std::data(std::declval<T &>()));
template <class T>
struct is_byte_container<T, std::void_t<data_pointer_t<T>, decltype(std::size(std::declval<T &>()))>>
    : std::bool_constant<sizeof(*std::data(std::declval<T &>())) == 1 &&
                         std::is_trivially_copyable_v<std::remove_pointer_t<data_pointer_t<T>>>> {};
} // namespace detail

// Read-only bytes to send: a string (literal, std::string, std::string_view), any contiguous container of
// one-byte elements (std::vector<std::byte>, std::array<std::uint8_t, N>, sipc::message, ...) or a pointer
// and a length. A string literal is sent without its terminating NUL.
class const_bytes {
public:
    constexpr const_bytes() noexcept = default;
    const_bytes(const void *data, std::size_t size) noexcept
        : data_(static_cast<const std::byte *>(data)), size_(size) {}
    const_bytes(const char *text) noexcept : const_bytes(text, std::strlen(text)) {}
    const_bytes(std::string_view text) noexcept : const_bytes(text.data(), text.size()) {}
    template <class Container, std::enable_if_t<detail::is_byte_container<const Container>::value &&
                                                    !std::is_convertible_v<const Container &, const char *>,
                                                int> = 0>
    const_bytes(const Container &container) noexcept : const_bytes(std::data(container), std::size(container))
    {
    }
    const std::byte *data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }

private:
    const std::byte *data_ = nullptr;
    std::size_t size_ = 0;
};

// Writable bytes to receive into: any contiguous container of one-byte elements or a pointer and a capacity.
class mutable_bytes {
public:
    mutable_bytes(void *data, std::size_t size) noexcept : data_(static_cast<std::byte *>(data)), size_(size) {}
    template <class Container, std::enable_if_t<detail::is_byte_container<Container>::value &&
                                                    !std::is_const_v<std::remove_pointer_t<decltype(std::data(
                                                        std::declval<Container &>()))>>,
                                                int> = 0>
    mutable_bytes(Container &container) noexcept : mutable_bytes(std::data(container), std::size(container))
    {
    }
    std::byte *data() const noexcept { return data_; }
    std::size_t size() const noexcept { return size_; }

private:
    std::byte *data_;
    std::size_t size_;
};

// A received message: bytes, with text() for messages that are text.
class message {
public:
    message() = default;
    explicit message(std::vector<std::byte> bytes) noexcept : bytes_(std::move(bytes)) {}
    const std::byte *data() const noexcept { return bytes_.data(); }
    std::size_t size() const noexcept { return bytes_.size(); }
    bool empty() const noexcept { return bytes_.empty(); }
    auto begin() const noexcept { return bytes_.begin(); }
    auto end() const noexcept { return bytes_.end(); }
    std::byte operator[](std::size_t i) const noexcept { return bytes_[i]; }
    std::string_view text() const noexcept { return {reinterpret_cast<const char *>(bytes_.data()), bytes_.size()}; }
    const std::vector<std::byte> &bytes() const & noexcept { return bytes_; }
    std::vector<std::byte> bytes() && noexcept { return std::move(bytes_); }
    friend bool operator==(const message &a, const message &b) noexcept { return a.bytes_ == b.bytes_; }
    friend bool operator!=(const message &a, const message &b) noexcept { return !(a == b); }

private:
    std::vector<std::byte> bytes_;
};

// ---- channels ----

enum class role { none = SIPC_ROLE_NONE, server = SIPC_ROLE_SERVER, client = SIPC_ROLE_CLIENT };

// Channel options; 0 leaves a value at its default (a client then adopts the server's sizes).
struct options {
    std::uint32_t max_message_size = 0; // bytes, default 64 KiB, up to 64 MiB
    std::uint32_t queue_depth = 0;      // messages per direction, default 16, up to 4096
    std::uint32_t mode = 0;             // permission bits of a new segment, default 0600
    std::uint32_t flags = 0;            // SIPC_OPEN_* from sipc.h
    // How long opening may wait for another process holding the channel's lock or still creating it.
    timeout open_timeout = std::chrono::milliseconds(SIPC_DEFAULT_LOCK_TIMEOUT_MS);
};

using channel_info = sipc_channel_info;

// One end of a named channel. Opening never waits: the first opener of a name becomes the server, the
// second the client. Move-only; the destructor closes it (the peer then sees status::peer_gone).
class channel {
public:
    explicit channel(std::string_view name, const options &opts = {}) : name_(name)
    {
        sipc_options native;
        sipc_options_init(&native);
        if (opts.max_message_size != 0) native.max_message_size = opts.max_message_size;
        if (opts.queue_depth != 0) native.queue_depth = opts.queue_depth;
        if (opts.mode != 0) native.mode = opts.mode;
        native.flags = opts.flags;
        detail::check_by_name(sipc_open_ex(name_.c_str(), &native, opts.open_timeout.milliseconds(), &handle_),
                              "opening channel", name_);
    }
    channel(const channel &) = delete;
    channel &operator=(const channel &) = delete;
    channel(channel &&other) noexcept : name_(std::move(other.name_)), handle_(std::exchange(other.handle_, nullptr)) {}
    channel &operator=(channel &&other) noexcept
    {
        if (this != &other) {
            close();
            name_ = std::move(other.name_);
            handle_ = std::exchange(other.handle_, nullptr);
        }
        return *this;
    }
    ~channel() { close(); }

    // Detaches (idempotent). Must not race with calls in other threads: cancel() and join them first.
    void close() noexcept
    {
        if (handle_ != nullptr) sipc_close(std::exchange(handle_, nullptr));
    }
    bool is_open() const noexcept { return handle_ != nullptr; }
    const std::string &name() const noexcept { return name_; }
    role get_role() const noexcept { return static_cast<role>(sipc_get_role(handle_)); }
    std::uint32_t max_message_size() const noexcept { return sipc_max_message_size(handle_); }
    sipc_channel *native_handle() const noexcept { return handle_; }

    // Waits for a peer this handle has not served yet (see sipc_connect).
    void connect(timeout limit = forever) { check(try_connect(limit), "connecting to channel"); }
    status try_connect(timeout limit = forever) noexcept
    {
        return static_cast<status>(sipc_connect(handle_, limit.milliseconds()));
    }

    // Queues one message for the peer; waits while its queue is full.
    void send(const_bytes data, timeout limit = forever) { check(try_send(data, limit), "sending to channel"); }
    status try_send(const_bytes data, timeout limit = forever) noexcept
    {
        return static_cast<status>(sipc_send(handle_, data.data(), data.size(), limit.milliseconds()));
    }

    // The next message, whole. Throws sipc::error (status::timeout when the wait ran out).
    message recv(timeout limit = forever)
    {
        std::optional<message> received = try_recv(limit);
        if (!received) detail::raise(SIPC_ERR_TIMEOUT, "receiving from channel '" + name_ + "'");
        return std::move(*received);
    }
    // The next message, or std::nullopt when the wait ran out; other failures throw.
    std::optional<message> try_recv(timeout limit = forever)
    {
        const auto deadline = limit.is_infinite() ? std::chrono::steady_clock::time_point::max()
                                                  : std::chrono::steady_clock::now() +
                                                        std::chrono::milliseconds(limit.milliseconds());
        std::vector<std::byte> buffer;
        std::int32_t wait_ms = limit.milliseconds();
        for (;;) {
            std::size_t length = 0;
            int rc = sipc_peek_size(handle_, &length, wait_ms);
            if (rc == SIPC_OK) {
                buffer.resize(length);
                rc = sipc_recv(handle_, buffer.data(), buffer.size(), &length, 0);
                if (rc == SIPC_OK) {
                    buffer.resize(length);
                    return message(std::move(buffer));
                }
            }
            // Another thread took the message we measured: measure the next one, within the same deadline.
            const bool time_left = wait_ms != 0 && !deadline_passed(deadline);
            if (rc == SIPC_ERR_BUFFER_TOO_SMALL || (rc == SIPC_ERR_TIMEOUT && time_left)) {
                wait_ms = remaining_ms(limit, deadline);
                continue;
            }
            if (rc == SIPC_ERR_TIMEOUT) return std::nullopt;
            check(rc, "receiving from channel");
        }
    }
    // Receives into `buffer` and sets `length`; status::buffer_too_small leaves the message queued and sets
    // `length` to the size needed.
    status try_recv(mutable_bytes buffer, std::size_t &length, timeout limit = forever) noexcept
    {
        return static_cast<status>(sipc_recv(handle_, buffer.data(), buffer.size(), &length, limit.milliseconds()));
    }

    // Size of the next message without taking it, or std::nullopt when the wait ran out.
    std::optional<std::size_t> try_peek_size(timeout limit = forever)
    {
        std::size_t length = 0;
        const int rc = sipc_peek_size(handle_, &length, limit.milliseconds());
        if (rc == SIPC_ERR_TIMEOUT) return std::nullopt;
        check(rc, "receiving from channel");
        return length;
    }

    // Wakes every blocked call on this channel with status::cancelled; later calls fail the same way until
    // uncancel(). Safe from any thread and from a signal handler.
    void cancel() noexcept { sipc_cancel(handle_); }
    void uncancel() noexcept { sipc_uncancel(handle_); }

    channel_info info() const
    {
        channel_info out = detail::empty_info();
        check(sipc_info(handle_, &out), "reading the state of channel");
        return out;
    }

private:
    void check(status s, const char *operation) const { detail::check(static_cast<int>(s), operation, name_); }
    void check(int rc, const char *operation) const { detail::check(rc, operation, name_); }
    static bool deadline_passed(std::chrono::steady_clock::time_point deadline) noexcept
    {
        return std::chrono::steady_clock::now() >= deadline;
    }
    static std::int32_t remaining_ms(timeout limit, std::chrono::steady_clock::time_point deadline) noexcept
    {
        if (limit.is_infinite()) return SIPC_INFINITE;
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        return left.count() > 0 ? static_cast<std::int32_t>(left.count()) : 0;
    }

    std::string name_;
    sipc_channel *handle_ = nullptr;
};

// ---- observers ----

enum class direction { to_client = SIPC_DIR_TO_CLIENT, to_server = SIPC_DIR_TO_SERVER };

struct observed_message {
    sipc::direction direction;   // to_client: server -> client; to_server: client -> server
    std::uint64_t sequence;      // per-direction message number, from 0
    std::uint64_t timestamp_ns;  // wall clock of the send (Unix epoch)
    std::uint32_t length;        // full length; data may hold fewer bytes (truncated())
    std::uint64_t missed;        // messages of this direction lost to the observer just before this one
    message data;
    // Messages of this direction the receiving side discarded since the previous report: they were addressed to an
    // earlier holder of its role that left before taking them (PROTOCOL.md, "Message fate across sessions").
    std::uint64_t discarded = 0;
    // This message is addressed to a receiver that was replaced or closed without taking it: never delivered.
    bool undeliverable = false;
    bool truncated() const noexcept { return data.size() < length; }
    std::chrono::system_clock::time_point time() const
    {
        return std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(timestamp_ns)));
    }
};

// What an observer_event reports (sipc_observer_event).
enum class event_kind {
    attached = SIPC_EVENT_ATTACHED,               // a process took the role (session: its attach number)
    closed = SIPC_EVENT_CLOSED,                   // the role's holder closed it
    died = SIPC_EVENT_DIED,                       // the role's holder ended without closing (killed, crashed)
    lossless_dropped = SIPC_EVENT_LOSSLESS_DROPPED // the peers dropped this lossless observer (see drop_reason)
};

// Why the peers dropped a lossless observer (event_kind::lossless_dropped); it goes on as a plain observer.
enum class drop_reason { none = 0, stalled = 1, died = 2, invalid = 3 };

// Stable lower-case names, the same as the Node and Python bindings': "attached", "lossless-dropped", "stalled".
inline const char *event_kind_name(event_kind kind) noexcept
{
    switch (kind) {
    case event_kind::attached: return "attached";
    case event_kind::closed: return "closed";
    case event_kind::died: return "died";
    case event_kind::lossless_dropped: return "lossless-dropped";
    }
    return "unknown";
}
inline const char *drop_reason_name(drop_reason reason) noexcept
{
    switch (reason) {
    case drop_reason::none: return "none";
    case drop_reason::stalled: return "stalled";
    case drop_reason::died: return "died";
    case drop_reason::invalid: return "invalid";
    }
    return "unknown";
}

// Something that happened to the channel's peers or to this observer (observe_options::events), in time order with
// the messages.
struct observer_event {
    event_kind kind;
    sipc::role role;            // the role it is about; role::none for this observer's own events (lossless_dropped)
    std::uint32_t session;      // the role's attach number (0 for this observer's own events)
    std::int64_t pid;           // the process it is about (0: unknown)
    std::uint64_t timestamp_ns; // the attach, or when the observer noticed the departure (Unix epoch)
    drop_reason reason;         // lossless_dropped: why; drop_reason::none otherwise
    std::chrono::system_clock::time_point time() const
    {
        return std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(timestamp_ns)));
    }
};

// One item of an observer that reports events: a message or an event (std::visit, std::get_if).
using observation = std::variant<observed_message, observer_event>;

// How to observe (sipc_observe_options). {} is a plain observer of messages, as sipc::observer(name).
struct observe_options {
    // The peers never overwrite a message this observer has not copied yet: nothing is missed, the peers go at most
    // at its pace. At most SIPC_OBSERVE_LOSSLESS_MAX (2) per channel: status::busy beyond; status::permission when
    // this process may only read the channel.
    bool lossless = false;
    // Lossless only: how long a producer waits for this observer to copy before it drops it (it then goes on as a
    // plain observer and reports event_kind::lossless_dropped). 0: the library's default, 1 s; at most 10 s.
    std::chrono::milliseconds stall_timeout{0};
    // Report observer_event items too: read them with next_observation() / observations().
    bool events = false;
    // Bytes copied of each message (longer ones arrive truncated). 0: the channel's maximum message size.
    std::size_t capacity = 0;
};

// What an observer did and why it missed what it missed (sipc_observer_stats, counted since it attached).
struct observer_stats {
    std::uint64_t messages = 0;       // messages returned by next() / next_observation() (events not counted)
    std::uint64_t missed = 0;         // missed_asleep + missed_away + missed_running
    std::uint64_t missed_asleep = 0;  // found gone on the first look after a sleep (woken, or polling, too late)
    std::uint64_t missed_away = 0;    // found gone on the first look of a call: the caller kept it away too long
    std::uint64_t missed_running = 0; // gone between two looks within one call, or overwritten while copied
    std::uint64_t sleeps = 0;         // sleeps until a producer's wake-up
    std::uint64_t woken = 0;          // of those, ended by a producer (or a role change), not the time limit
    std::uint64_t polls = 0;          // sleeps of the polling fallback (read-only mapping, an older producer)
    std::uint64_t spins = 0;          // waits that spun for the next message first
    std::uint64_t spin_hits = 0;      // spins that found a message
    std::uint64_t wake_latency_count = 0; // woken sleeps whose first new message was timed
    std::chrono::nanoseconds wake_latency_total{0}; // their sum (send of that message -> the observer's look)
    std::chrono::nanoseconds wake_latency_max{0};
    std::chrono::nanoseconds longest_miss_gap{0}; // longest time between two looks when the later found messages gone
    std::chrono::nanoseconds longest_away{0};     // longest time between a return of next() and the next call
    std::uint64_t producer_wakes = 0; // lossless: wake-ups sent to producers waiting for this observer
    // Every field of the library's struct as this header declares it (fields added to sipc.h later are here first).
    sipc_observer_stats native{};
    // Mean wake-up latency, or std::nullopt when no wake-up was timed.
    std::optional<std::chrono::nanoseconds> wake_latency_mean() const noexcept
    {
        if (wake_latency_count == 0) return std::nullopt;
        return wake_latency_total / static_cast<std::chrono::nanoseconds::rep>(wake_latency_count);
    }
};

// Read-only view of a channel's traffic in both directions, from the moment it attached; never consumes
// anything. Iterable: `for (const auto &m : sipc::observer("demo")) ...` runs until the channel is removed
// or cancel() is called from another thread. With observe_options::events, read it with next_observation() or
// `for (const sipc::observation &o : obs.observations())` instead (next() refuses: it would hide the events).
class observer {
public:
    explicit observer(std::string_view name) : observer(name, observe_options{}) {}
    observer(std::string_view name, const observe_options &opts) : name_(name), events_(opts.events)
    {
        sipc_observe_options native;
        sipc_observe_options_init(&native);
        native.flags = (opts.lossless ? SIPC_OBSERVE_LOSSLESS : 0u) | (opts.events ? SIPC_OBSERVE_EVENTS : 0u);
        native.stall_timeout_ms = validated_stall_ms(opts);
        if (opts.capacity > SIPC_MAX_MESSAGE_LIMIT) refuse("capacity must be at most 64 MiB (SIPC_MAX_MESSAGE_LIMIT)");
        detail::check_by_name(sipc_observe_ex(name_.c_str(), &native, &handle_), "observing channel", name_);
        if (opts.capacity != 0) {
            capacity_ = opts.capacity;
        } else {
            channel_info info = this->info();
            capacity_ = info.max_message_size != 0 ? info.max_message_size : SIPC_DEFAULT_MAX_MESSAGE;
        }
    }
    observer(const observer &) = delete;
    observer &operator=(const observer &) = delete;
    observer(observer &&other) noexcept
        : name_(std::move(other.name_)), handle_(std::exchange(other.handle_, nullptr)), capacity_(other.capacity_),
          events_(other.events_)
    {
    }
    observer &operator=(observer &&other) noexcept
    {
        if (this != &other) {
            close();
            name_ = std::move(other.name_);
            handle_ = std::exchange(other.handle_, nullptr);
            capacity_ = other.capacity_;
            events_ = other.events_;
        }
        return *this;
    }
    ~observer() { close(); }
    void close() noexcept
    {
        if (handle_ != nullptr) sipc_observer_close(std::exchange(handle_, nullptr));
    }
    const std::string &name() const noexcept { return name_; }
    sipc_observer *native_handle() const noexcept { return handle_; }
    bool reports_events() const noexcept { return events_; }

    // The next message in either direction (send-time order), or std::nullopt when the wait ran out.
    // Throws sipc::error: status::not_found once the channel was removed, status::cancelled after cancel(),
    // status::invalid_argument on an observer that reports events (use next_observation()).
    // Not for several threads at once (one observer follows one position); cancel() is.
    std::optional<observed_message> next(timeout limit = forever)
    {
        if (events_)
            detail::raise(SIPC_ERR_INVALID_ARGUMENT, "observing channel '" + name_ +
                                                         "' (this observer reports events: read it with "
                                                         "next_observation() or observations())");
        std::optional<observation> item = next_observation(limit);
        if (!item) return std::nullopt;
        return std::get<observed_message>(std::move(*item));
    }

    // The next message or event (events only with observe_options::events), or std::nullopt when the wait ran out.
    // Throws like next().
    std::optional<observation> next_observation(timeout limit = forever)
    {
        scratch_.resize(capacity_);
        sipc_observed_message raw;
        std::memset(&raw, 0, sizeof raw);
        raw.struct_size = sizeof raw;
        const int rc = sipc_observer_next(handle_, scratch_.data(), scratch_.size(), &raw, limit.milliseconds());
        if (rc == SIPC_ERR_TIMEOUT) return std::nullopt;
        detail::check(rc, "observing channel", name_);
        if (raw.kind == SIPC_OBSERVED_EVENT) return observation(event_from(raw));
        const std::size_t copied = raw.copied <= scratch_.size() ? raw.copied : scratch_.size();
        // A message owns exactly its bytes; the capacity-sized buffer is reused.
        std::vector<std::byte> data(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(copied));
        return observation(observed_message{static_cast<sipc::direction>(raw.direction), raw.sequence,
                                            raw.timestamp_ns, raw.length, raw.missed, message(std::move(data)),
                                            raw.discarded, raw.undeliverable != 0});
    }

    // Ends a blocked next() (and the iteration) from another thread; later calls fail with status::cancelled.
    void cancel() noexcept { sipc_observer_cancel(handle_); }

    channel_info info() const
    {
        channel_info out = detail::empty_info();
        detail::check(sipc_observer_info(handle_, &out), "reading the state of channel", name_);
        return out;
    }

    // What it did so far and why it missed what it missed. Safe from another thread while next() waits.
    observer_stats stats() const
    {
        observer_stats out;
        std::memset(&out.native, 0, sizeof out.native);
        out.native.struct_size = sizeof out.native;
        detail::check(sipc_observer_get_stats(handle_, &out.native), "reading the statistics of the observer of",
                      name_);
        const sipc_observer_stats &n = out.native;
        using ns = std::chrono::nanoseconds;
        const auto as_ns = [](std::uint64_t value) { return ns(static_cast<ns::rep>(value)); };
        out.messages = n.messages;
        out.missed = n.missed;
        out.missed_asleep = n.missed_asleep;
        out.missed_away = n.missed_away;
        out.missed_running = n.missed_running;
        out.sleeps = n.sleeps;
        out.woken = n.woken;
        out.polls = n.polls;
        out.spins = n.spins;
        out.spin_hits = n.spin_hits;
        out.wake_latency_count = n.wake_latency_count;
        out.wake_latency_total = as_ns(n.wake_latency_total_ns);
        out.wake_latency_max = as_ns(n.wake_latency_max_ns);
        out.longest_miss_gap = as_ns(n.longest_miss_gap_ns);
        out.longest_away = as_ns(n.longest_away_ns);
        out.producer_wakes = n.producer_wakes;
        return out;
    }

    // Input iterator over next()'s (Item = observed_message) or next_observation()'s (Item = observation) items;
    // the end is reached when the channel was removed or on cancel().
    template <class Item> class basic_iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = Item;
        using difference_type = std::ptrdiff_t;
        using pointer = const Item *;
        using reference = const Item &;

        basic_iterator() = default;
        explicit basic_iterator(observer *owner) : owner_(owner) { advance(); }
        reference operator*() const { return *current_; }
        pointer operator->() const { return &*current_; }
        basic_iterator &operator++()
        {
            advance();
            return *this;
        }
        void operator++(int) { advance(); }
        friend bool operator==(const basic_iterator &a, const basic_iterator &b) noexcept
        {
            return a.owner_ == b.owner_;
        }
        friend bool operator!=(const basic_iterator &a, const basic_iterator &b) noexcept { return !(a == b); }

    private:
        void advance()
        {
            try {
                if constexpr (std::is_same_v<Item, observation>)
                    current_ = owner_->next_observation(forever);
                else
                    current_ = owner_->next(forever);
            } catch (const error &e) {
                if (e.status_code() != status::not_found && e.status_code() != status::cancelled) throw;
                current_.reset();
                owner_ = nullptr;
            }
        }
        observer *owner_ = nullptr;
        std::optional<Item> current_;
    };
    using iterator = basic_iterator<observed_message>;
    iterator begin() { return iterator(this); }
    iterator end() noexcept { return iterator(); }

    // `for (const sipc::observation &o : obs.observations())`: messages and events until removal or cancel().
    class observation_range {
    public:
        explicit observation_range(observer &owner) noexcept : owner_(&owner) {}
        basic_iterator<observation> begin() { return basic_iterator<observation>(owner_); }
        basic_iterator<observation> end() noexcept { return basic_iterator<observation>(); }

    private:
        observer *owner_;
    };
    observation_range observations() noexcept { return observation_range(*this); }

private:
    [[noreturn]] void refuse(const std::string &why) const
    {
        detail::raise(SIPC_ERR_INVALID_ARGUMENT, "observing channel '" + name_ + "': " + why);
    }
    std::uint32_t validated_stall_ms(const observe_options &opts) const
    {
        const auto ms = opts.stall_timeout.count();
        if (ms == 0) return 0;
        if (!opts.lossless) refuse("stall_timeout applies to a lossless observer only (set lossless = true)");
        if (ms < 0 || ms > static_cast<std::chrono::milliseconds::rep>(SIPC_OBSERVE_STALL_MAX_MS))
            refuse("stall_timeout must be from 1 ms to " + std::to_string(SIPC_OBSERVE_STALL_MAX_MS) +
                   " ms (0: the default, " + std::to_string(SIPC_OBSERVE_STALL_DEFAULT_MS) + " ms)");
        return static_cast<std::uint32_t>(ms);
    }
    static observer_event event_from(const sipc_observed_message &raw) noexcept
    {
        const auto kind = static_cast<event_kind>(raw.event);
        const drop_reason reason = kind != event_kind::lossless_dropped ? drop_reason::none
                                   : raw.count >= 1 && raw.count <= 3   ? static_cast<drop_reason>(raw.count)
                                                                        : drop_reason::invalid;
        return observer_event{kind, static_cast<sipc::role>(raw.role), raw.session, raw.pid, raw.timestamp_ns, reason};
    }

    std::string name_;
    sipc_observer *handle_ = nullptr;
    std::size_t capacity_ = SIPC_DEFAULT_MAX_MESSAGE;
    bool events_ = false;
    std::vector<std::byte> scratch_;
};

// ---- channels by name ----

// Snapshot of a channel without attaching; status::not_found if there is none. Bounded by `limit` like every
// call by name (it takes no lock, so it does not wait for a lock holder).
inline channel_info stat(std::string_view name, timeout limit = std::chrono::milliseconds(SIPC_DEFAULT_LOCK_TIMEOUT_MS))
{
    const std::string owned(name);
    channel_info info = detail::empty_info();
    detail::check_by_name(sipc_stat_ex(owned.c_str(), limit.milliseconds(), &info), "reading the state of channel",
                          owned);
    return info;
}

// Names of the channels on this machine.
inline std::vector<std::string> list()
{
    std::vector<std::string> names;
    const int rc = sipc_list(
        [](const char *name, void *user) -> int {
            try {
                static_cast<std::vector<std::string> *>(user)->emplace_back(name);
                return 0;
            } catch (...) {
                return 1; // out of memory: stop listing
            }
        },
        &names);
    if (rc != SIPC_OK) detail::raise(rc, "listing the channels");
    return names;
}

// Removes a channel's name; status::busy while a live process is attached, unless force (which also removes
// what is not a valid channel). Waits at most `limit` for the channel's lock (status::timeout).
inline void remove(std::string_view name, bool force = false,
                   timeout limit = std::chrono::milliseconds(SIPC_DEFAULT_LOCK_TIMEOUT_MS))
{
    const std::string owned(name);
    detail::check_by_name(sipc_remove_ex(owned.c_str(), force ? SIPC_REMOVE_FORCE : 0u, limit.milliseconds()),
                          "removing channel", owned);
}

inline bool is_valid_name(std::string_view name)
{
    return sipc_validate_name(std::string(name).c_str()) == SIPC_OK;
}

inline const char *version() noexcept { return sipc_version(); }

} // namespace sipc

namespace std {
template <> struct is_error_code_enum<sipc::status> : true_type {};
} // namespace std

#endif // SIPC_HPP
