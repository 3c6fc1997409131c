#include "replayer/run/transport_setup.h"

#include "common/base/error.h"
#include "common/base/log.h"
#include "common/os/files.h"
#include "common/os/pcap_injector.h"
#include "common/os/raw_socket.h"

namespace tcpr::replay {

RawIo open_raw_io(const ReplayOptions& o, const std::string& client_name,
                  const std::string& missing_intercept, bool bodies) {
    RawIo io;
    if (o.inject == InjectMode::Pcap) {
        io.sink = std::make_unique<os::PcapInjector>(
            os::PcapInjector::open(o.interface, o.target, o.next_hop_mac));
    } else {
        io.sink = std::make_unique<os::RawSocket>(os::RawSocket::open(o.target));
    }
    if (!o.intercept) {
        throw Error(ErrorKind::Usage, missing_intercept);
    }
    InterceptOptions io_options;
    io_options.address = *o.intercept;
    io_options.name = client_name;
    io_options.features = bodies ? wire::kFeaturePayload : 0;
    io_options.auth_key = o.auth_key;
    io.intercept = std::make_unique<InterceptClient>(io_options);
    io.intercept->connect();
    return io;
}

uint64_t prepare_socket(const ReplayOptions& o) {
    if (o.intercept || o.client_pool || o.inject != InjectMode::RawSocket) {
        log::warn(
            "--transport socket connects from this host's own address: --intercept, "
            "--client-pool and --inject are not used");
    }
    return os::raise_open_file_limit();
}

RawTransportOptions raw_transport_options(const ReplayOptions& o, const TransportUse& use) {
    RawTransportOptions ro;
    ro.driver.target = o.target;
    ro.driver.speed_milli = use.speed_milli;
    ro.driver.compare = o.compare;
    ro.driver.noise = o.noise.get();
    ro.driver.endpoints = o.builder.endpoints;
    ro.driver.timeout_ns = o.timeout_ns;
    const uint16_t headers = o.target.addr.version == 6 ? 60 : 40;
    ro.driver.max_segment = static_cast<uint16_t>(o.mtu - headers);
    ro.endpoints.pool = o.client_pool;
    ro.endpoints.linger_ns = o.linger_ns;
    ro.endpoints.port_classes = o.shards;
    ro.endpoints.port_class = o.shard;
    if (o.intercept) {
        ro.endpoints.reserved_ports.push_back(o.intercept->port);
    }
    ro.copies = o.copies;
    ro.feed = use.feed;
    ro.requests = use.requests;
    return ro;
}

SocketTransportOptions socket_transport_options(const ReplayOptions& o, const TransportUse& use) {
    SocketTransportOptions so;
    so.target = o.target;
    so.speed_milli = use.speed_milli;
    so.compare = o.compare;
    so.noise = o.noise.get();
    so.endpoints = o.builder.endpoints;
    so.timeout_ns = o.timeout_ns;
    so.feed = use.feed;
    so.requests = use.requests;
    so.copies = o.copies;
    return so;
}

std::unique_ptr<Transport> make_transport(const Recording& recording, const ReplayOptions& o,
                                          const TransportUse& use, RawIo io, DiffWriter* diff) {
    if (o.transport == TransportMode::Socket) {
        return std::make_unique<SocketTransport>(recording, socket_transport_options(o, use), diff);
    }
    return std::make_unique<RawTransport>(recording, raw_transport_options(o, use),
                                          std::move(io.sink), std::move(io.intercept));
}

std::string describe_transport(const ReplayOptions& o, const TransportUse& /*use*/) {
    if (o.transport == TransportMode::Socket) {
        return is_live(o) ? "socket (connect/send/recv)"
                          : "socket (one TCP connection per session)";
    }
    return o.inject == InjectMode::Pcap ? "raw (pcap_inject on " + o.interface + ")"
                                        : std::string("raw (IP_HDRINCL socket)");
}

}  // namespace tcpr::replay
