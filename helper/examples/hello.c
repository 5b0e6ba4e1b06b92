/* A C peer: `hello CHANNEL` sends "hello" and prints the answer; a second `hello CHANNEL` is the one
 * that answers (whoever opens the channel first is the server and answers). */
#include <sipc.h>

#include <stdio.h>

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "hello-c";
    sipc_channel *ch = NULL;
    int rc = sipc_open(name, NULL, &ch);
    if (rc == SIPC_OK) rc = sipc_connect(ch, 30000);
    char buffer[256];
    size_t length = 0;
    if (rc == SIPC_OK && sipc_get_role(ch) == SIPC_ROLE_SERVER) {
        rc = sipc_recv(ch, buffer, sizeof buffer, &length, 30000);
        if (rc == SIPC_OK) rc = sipc_send(ch, "hello back", 10, 30000);
        if (rc == SIPC_OK) printf("server got: %.*s\n", (int)length, buffer);
        if (rc == SIPC_OK) rc = sipc_recv(ch, buffer, sizeof buffer, &length, 30000); /* until the client left */
        if (rc == SIPC_ERR_PEER_GONE) rc = SIPC_OK;
    } else if (rc == SIPC_OK) {
        rc = sipc_send(ch, "hello", 5, 30000);
        if (rc == SIPC_OK) rc = sipc_recv(ch, buffer, sizeof buffer, &length, 30000);
        if (rc == SIPC_OK) printf("client got: %.*s\n", (int)length, buffer);
    }
    if (ch != NULL) sipc_close(ch);
    if (rc != SIPC_OK) fprintf(stderr, "hello %s: %s (%s)\n", name, sipc_strerror(rc), sipc_status_name(rc));
    return rc == SIPC_OK ? 0 : 1;
}
