// The raw-replay lab of the end-to-end tests (docs/replay.md, "Deployment"): a replayer host, a
// target host with nginx, and intercept either on an assistant host (the target routes the
// recorded client addresses to it) or on the target itself behind a dummy (or ifb) interface.
// Plus running tcpreplay2 there with a deadline, and reading the target's state afterwards.
// Used by replay_e2e_test.cpp (the bundled sample) and fidelity_e2e_test.cpp (captures made by
// real clients). Inside a Catch2 test only (it REQUIREs).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "support/e2e_helpers.h"
#include "support/json_lite.h"
#include "support/netns_lab.h"

namespace tcpr::test {

constexpr uint16_t kInterceptPort = 36524;  // intercept's default (docs/intercept-protocol.md)

enum class Deployment {
    AssistantHost,  // intercept on its own host; the target routes the clients to it
    SingleHost,     // intercept on the target; the clients are routed into a dummy interface
};

// replayer -- target (nginx), and intercept where the deployment puts it. The target routes
// every recorded client address to where intercept captures; nothing forwards the responses
// any further.
struct ReplayLab {
    const Nginx* nginx = nullptr;
    uint16_t server_port = 80;   // the recorded (and the target's) server port
    std::string target;          // nginx's address:port, for --target
    std::string target_addr;     // nginx's address
    std::string replayer_addr;   // its address on the link toward intercept
    std::string intercept_host;  // role of the host intercept runs on
    std::string intercept_if;    // where intercept captures
    std::string intercept_addr;  // where intercept listens (-b) and the replayer connects
    std::string intercept_gw;    // AssistantHost: the assistant's address seen from the target
    std::string target_gw;       // AssistantHost: the target's address seen from the assistant
    std::string dummy_kind;      // SingleHost: "dummy" or "ifb"
    Process* intercept = nullptr;
};

// Builds the hosts "replayer", "target" (and "assistant" for AssistantHost), routes every
// address of `client_addresses` (IPv4, /32 each) from the target to intercept, and starts nginx
// on the target at `server_port`. `links`: wire-sized segments (as on a real network) or the
// veth's default segmentation offload, where nginx's responses reach intercept as 64 kB
// super-segments. `start_target` false: no nginx (the caller starts its own server on
// target_addr).
ReplayLab make_replay_lab(NetnsLab& lab, Deployment d,
                          const std::vector<std::string>& client_addresses, uint16_t server_port,
                          LinkOptions links = LinkOptions(), bool start_target = true);

// Routes one more client network (a --client-pool, "10.77.9.0/24") from the target to where
// intercept captures.
void route_clients_to_intercept(NetnsLab& lab, const ReplayLab& r, const std::string& cidr);

// Starts intercept (filter "tcp and src port <server_port>") and waits until it listens (its
// capture is open before it listens).
void start_intercept(NetnsLab& lab, ReplayLab& r);

// One tcpreplay2 run.
struct ReplayRun {
    std::string command;
    std::optional<int> exit_code;  // nullopt: still running after the deadline (then killed)
    std::string out, err;
    std::chrono::milliseconds elapsed{0};
    std::filesystem::path report;
    std::optional<Json> json;  // the --report file, if written

    // The command, exit code, elapsed time, stdout and stderr (at most `max_err` characters of
    // stderr, its end).
    std::string describe(size_t max_err = std::string::npos) const;
};

// Runs `argv` (a tcpreplay2 command line writing its --report to `report`) in `host`; `during`
// (if any) runs after `during_after` while the run is in flight. The run is killed after
// `deadline` (its exit_code is then nullopt).
ReplayRun run_replayer(NetnsLab& lab, const std::string& host, const std::vector<std::string>& argv,
                       const std::filesystem::path& report, std::chrono::milliseconds deadline,
                       const std::function<void()>& during = {},
                       std::chrono::milliseconds during_after = std::chrono::milliseconds(0));

// Runs tcpreplay2 --in INPUT --target T --intercept I --report json FILE -q ARGS in the replayer
// host (see run_replayer).
ReplayRun replay(NetnsLab& lab, const ReplayLab& r, const std::filesystem::path& input,
                 const std::vector<std::string>& args, std::chrono::milliseconds deadline,
                 const std::function<void()>& during = {},
                 std::chrono::milliseconds during_after = std::chrono::milliseconds(0));

// Connections on `host`'s local port `port` in any state other than LISTEN and TIME-WAIT
// (ESTABLISHED, SYN-RECV, CLOSE-WAIT, LAST-ACK, FIN-WAIT-*...): `ss -tan` lines.
std::vector<std::string> open_connections(NetnsLab& lab, const std::string& host, uint16_t port);

// No connection of the replay is left half-open on the target. The last ACK of a close may
// still be in flight when tcpreplay2 exits: allow it a second.
void check_nothing_half_open(NetnsLab& lab, const ReplayLab& r);

// The access log, once it has `expected` lines (or after 2 s).
std::vector<std::string> access_log(NetnsLab& lab, const Nginx& nginx, size_t expected);

// The bundled sample (samples/http.pcap), imported into an archive by our recorder, and what it
// holds.
struct Sample {
    std::filesystem::path archive;
    std::vector<std::string> client_addresses;  // recorded clients (tcprec --info)
    uint16_t server_port = 0;
    size_t sessions = 0;
    Conversations recorded;  // from samples/http.access.log (the recorded run's nginx)
    size_t http_requests = 0;
};
Sample import_sample(NetnsLab& lab);

// "10.0.0.1:80" -> "10.0.0.1".
std::string host_of(const std::string& endpoint);

}  // namespace tcpr::test
