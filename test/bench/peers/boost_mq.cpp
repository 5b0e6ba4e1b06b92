// Boost.Interprocess message_queue as one transport of the peer benchmark: one queue per direction,
// created by the parent before it forks, opened by each side after. Every message is copied in by
// the sender and out by the receiver (the queue owns its buffers), like sipc.
#include "peers.h"

#include <boost/date_time/posix_time/posix_time_types.hpp>
#include <boost/interprocess/ipc/message_queue.hpp>

#include <cstdio>
#include <exception>
#include <memory>
#include <string>

namespace ipc = boost::interprocess;

namespace {

struct endpoint {
    std::unique_ptr<ipc::message_queue> out, in;
};

std::string queue_name(const char *prefix, const char *direction)
{
    return std::string(prefix) + "-" + direction;
}

void write_error(char *error, size_t capacity, const char *what, const std::exception &e)
{
    if (error && capacity) std::snprintf(error, capacity, "%s: %s", what, e.what());
}

boost::posix_time::ptime deadline_after(uint32_t timeout_ms)
{
    return boost::posix_time::microsec_clock::universal_time() + boost::posix_time::milliseconds(timeout_ms);
}

} // namespace

extern "C" int peers_boost_create(const char *prefix, uint32_t max_size, uint32_t depth, char *error,
                                  size_t error_capacity)
{
    try {
        for (const char *direction : {"ping", "pong"}) {
            std::string name = queue_name(prefix, direction);
            ipc::message_queue::remove(name.c_str());
            ipc::message_queue queue(ipc::create_only, name.c_str(), depth, max_size);
        }
        return 0;
    } catch (const std::exception &e) {
        write_error(error, error_capacity, "message_queue create", e);
        peers_boost_remove(prefix);
        return -2;
    }
}

extern "C" void *peers_boost_open(const char *prefix, int is_parent, char *error, size_t error_capacity)
{
    try {
        auto end = std::make_unique<endpoint>();
        std::string ping = queue_name(prefix, "ping"), pong = queue_name(prefix, "pong");
        end->out = std::make_unique<ipc::message_queue>(ipc::open_only, (is_parent ? ping : pong).c_str());
        end->in = std::make_unique<ipc::message_queue>(ipc::open_only, (is_parent ? pong : ping).c_str());
        return end.release();
    } catch (const std::exception &e) {
        write_error(error, error_capacity, "message_queue open", e);
        return nullptr;
    }
}

extern "C" int peers_boost_send(void *opaque, const void *data, size_t length, uint32_t timeout_ms)
{
    try {
        auto *end = static_cast<endpoint *>(opaque);
        return end->out->timed_send(data, length, 0, deadline_after(timeout_ms)) ? 0 : -1;
    } catch (const std::exception &) {
        return -2;
    }
}

extern "C" int peers_boost_recv(void *opaque, void *buffer, size_t capacity, size_t *length, uint32_t timeout_ms)
{
    try {
        auto *end = static_cast<endpoint *>(opaque);
        ipc::message_queue::size_type received = 0;
        unsigned int priority = 0;
        if (!end->in->timed_receive(buffer, capacity, received, priority, deadline_after(timeout_ms))) return -1;
        *length = received;
        return 0;
    } catch (const std::exception &) {
        return -2;
    }
}

extern "C" void peers_boost_close(void *opaque)
{
    delete static_cast<endpoint *>(opaque);
}

extern "C" void peers_boost_remove(const char *prefix)
{
    for (const char *direction : {"ping", "pong"}) ipc::message_queue::remove(queue_name(prefix, direction).c_str());
}
