// Process1 of the 2003 article's demo, with the C++ wrapper: connect, say hello, read the reply.
// Run `process1 [CHANNEL]` and `process2 [CHANNEL]` in two terminals, in either order.
#include <sipc.hpp>

#include <iostream>

using namespace std::chrono_literals;

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "mychannel";
    try {
        sipc::channel ipc(name, {.max_message_size = 1024}); // server or client, by who came first
        ipc.connect(30s);                                    // "Connect"
        ipc.send("Hello other process..");                   // "Say Hello"
        auto reply = ipc.recv(30s);                          // "Read reply": waits until it comes
        std::cout << "process1 got: " << reply.text() << std::endl;
    } catch (const sipc::error &e) {
        std::cerr << "process1: " << e.what() << std::endl;
        return 1;
    }
    return 0;
}
