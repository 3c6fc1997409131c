#include "replayer/run/transport_setup.h"

#include "common/base/error.h"
#include "common/base/log.h"
#include "common/os/files.h"
#include "common/os/metrics_server.h"
#include "common/os/pcap_injector.h"
#include "common/os/raw_socket.h"
#include "replayer/report/metrics.h"
#include "replayer/source/live_source.h"

namespace tcpr::replay {

RawIo open_raw_io(const ReplayOptions& o, const std::string& client_name, const std::string& what,
                  bool bodies) {
    RawIo io;
    if (o.inject == InjectMode::Pcap) {
        io.sink = std::make_unique<os::PcapInjector>(
            os::PcapInjector::open(o.interface, o.target, o.next_hop_mac));
    } else {
        io.sink = std::make_unique<os::RawSocket>(os::RawSocket::open(o.target));
    }
    if (!o.intercept) {
        throw Error(ErrorKind::Usage, what +
                                          " needs intercept to see the target's answers: give "
                                          "--intercept HOST[:PORT] (tcpcopy's -s), or use "
                                          "--transport socket");
    }
    InterceptOptions io_options;
    io_options.address = *o.intercept;
    io_options.name = client_name;
    // Intercept may merge the segments of an answer into fewer reports (a 64 kB answer: 45
    // segments, often 1-3 reports), with their payloads when bodies are compared.
    io_options.features = (bodies ? wire::kFeaturePayload : 0) | wire::kFeatureMerge;
    io_options.auth_key = o.auth_key;
    io.intercept = std::make_unique<InterceptClient>(io_options);
    try {
        io.intercept->connect();
    } catch (const Error& e) {
        if (!o.intercept_by_default || e.kind() != ErrorKind::Network) {
            throw;
        }
        // No --intercept: the single-host deployment was assumed. Name both ways on.
        throw Error(ErrorKind::Network,
                    what + " found no intercept on the target's host (" + e.what() +
                        "): run intercept there, give --intercept HOST[:PORT] where it runs "
                        "(tcpcopy's -s), or use --transport socket (ordinary connections, no "
                        "intercept)");
    }
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
    ro.driver.exact_length_ends = is_live(o);
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

std::unique_ptr<os::MetricsServer> open_metrics(const ReplayOptions& o,
                                                const MetricsSources& sources) {
    if (!o.metrics) {
        return nullptr;
    }
    const MetricsSources* src = &sources;
    const uint32_t copies = o.copies;
    auto server = std::make_unique<os::MetricsServer>(*o.metrics, [src, copies] {
        MetricsView v;
        v.copies = copies;
        if (src->transport != nullptr) {
            v.counters = &src->transport->counters();
            v.active = src->transport->active();
        }
        if (src->live != nullptr) {
            const LiveSource& live = *src->live;
            v.live = &live.sessions().stats();
            v.buffered_bytes = live.sessions().buffered_bytes();
            v.open_sessions = live.sessions().open_sessions();
            v.capture_drops = src->live->capture_drops_now();
        }
        return format_metrics(v);
    });
    log::info("serving metrics on http://%s/metrics", server->local_endpoint().to_string().c_str());
    return server;
}

}  // namespace tcpr::replay
