//! iceoryx2 as one transport of sipc's peer benchmark (test/bench/peers/peers_bench.c).
//!
//! The C harness drives every transport through the same four calls (open, send, recv, close), so
//! this crate is only an adapter: two publish-subscribe services of byte slices ("ping" from the
//! parent, "pong" from the child) and, in event-driven mode, two event services whose notifications
//! wake the receiver's Listener. Busy mode polls the subscriber, as iceoryx2's own benchmarks do.
//!
//! Zero copy is kept where iceoryx2 offers it: `send` copies the caller's bytes into a loaned sample
//! (the one copy a program holding data must make), `recv` hands out a pointer into shared memory
//! and holds the sample until the next `recv` or `close`; nothing is copied out.

use core::ffi::{c_char, c_int, CStr};
use core::time::Duration;
use std::time::Instant;

use iceoryx2::port::listener::Listener;
use iceoryx2::port::notifier::Notifier;
use iceoryx2::port::publisher::Publisher;
use iceoryx2::port::subscriber::Subscriber;
use iceoryx2::prelude::*;
use iceoryx2::sample::Sample;
use iceoryx2::service::port_factory::event::PortFactory as EventFactory;
use iceoryx2::service::port_factory::publish_subscribe::PortFactory as PubSubFactory;

type Bytes = [u8];

pub struct Endpoint {
    // Field order is drop order: ports before their services, services before the node.
    held: Option<Sample<ipc::Service, Bytes, ()>>,
    publisher: Publisher<ipc::Service, Bytes, ()>,
    subscriber: Subscriber<ipc::Service, Bytes, ()>,
    notifier: Option<Notifier<ipc::Service>>,
    listener: Option<Listener<ipc::Service>>,
    _out_service: PubSubFactory<ipc::Service, Bytes, ()>,
    _in_service: PubSubFactory<ipc::Service, Bytes, ()>,
    _out_event: Option<EventFactory<ipc::Service>>,
    _in_event: Option<EventFactory<ipc::Service>>,
    _node: Node<ipc::Service>,
}

const OK: c_int = 0;
const ERR_TIMEOUT: c_int = -1;
const ERR_FAILED: c_int = -2;

fn write_error(error: *mut c_char, capacity: usize, message: &str) {
    if error.is_null() || capacity == 0 {
        return;
    }
    let bytes = message.as_bytes();
    let length = bytes.len().min(capacity - 1);
    // SAFETY: the caller passes a writable buffer of `capacity` bytes.
    unsafe {
        core::ptr::copy_nonoverlapping(bytes.as_ptr(), error as *mut u8, length);
        *error.add(length) = 0;
    }
}

fn service_name(prefix: &str, suffix: &str) -> Result<ServiceName, String> {
    ServiceName::new(&format!("{prefix}/{suffix}")).map_err(|e| format!("service name: {e:?}"))
}

/// Both processes call this at the same time; open_or_create can fail while the other side is
/// half way through creating the same service, so it is retried until the deadline.
fn retry<T, E: core::fmt::Debug>(
    what: &str,
    deadline: Instant,
    mut attempt: impl FnMut() -> Result<T, E>,
) -> Result<T, String> {
    loop {
        match attempt() {
            Ok(value) => return Ok(value),
            Err(e) if Instant::now() >= deadline => return Err(format!("{what}: {e:?}")),
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

fn pubsub(
    node: &Node<ipc::Service>,
    name: &ServiceName,
    depth: usize,
    deadline: Instant,
) -> Result<PubSubFactory<ipc::Service, Bytes, ()>, String> {
    retry("publish-subscribe service", deadline, || {
        node.service_builder(name)
            .publish_subscribe::<Bytes>()
            .max_publishers(1)
            .max_subscribers(1)
            .history_size(0)
            .subscriber_max_buffer_size(depth)
            // A full queue holds the sender back (like every other transport in the benchmark)
            // instead of overwriting the oldest sample.
            .enable_safe_overflow(false)
            .open_or_create()
    })
}

fn event(
    node: &Node<ipc::Service>,
    name: &ServiceName,
    deadline: Instant,
) -> Result<EventFactory<ipc::Service>, String> {
    retry("event service", deadline, || {
        node.service_builder(name)
            .event()
            .max_notifiers(1)
            .max_listeners(1)
            .open_or_create()
    })
}

fn open(
    prefix: &str,
    is_parent: bool,
    max_size: usize,
    depth: usize,
    event_driven: bool,
    timeout: Duration,
) -> Result<Endpoint, String> {
    let deadline = Instant::now() + timeout;
    let node = NodeBuilder::new()
        // The harness owns signals (it kills a stuck child); iceoryx2 must not install handlers.
        .signal_handling_mode(SignalHandlingMode::Disabled)
        .create::<ipc::Service>()
        .map_err(|e| format!("node: {e:?}"))?;
    // Debris of a killed earlier run would otherwise hold the service names' resources.
    let _ = node.try_cleanup_dead_nodes();
    let (out_suffix, in_suffix) = if is_parent { ("ping", "pong") } else { ("pong", "ping") };
    let out_service = pubsub(&node, &service_name(prefix, out_suffix)?, depth, deadline)?;
    let in_service = pubsub(&node, &service_name(prefix, in_suffix)?, depth, deadline)?;
    let publisher = out_service
        .publisher_builder()
        .initial_max_slice_len(max_size)
        .max_loaned_samples(2)
        .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
        .create()
        .map_err(|e| format!("publisher: {e:?}"))?;
    let subscriber = in_service
        .subscriber_builder()
        .buffer_size(depth)
        .create()
        .map_err(|e| format!("subscriber: {e:?}"))?;
    let (mut out_event, mut in_event, mut notifier, mut listener) = (None, None, None, None);
    if event_driven {
        let out_factory = event(&node, &service_name(prefix, &format!("{out_suffix}-event"))?, deadline)?;
        let in_factory = event(&node, &service_name(prefix, &format!("{in_suffix}-event"))?, deadline)?;
        notifier = Some(out_factory.notifier_builder().create().map_err(|e| format!("notifier: {e:?}"))?);
        listener = Some(in_factory.listener_builder().create().map_err(|e| format!("listener: {e:?}"))?);
        out_event = Some(out_factory);
        in_event = Some(in_factory);
    }
    // A sample published before the peer's subscriber exists is lost (history 0): wait until every
    // port of both directions is there. This is set-up, outside every measurement.
    loop {
        let pubsub_ready = [&out_service, &in_service].iter().all(|service| {
            service.dynamic_config().number_of_publishers() == 1
                && service.dynamic_config().number_of_subscribers() == 1
        });
        let events_ready = [&out_event, &in_event].iter().all(|service| match service {
            Some(service) => {
                service.dynamic_config().number_of_notifiers() == 1
                    && service.dynamic_config().number_of_listeners() == 1
            }
            None => true,
        });
        if pubsub_ready && events_ready {
            break;
        }
        if Instant::now() >= deadline {
            return Err("the peer's ports did not appear in time".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(Endpoint {
        held: None,
        publisher,
        subscriber,
        notifier,
        listener,
        _out_service: out_service,
        _in_service: in_service,
        _out_event: out_event,
        _in_event: in_event,
        _node: node,
    })
}

/// Opens one side. `prefix` names the pair (unique per measurement); the parent publishes on
/// "ping", the child on "pong". Returns NULL with a message in `error` on failure.
#[no_mangle]
pub extern "C" fn peers_iox_open(
    prefix: *const c_char,
    is_parent: c_int,
    max_size: usize,
    depth: usize,
    event_driven: c_int,
    timeout_ms: u32,
    error: *mut c_char,
    error_capacity: usize,
) -> *mut Endpoint {
    if prefix.is_null() {
        write_error(error, error_capacity, "prefix is NULL");
        return core::ptr::null_mut();
    }
    // SAFETY: the caller passes a NUL-terminated string.
    let prefix = match unsafe { CStr::from_ptr(prefix) }.to_str() {
        Ok(prefix) => prefix,
        Err(_) => {
            write_error(error, error_capacity, "prefix is not UTF-8");
            return core::ptr::null_mut();
        }
    };
    set_log_level(LogLevel::Error);
    let timeout = Duration::from_millis(u64::from(timeout_ms));
    match open(prefix, is_parent != 0, max_size.max(1), depth.max(1), event_driven != 0, timeout) {
        Ok(endpoint) => Box::into_raw(Box::new(endpoint)),
        Err(message) => {
            write_error(error, error_capacity, &message);
            core::ptr::null_mut()
        }
    }
}

/// Copies `length` bytes into a loaned sample and publishes it; in event-driven mode then notifies
/// the peer's Listener. A full subscriber queue makes the publisher retry until there is room.
#[no_mangle]
pub extern "C" fn peers_iox_send(endpoint: *mut Endpoint, data: *const u8, length: usize) -> c_int {
    // SAFETY: `endpoint` comes from peers_iox_open and is used by one thread.
    let Some(endpoint) = (unsafe { endpoint.as_mut() }) else { return ERR_FAILED };
    let bytes: &[u8] = if length == 0 {
        &[]
    } else {
        // SAFETY: the caller passes `length` readable bytes.
        unsafe { core::slice::from_raw_parts(data, length) }
    };
    let Ok(sample) = endpoint.publisher.loan_slice_uninit(length) else { return ERR_FAILED };
    if sample.write_from_slice(bytes).send().is_err() {
        return ERR_FAILED;
    }
    if let Some(notifier) = &endpoint.notifier {
        if notifier.notify().is_err() {
            return ERR_FAILED;
        }
    }
    OK
}

/// Takes the next sample: polls the subscriber (busy mode) or sleeps in the Listener between polls
/// (event-driven mode). `*data` points into shared memory until the next recv or close.
#[no_mangle]
pub extern "C" fn peers_iox_recv(
    endpoint: *mut Endpoint,
    data: *mut *const u8,
    length: *mut usize,
    timeout_ms: u32,
) -> c_int {
    // SAFETY: as in peers_iox_send.
    let Some(endpoint) = (unsafe { endpoint.as_mut() }) else { return ERR_FAILED };
    if data.is_null() || length.is_null() {
        return ERR_FAILED;
    }
    endpoint.held = None; // the previous sample goes back to its publisher
    let deadline = Instant::now() + Duration::from_millis(u64::from(timeout_ms));
    let mut polls: u32 = 0;
    loop {
        match endpoint.subscriber.receive() {
            Ok(Some(sample)) => {
                // SAFETY: both pointers were checked above.
                unsafe {
                    *data = sample.payload().as_ptr();
                    *length = sample.payload().len();
                }
                endpoint.held = Some(sample);
                return OK;
            }
            Ok(None) => {}
            Err(_) => return ERR_FAILED,
        }
        match &endpoint.listener {
            Some(listener) => {
                let now = Instant::now();
                if now >= deadline {
                    return ERR_TIMEOUT;
                }
                if listener.timed_wait(|_| {}, deadline - now).is_err() {
                    return ERR_FAILED;
                }
            }
            None => {
                core::hint::spin_loop();
                polls = polls.wrapping_add(1);
                if polls % 1024 == 0 && Instant::now() >= deadline {
                    return ERR_TIMEOUT;
                }
            }
        }
    }
}

/// Closes one side: releases the held sample, the ports, the services and the node (the last
/// user of a service removes its shared-memory files).
#[no_mangle]
pub extern "C" fn peers_iox_close(endpoint: *mut Endpoint) {
    if !endpoint.is_null() {
        // SAFETY: `endpoint` comes from peers_iox_open and is not used after this call.
        drop(unsafe { Box::from_raw(endpoint) });
    }
}
