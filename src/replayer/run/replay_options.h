// What one tcpreplay2 run is asked to do: every option of the command line as values, filled by
// the command line's parser (cli/options.h) and read by the wiring (run/), which converts what
// each part needs (transports, sources, the report) in one place (run/transport_setup.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/net/flow_key.h"
#include "common/os/privileges.h"
#include "replayer/sessions/answer_digest.h"
#include "replayer/sessions/session_builder.h"
#include "replayer/transport/modes.h"

namespace tcpr::replay {

// Live passthrough (no --in): copy what arrives on the online port, as tcpcopy does.
struct LiveOptions {
    std::string record;                           // --record FILE: archive of the capture
    int record_level = 3;                         // zstd level of --record
    bool daemon = false;                          // -d
    std::string pidfile, logfile;                 // --pidfile, --logfile (with -d)
    uint64_t idle_ns = 120'000'000'000;           // --idle-timeout: a quiet connection is over
    uint64_t stats_interval_ns = 10'000'000'000;  // --stats-interval (stderr not a terminal)
    uint64_t max_buffer_bytes = 256ull << 20;     // --max-buffer: client bytes held for copies
    uint64_t max_lag_ns = 10'000'000'000;  // --max-lag: shed new connections beyond (0: never)
    uint64_t drain_ns = 5'000'000'000;     // at stop: time copies get to finish
    bool promiscuous = false;              // --promisc
};

// --max-active's default at --speed max (docs/replay.md, "Options").
constexpr uint64_t kMaxSpeedActive = 256;

struct ReplayOptions {
    std::vector<std::string> inputs;         // --in as given: files and glob patterns
    std::string input;                       // how the report names them: the arguments, joined
    uint32_t shard = 0, shards = 1;          // --shard I/N: replay shard I of N (0 <= I < N)
    net::Endpoint target;                    // --target / -x
    std::optional<net::Endpoint> intercept;  // --intercept / -s
    bool intercept_by_default = false;       // raw, no --intercept: the target host, port 36524
    std::optional<net::Endpoint> metrics;    // --metrics ADDR:PORT
    std::vector<uint8_t> auth_key;           // --auth-key FILE: the key intercept asks for
    std::string user = os::kDefaultUser;     // -Z: who a replay started as root becomes
    bool user_given = false;
    TransportMode transport = TransportMode::Raw;  // --transport raw|socket
    std::string diff_file;                         // --diff FILE (socket transport)
    bool compare = true;                           // --no-compare: no comparison per endpoint
    NoiseRules noise_rules;  // --ignore, --ignore-json, --ignore-header, --compare-header
    std::shared_ptr<const CompiledNoiseRules> noise;  // compiled (null: the defaults)
    InjectMode inject = InjectMode::RawSocket;        // --inject raw|pcap
    std::string interface;                            // -i, with --inject pcap
    std::string next_hop_mac;              // --next-hop-mac, with --inject pcap on Ethernet
    uint32_t speed_milli = 1000;           // --speed: 1000 = 1x, 0 = max
    uint32_t copies = 1;                   // --copies / -n
    uint32_t loops = 1;                    // --loop
    BuilderOptions builder;                // --port, --sessions, --sample, --request-gap
    std::optional<uint64_t> duration_ns;   // --duration
    std::optional<uint64_t> start_at_ns;   // --start-at (ns since the epoch)
    std::string report_json;               // --report json FILE (or --report FILE)
    std::string report_html;               // --report html FILE
    std::string report_requests;           // --report requests FILE
    uint64_t timeout_ns = 30'000'000'000;  // --timeout
    double max_failed_percent = 1.0;       // --max-failed
    std::optional<Cidr> client_pool;       // --client-pool
    uint64_t max_active = 100'000;         // --max-active (kMaxSpeedActive at --speed max)
    uint16_t mtu = 1500;                   // --mtu: segments are cut to fit it
    uint64_t linger_ns = 60'000'000'000;   // --linger: a used client tuple stays reserved
    bool dry_run = false;                  // --dry-run: print the sessions, send nothing
    bool in_memory = false;  // --in-memory: build the whole recording before replaying it
    int verbosity = 0;       // -v (1), -vv (2)
    bool quiet = false;      // -q
    LiveOptions live;        // live passthrough (no --in): above
};

// Checks that every output file (--report json/html/requests, --diff) can be created, before
// anything is sent: a long run's result must never be lost. Throws Error(Io) with one line.
void check_output_paths(const ReplayOptions& o);

// -Z, once everything privileged is open (the capture, the packet sender, the metrics socket,
// the input) and before anything is sent: a replay started as root becomes o.user
// (os::drop_privileges), then the outputs, and the inputs a --loop reads again, are checked
// again as that user. Throws Error with one line naming the user and -Z.
void become_user(const ReplayOptions& o, const std::vector<std::string>& reread_inputs);

// Live mode: the command line has no --in.
inline bool is_live(const ReplayOptions& o) { return o.inputs.empty() && o.input.empty(); }

}  // namespace tcpr::replay
