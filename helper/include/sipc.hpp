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
    template <class Rep, class Period> static constexpr std::int32_t clamp(std::chrono::duration<Rep, Period> d) noexcept
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
template <class T>
struct is_byte_container<T, std::void_t<decltype(std::data(std::declval<T &>())), decltype(std::size(std::declval<T &>()))>>
    : std::bool_constant<sizeof(*std::data(std::declval<T &>())) == 1 &&
                         std::is_trivially_copyable_v<std::remove_pointer_t<decltype(std::data(std::declval<T &>()))>>> {};
} // namespace detail

// Read-only bytes to send: a string (literal, std::string, std::string_view), any contiguous container of
// one-byte elements (std::vector<std::byte>, std::array<std::uint8_t, N>, sipc::message, ...) or a pointer
// and a length. A string literal is sent without its terminating NUL.
class const_bytes {
public:
    constexpr const_bytes() noexcept = default;
    const_bytes(const void *data, std::size_t size) noexcept : data_(static_cast<const std::byte *>(data)), size_(size) {}
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
            if (rc == SIPC_ERR_BUFFER_TOO_SMALL || (rc == SIPC_ERR_TIMEOUT && wait_ms != 0 && !deadline_passed(deadline))) {
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
    bool truncated() const noexcept { return data.size() < length; }
    std::chrono::system_clock::time_point time() const
    {
        return std::chrono::system_clock::time_point(
            std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(timestamp_ns)));
    }
};

// Read-only view of a channel's traffic in both directions, from the moment it attached; never consumes
// anything. Iterable: `for (const auto &m : sipc::observer("demo")) ...` runs until the channel is removed
// or cancel() is called from another thread.
class observer {
public:
    explicit observer(std::string_view name) : name_(name)
    {
        detail::check_by_name(sipc_observe(name_.c_str(), &handle_), "observing channel", name_);
        channel_info info = this->info();
        capacity_ = info.max_message_size != 0 ? info.max_message_size : SIPC_DEFAULT_MAX_MESSAGE;
    }
    observer(const observer &) = delete;
    observer &operator=(const observer &) = delete;
    observer(observer &&other) noexcept
        : name_(std::move(other.name_)), handle_(std::exchange(other.handle_, nullptr)), capacity_(other.capacity_)
    {
    }
    observer &operator=(observer &&other) noexcept
    {
        if (this != &other) {
            close();
            name_ = std::move(other.name_);
            handle_ = std::exchange(other.handle_, nullptr);
            capacity_ = other.capacity_;
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

    // The next message in either direction (send-time order), or std::nullopt when the wait ran out.
    // Throws sipc::error: status::not_found once the channel was removed, status::cancelled after cancel().
    // Not for several threads at once (one observer follows one position); cancel() is.
    std::optional<observed_message> next(timeout limit = forever)
    {
        scratch_.resize(capacity_);
        sipc_observed_message raw;
        std::memset(&raw, 0, sizeof raw);
        raw.struct_size = sizeof raw;
        const int rc = sipc_observer_next(handle_, scratch_.data(), scratch_.size(), &raw, limit.milliseconds());
        if (rc == SIPC_ERR_TIMEOUT) return std::nullopt;
        detail::check(rc, "observing channel", name_);
        const std::size_t copied = raw.copied <= scratch_.size() ? raw.copied : scratch_.size();
        // A message owns exactly its bytes; the capacity-sized buffer is reused.
        std::vector<std::byte> data(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(copied));
        return observed_message{static_cast<sipc::direction>(raw.direction), raw.sequence, raw.timestamp_ns,
                                raw.length, raw.missed, message(std::move(data))};
    }

    // Ends a blocked next() (and the iteration) from another thread; later calls fail with status::cancelled.
    void cancel() noexcept { sipc_observer_cancel(handle_); }

    channel_info info() const
    {
        channel_info out = detail::empty_info();
        detail::check(sipc_observer_info(handle_, &out), "reading the state of channel", name_);
        return out;
    }

    // Input iterator over the messages; the end is reached when the channel was removed or on cancel().
    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = observed_message;
        using difference_type = std::ptrdiff_t;
        using pointer = const observed_message *;
        using reference = const observed_message &;

        iterator() = default;
        explicit iterator(observer *owner) : owner_(owner) { advance(); }
        reference operator*() const { return *current_; }
        pointer operator->() const { return &*current_; }
        iterator &operator++()
        {
            advance();
            return *this;
        }
        void operator++(int) { advance(); }
        friend bool operator==(const iterator &a, const iterator &b) noexcept { return a.owner_ == b.owner_; }
        friend bool operator!=(const iterator &a, const iterator &b) noexcept { return !(a == b); }

    private:
        void advance()
        {
            try {
                current_ = owner_->next(forever);
            } catch (const error &e) {
                if (e.status_code() != status::not_found && e.status_code() != status::cancelled) throw;
                current_.reset();
                owner_ = nullptr;
            }
        }
        observer *owner_ = nullptr;
        std::optional<observed_message> current_;
    };
    iterator begin() { return iterator(this); }
    iterator end() noexcept { return iterator(); }

private:
    std::string name_;
    sipc_observer *handle_ = nullptr;
    std::size_t capacity_ = SIPC_DEFAULT_MAX_MESSAGE;
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
