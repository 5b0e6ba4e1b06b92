// Process2 of the 2003 article's demo, with the C++ wrapper: connect, receive the salutation, send a reply.
#include <sipc.hpp>

#include <iostream>

using namespace std::chrono_literals;

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "mychannel";
    try {
        sipc::channel ipc(name, {.max_message_size = 1024});
        ipc.connect(30s);                            // "Connect"
        auto salutation = ipc.recv(30s);             // "Receive salutation"
        std::cout << "process2 got: " << salutation.text() << std::endl;
        ipc.send("Hello to you too, process1");      // "Send reply": stays deliverable after we leave
    } catch (const sipc::error &e) {
        std::cerr << "process2: " << e.what() << std::endl;
        return 1;
    }
    return 0;
}
