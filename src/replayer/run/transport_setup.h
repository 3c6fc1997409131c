// The transports made from the command line, in one place for archive replay and live
// passthrough: the raw transport's I/O (packet sender bound to --target, intercept client), the
// socket transport's preparation (descriptor limit, --diff file), the options each transport
// takes from ReplayOptions, and the transport's name in the report. The transports themselves
// never see ReplayOptions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/net/packet_sink.h"
#include "common/os/metrics_server.h"
#include "replayer/run/replay_options.h"
#include "replayer/sessions/recording.h"
#include "replayer/sessions/session_feed.h"
#include "replayer/transport/intercept_client.h"
#include "replayer/transport/raw_transport.h"
#include "replayer/transport/response_diff.h"
#include "replayer/transport/socket_transport.h"
#include "replayer/transport/transport.h"

namespace tcpr::replay {

class LiveSource;

// The raw transport's I/O: the packet sender (raw socket or pcap injector, both bound to
// --target) and a connected intercept client, which asks for the answers' payloads when
// `bodies` (to compare answer bodies). Throws tcpr::Error: no permission, intercept
// unreachable or refusing (without --intercept, intercept on the target's host was assumed: the
// line then names --intercept and --transport socket), each line beginning with `what` ("raw
// replay", "live passthrough").
struct RawIo {
    std::unique_ptr<net::PacketSink> sink;
    std::unique_ptr<InterceptClient> intercept;
};
RawIo open_raw_io(const ReplayOptions& o, const std::string& client_name, const std::string& what,
                  bool bodies);

// --transport socket: warns about the raw-only options given and raises the open-descriptor
// limit (one descriptor per active session). Returns the limit now.
uint64_t prepare_socket(const ReplayOptions& o);

// What differs between the archive's and the live input's use of a transport.
struct TransportUse {
    uint32_t speed_milli = 1000;     // think times / speed (live: 1x, the live client's pace)
    SessionFeed* feed = nullptr;     // live: the sessions grow while replayed (session_feed.h)
    RequestLog* requests = nullptr;  // --report requests FILE
};

RawTransportOptions raw_transport_options(const ReplayOptions& o, const TransportUse& use);
SocketTransportOptions socket_transport_options(const ReplayOptions& o, const TransportUse& use);

// The transport --transport asks for, over `recording` (which must outlive it). Raw: takes
// `io` (open_raw_io()). Socket: `diff` may be null and must outlive the transport.
std::unique_ptr<Transport> make_transport(const Recording& recording, const ReplayOptions& o,
                                          const TransportUse& use, RawIo io, DiffWriter* diff);

// What --metrics reads at a scrape: set once the run's parts exist (null before).
struct MetricsSources {
    const Transport* transport = nullptr;
    const LiveSource* live = nullptr;  // live passthrough
};
// --metrics: listens now (a port in use is one error line before the run), serving
// format_metrics() of `sources` once the run loop attaches it. Null without --metrics.
std::unique_ptr<os::MetricsServer> open_metrics(const ReplayOptions& o,
                                                const MetricsSources& sources);

// The transport as the report names it (RunSummary::transport).
std::string describe_transport(const ReplayOptions& o, const TransportUse& use);

}  // namespace tcpr::replay
