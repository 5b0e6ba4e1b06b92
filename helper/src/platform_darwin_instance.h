/* platform_darwin_instance.h — telling one shm object of a key from the next one on macOS, whose fstat of a shm
 * descriptor fills in only mode, owner, group and size (xnu's pshm_stat): no device, no inode, so two objects of
 * the same name cannot be told apart by the OS. The creator writes a random instance id into its object as soon as
 * it has sized it (platform.h, SIPC_OS_INSTANCE_OFFSET); "is this handle still the object the name leads to" reads
 * the ids of both (PROTOCOL.md, "macOS", "Current object"). Used by platform_darwin_shm.c. Plain POSIX (fstat,
 * mmap, getentropy), so the C suite also builds it on Linux with SIPC_TEST_DARWIN_FILES and can give Linux segments
 * this identity instead of their inode (test-only; the Linux library never contains it). */
#ifndef SIPC_PLATFORM_DARWIN_INSTANCE_H
#define SIPC_PLATFORM_DARWIN_INSTANCE_H

#if defined(__APPLE__) || defined(SIPC_TEST_DARWIN_FILES)

#include "platform.h"

/* Writes a new random instance id into the object open read-write as `fd`, which its creator has just sized to at
 * least SIPC_OS_INSTANCE_OFFSET + SIPC_OS_INSTANCE_SIZE bytes. SIPC_OK or an error (recorded). */
int darwin_instance_write(int fd);

/* Opens the object the key names now (read-only, without blocking): a descriptor, or -1 with errno set (ENOENT:
 * the key names nothing). */
typedef int (*darwin_open_named)(void *context);

/* sipc_os_segment_is_current for the object open as `own_fd`: 1 if open_named(context) leads to the same object,
 * 0 if to another one or to none, negative on error. Objects are the same when they carry the same instance id; a
 * handle whose object carries none (not sized yet, or made by an implementation that writes none) cannot be told
 * from an object that carries none either: that counts as the same (as macOS's zero identities always did). */
int darwin_instance_is_current(int own_fd, darwin_open_named open_named, void *context);

#if defined(SIPC_TEST_DARWIN_FILES) && defined(__linux__)
/* Test builds on Linux: from now on this process tells segments apart as macOS does, by their instance ids instead
 * of device and inode (creators write ids when they first size their objects). platform_posix_shm.c. */
void sipc_test_use_macos_identity(int on);
#endif

#endif

#endif
