// Captures that look like production ones, made by real clients and real servers inside a
// NetnsLab, and their ground truth counted by tools independent of tcpr (tshark's dissectors,
// the online server's own access log or statistics). Used by tests/integration/
// fidelity_e2e_test.cpp; with TCPR_KEEP_CORPUS=/some/dir every capture made is also copied
// there with its ground truth, so the replay engine can be tried on it by hand.
//
// Ground truth of an HTTP capture (analyze_capture): tshark's HTTP dissector with TCP
// reassembly on (its defaults) recognises a request only when the capture holds its first
// bytes (the request line) and its last bytes (the end of the headers, and of the body by
// Content-Length): a request cut by the start or the end of the capture is not a recorded
// request. For a capture holding whole connections this must equal the online nginx's access
// log (checked by require_log_agrees); for one started or stopped mid-connection every counted
// request must be in that log from the same client endpoint, in the same order.
//
// Inside a Catch2 test only (REQUIREs). Every load is bounded in count and time; traffic stays
// inside the lab's namespaces.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "support/e2e_helpers.h"
#include "support/netns_lab.h"

namespace tcpr::test {

// ---- what a capture holds (tshark) --------------------------------------------------------

// A whole request (see above), as nginx logs it: "GET /small?id=3" (method and URI).
struct CapturedRequest {
    uint32_t stream = 0;  // tshark's tcp.stream
    std::string client;   // client address:port (IPv6 without brackets, as nginx logs it)
    std::string request;
    // Server payload follows its first byte in the capture (before the next request's first
    // byte): the recording holds the start of its answer, so a replay can compare it.
    bool answered = false;
};

// One TCP connection of the capture (tshark's tcp.stream).
struct CapturedConnection {
    uint32_t stream = 0;
    std::string client, server;  // address:port
    bool syn = false;            // the client's SYN is in the capture
    bool closed = false;         // a FIN or RST is in the capture
    uint64_t client_bytes = 0, server_bytes = 0;
    bool server_spoke_first = false;  // its first captured payload is the server's
    size_t requests = 0;              // whole requests
};

struct CaptureFacts {
    std::string file_type;      // capinfos: "Wireshark/tcpdump/... - pcap", "... - pcapng"
    std::string encapsulation;  // capinfos: "Ethernet", "Linux cooked-mode capture v2", ...
    uint64_t frames = 0;
    uint64_t tcp_frames = 0;
    double span_s = 0;  // first to last frame
    uint64_t vlan_frames = 0;
    uint64_t ipv6_frames = 0;
    uint64_t max_segment = 0;  // the largest TCP payload of one frame
    std::vector<CapturedConnection> connections;
    std::vector<CapturedRequest> requests;  // in capture order

    // Connections a replay must replay: every one whose SYN is in the capture (an empty one
    // too: the target sees it opened and closed, as the online server did), and every one
    // captured without its SYN that holds a whole request (without one, nothing of it can be
    // replayed whole).
    uint64_t sessions() const;
    uint64_t connections_with_requests() const;
    uint64_t connections_without_client_data() const;
    uint64_t connections_without_syn() const;
    uint64_t connections_still_open() const;  // no FIN or RST captured
    uint64_t answered() const;
    // "GET /x" -> how many whole requests.
    std::map<std::string, uint64_t> request_counts() const;
    // Client endpoint -> its whole requests in order (as the online log groups them: a client
    // port reused within the capture joins its connections).
    Conversations conversations() const;
    // Each captured connection's (tcp.stream's) whole requests in order -> how many connections
    // asked exactly that; a client port reused within the capture counts as two connections.
    std::map<std::vector<std::string>, size_t> request_sequences() const;
};

// Runs tshark (and capinfos) on `file` (pcap, pcapng, or our .pcap.zst, decompressed first);
// `server_port` tells the client side of each connection. REQUIREs that the tools work.
CaptureFacts analyze_capture(NetnsLab& lab, const std::filesystem::path& file,
                             uint16_t server_port);

// REQUIREs the online access log to hold exactly the capture's requests, per client endpoint
// and in order (the capture holds whole connections), or, with `mid_connection`, to hold every
// captured request from the same endpoint, the captured ones of an endpoint forming a
// contiguous run of its logged ones (the capture started and stopped while they were open).
void require_log_agrees(const CaptureFacts& facts, const std::vector<std::string>& online_log,
                        bool mid_connection);

// ---- a capture with its ground truth -------------------------------------------------------

struct Capture {
    std::string name;            // "ab-empty-idle": file names in the corpus
    std::string description;     // how it was made (one paragraph)
    std::filesystem::path file;  // what tcpreplay2 gets with --in
    std::string format;          // "archive", "pcap" or "pcapng"
    uint16_t server_port = 80;
    std::string server_address;                 // the online server's address
    std::vector<std::string> client_addresses;  // the recorded clients
    bool ipv6 = false;
    CaptureFacts facts;
    std::string counted_by;  // how the ground truth was counted (for the corpus)
    // A Redis capture: the online redis' INFO commandstats after the recorded run ("set" ->
    // 200), the ground truth of what a replay must execute once per copy.
    std::map<std::string, uint64_t> commands;

    bool http() const { return commands.empty(); }
    uint64_t total_commands() const;
};

// With TCPR_KEEP_CORPUS set: copies the capture to $TCPR_KEEP_CORPUS/<name>.<ext> and writes
// <name>.truth.txt (its ground truth) and <name>.requests.tsv (every whole request: stream,
// client, request, answered) next to it, creating the directory if needed. Returns the
// directory used ("" when the variable is not set).
std::string keep_in_corpus(const Capture& c);

// ---- the hosts that make captures ----------------------------------------------------------

// A "client" host and an "online" host with nginx (samples/nginx.conf.in), one veth link.
struct CaptureLab {
    const Link* link = nullptr;
    const Nginx* nginx = nullptr;
    std::string client_addr, online_addr;  // where the client connects from / nginx listens
    std::string client_if, online_if;      // the interfaces the addresses are on
    std::string capture_if;                // where the online host captures (a VLAN's parent)
    std::string vlan_kind;                 // VLAN labs: "8021q" or "tc-bpf"
};

// client -- online, nginx on the online end of the link (unless `with_nginx` is false).
CaptureLab make_capture_lab(NetnsLab& lab, LinkOptions links = LinkOptions(),
                            bool with_nginx = true);
// The same with IPv6 addresses (fd00::/8, no duplicate address detection) on the link, nginx
// listening on the online host's IPv6 address only.
CaptureLab make_ipv6_capture_lab(NetnsLab& lab);
// The same where every frame between client and online carries an 802.1Q tag (VLAN `vid`): a
// vlan sub-interface on each end (addresses and nginx there, the tags seen on the parent veth),
// or, where the kernel has no 802.1Q support (CONFIG_VLAN_8021Q), tc programs that push the
// tag on egress and pop it on ingress of each veth (the tags are seen on the veth, as on a
// trunk port; needs clang for the BPF program).
CaptureLab make_vlan_capture_lab(NetnsLab& lab, uint16_t vid);

// A capture running in the background in the online host: tcprec -i (our recorder) or
// tcpdump -w (a pcap of any link type the interface has). stop() ends it cleanly and REQUIREs
// that the kernel dropped nothing.
class Recorder {
  public:
    static Recorder tcprec(NetnsLab& lab, const std::string& host, const std::string& iface,
                           uint16_t port, const std::filesystem::path& out);
    static Recorder tcpdump(NetnsLab& lab, const std::string& host, const std::string& iface,
                            const std::string& filter, const std::filesystem::path& out);
    // Waits `tail` (the capture's last block reaches the recorder), then SIGINT and a clean
    // exit within 10 s.
    void stop(std::chrono::milliseconds tail = std::chrono::milliseconds(500));

  private:
    Recorder(Process* p, std::string kind, std::filesystem::path out)
        : process_(p), kind_(std::move(kind)), out_(std::move(out)) {}
    Process* process_;
    std::string kind_;
    std::filesystem::path out_;
};

// ---- the captures --------------------------------------------------------------------------
// Each makes its capture in `cl` (hosts "client" and "online" of `lab`), analyses it, REQUIREs
// the properties it is made for (no SYN, VLAN tags, 30 kB segments...) and that the online
// server's own log agrees, and keeps it in the corpus.

// Keep-alive curl: 3 clients, each 3 times one curl with several URLs on one connection (GET
// /small, /large, /api/..., a POST of 100 kB to /upload, GET /large again), 0.7 s between.
// Recorded live with tcprec -i <online if> -p 80. With offloads (LinkOptions
// wire_sized_segments = false) segments of 30 kB and more with unfilled checksums: REQUIREd
// when `expect_offload`, and the POSTs are 400 kB.
Capture capture_curl_keepalive(NetnsLab& lab, const CaptureLab& cl, const std::string& name,
                               bool expect_offload);
// ab -n 100 -c 10 and ab -n 50 -c 10 (HTTP/1.0: the server closes every connection first), ab's
// own connections closed without a request, 7 empty connections (open and close, nothing sent:
// bash /dev/tcp and nc -z), and one idle connection that sends nothing and is still open when
// the capture stops. Recorded live with tcprec.
Capture capture_ab_empty_idle(NetnsLab& lab, const CaptureLab& cl);
// wrk -t 2 -c 4 with a lua script cycling /small, /large and /api/x?id=N (every URI unique, 20
// ms between a connection's requests), the answers shaped to 40 Mbit/s (tbf) so that a /large
// answer is usually in flight. tcprec starts 1.2 s after wrk's connections opened and stops 2.5
// s later while all are still open: no SYN, no FIN, and the first captured bytes of a
// connection are the middle of an answer (REQUIREd for at least one).
Capture capture_wrk_midstream(NetnsLab& lab, const CaptureLab& cl);
// tcpdump -i any (Linux cooked link type) of keep-alive curl traffic with a 404 and HEAD
// requests, imported with tcprec -r.
Capture capture_cooked_any(NetnsLab& lab, const CaptureLab& cl);
// VLAN-tagged frames (make_vlan_capture_lab) captured with tcpdump on the parent interface,
// converted to pcapng with editcap and given to tcpreplay2 as it is (--in x.pcapng).
Capture capture_vlan_pcapng(NetnsLab& lab, const CaptureLab& cl);
// IPv6 (make_ipv6_capture_lab): keep-alive curl and single requests, recorded with tcprec -i.
Capture capture_ipv6(NetnsLab& lab, const CaptureLab& cl);
// redis-benchmark -n 200 -c 4 four times (-t set, get, incr, lpush; 0.4 s apart) against
// redis-server on the online host (no nginx needed), recorded with tcprec -p 6379; the ground
// truth is the online redis' INFO commandstats (it is fresh: they count exactly the recorded
// run).
Capture capture_redis(NetnsLab& lab, const CaptureLab& cl);

// ---- Redis ---------------------------------------------------------------------------------

// Starts redis-server on address:6379 in `host` (no persistence, no protected mode) and waits
// until it listens.
Process& start_redis(NetnsLab& lab, const std::string& host, const std::string& address,
                     const std::string& name);
// INFO commandstats -> calls per command ("set" -> 200), without the INFO calls themselves.
std::map<std::string, uint64_t> redis_command_calls(NetnsLab& lab, const std::string& host,
                                                    const std::string& address);

}  // namespace tcpr::test
