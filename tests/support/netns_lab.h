// NetnsLab: a small network of Linux network namespaces for end-to-end tests, owned by one
// object. It creates uniquely named namespaces ("tcpr-<pid>-<lab>-<role>"), veth links with
// private 10.x.y.0/24 addresses unique to this run, dummy interfaces and routes; runs commands
// inside a namespace with a timeout; starts background processes (each in its own process
// group) and nginx with a generated configuration. The destructor always kills every process
// it started (with its process group) and deletes only the namespaces it created, also when an
// assertion failed.
//
// Preconditions are Catch2 REQUIREs with a clear message (never a silent skip): root, a working
// `ip netns`, and nginx. Use it as a fixture (TEST_CASE_METHOD(NetnsLab, ...)) or as a member.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace tcpr::test {

// A veth link between two hosts: one /24, the first host gets .1, the second .2.
struct Link {
    std::string host_a, host_b;  // roles
    std::string if_a, if_b;      // interface names inside each namespace ("eth0", "eth1", ...)
    std::string addr_a, addr_b;  // "10.77.3.1", "10.77.3.2"
    std::string subnet;          // "10.77.3.0/24"
};

// nginx started by NetnsLab::start_nginx().
struct Nginx {
    Process* process = nullptr;
    std::string host;
    std::string address;  // listen address (IPv4, or IPv6 without brackets)
    uint16_t port = 80;
    std::filesystem::path prefix;      // www/, logs and temp files live here
    std::filesystem::path conf;        // the generated configuration
    std::filesystem::path access_log;  // one line per request, see samples/nginx.conf.in
    std::filesystem::path error_log;
    uint64_t large_bytes = 0;  // size of /large (text, as in the bundled sample)
    uint64_t noise_bytes = 0;  // size of /noise (incompressible)
    std::string url(const std::string& path) const;  // "http://10.77.3.2:80/small"
};

struct LinkOptions {
    // Limits GSO to one segment on both ends, so captures show wire-sized (<= MTU) segments
    // as a real network does, not 64 kB offload super-packets.
    bool wire_sized_segments = true;
};

class NetnsLab {
  public:
    // REQUIREs root, a working `ip netns` and nginx; creates the lab's temp dir. Namespaces
    // left behind by earlier test processes that no longer exist are deleted first.
    NetnsLab();
    virtual ~NetnsLab();
    NetnsLab(const NetnsLab&) = delete;
    NetnsLab& operator=(const NetnsLab&) = delete;

    // ---- topology --------------------------------------------------------------------------
    // Creates a namespace for `role` ("client", "server", "replayer"...) with loopback up and
    // no other interface or route. Returns the namespace name.
    const std::string& add_host(const std::string& role);
    // The namespace name of a host added before (REQUIREs that it exists).
    const std::string& ns(const std::string& role) const;
    // A veth pair between two hosts, addresses from a fresh /24, both ends up.
    const Link& link(const std::string& host_a, const std::string& host_b,
                     LinkOptions options = LinkOptions());
    // A dummy interface with an address ("10.77.9.1/24"), up: packets routed to it are seen by
    // a capture on it and go nowhere. Where the kernel has no "dummy" link type, an "ifb"
    // device stands in (same behaviour for this use). Returns the kind used.
    std::string add_dummy(const std::string& host, const std::string& ifname,
                          const std::string& cidr);
    void add_address(const std::string& host, const std::string& ifname, const std::string& cidr);
    // Route `destination` ("10.77.9.0/24", "default") via a gateway address...
    void add_route(const std::string& host, const std::string& destination, const std::string& via);
    // ... or out of an interface.
    void add_route_dev(const std::string& host, const std::string& destination,
                       const std::string& ifname);
    void set_sysctl(const std::string& host, const std::string& key, const std::string& value);
    // A fresh "10.x.y" prefix (a /24 nobody else in this run uses), for address pools. Never
    // inside 10.99.0.0/16, the client network of the bundled sample (samples/README.md), so a
    // lab can route the sample's recorded client addresses wherever it wants.
    std::string fresh_subnet();

    // ---- commands --------------------------------------------------------------------------
    // Runs argv inside the host's namespace (host "" = the test's own namespace) and captures
    // its output. After `timeout` the command's process group is killed (timed_out = true).
    CommandResult run(const std::string& host, const std::vector<std::string>& argv,
                      std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // `sh -c script` inside the namespace.
    CommandResult sh(const std::string& host, const std::string& script,
                     std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // Starts argv in the background inside the namespace; output goes to <dir>/<name>.out/.err.
    // The lab owns the process: it is killed with its group at teardown at the latest.
    Process& spawn(const std::string& host, const std::vector<std::string>& argv,
                   const std::string& name);
    // Starts nginx listening on address:port (IPv4 or IPv6) in the host's namespace with the
    // configuration samples/nginx.conf.in (the one the bundled sample was recorded with):
    // /small, /large (307200 bytes of text), /noise (300 kB of random bytes), POST /upload
    // (bodies up to 10 MB), /api/..., keep-alive on. Waits until it listens (REQUIREd in 10 s).
    const Nginx& start_nginx(const std::string& host, const std::string& address,
                             uint16_t port = 80);
    // The access log's lines (empty if none yet).
    std::vector<std::string> access_log_lines(const Nginx& nginx) const;
    // The access log once it has at least `at_least` lines and did not grow for `quiet_polls`
    // polls in a row (or after `limit`).
    std::vector<std::string> settled_access_log(const Nginx& nginx, size_t at_least,
                                                int quiet_polls,
                                                std::chrono::milliseconds limit) const;
    // Is a TCP socket listening on address:port (IPv4 or IPv6) in the network namespace of
    // process `pid` (a process spawn()ed into a host)?
    static bool listening(pid_t pid, const std::string& address, uint16_t port);

    // The lab's private directory (removed at teardown). It belongs to nobody, the user the
    // programs started as root become (-Z's default), as an operator gives a service's user
    // its directory: their reports, archives and logs are written there as nobody.
    const std::filesystem::path& dir() const { return dir_.path(); }
    // Makes `dir` (made under dir() by a test) nobody's too. REQUIREs success.
    static void give_to_nobody(const std::filesystem::path& dir);
    // A full path for a file under dir().
    std::filesystem::path path(const std::string& name) const { return dir_.path() / name; }

    // REQUIREs that `tool` is found in PATH (or /usr/sbin, /sbin), with a clear message.
    static std::string require_tool(const std::string& tool, const std::string& why);
    // "tcpr-<pid>-": the prefix of every namespace this process creates.
    static std::string namespace_prefix();

  private:
    struct Host {
        std::string ns;
        int next_if = 0;
    };
    Host& host_ref(const std::string& role);
    void ip(const std::vector<std::string>& args);  // runs `ip ARGS`, REQUIREs success
    std::vector<std::string> in_ns(const std::string& host,
                                   const std::vector<std::string>& argv) const;
    void teardown() noexcept;

    TempDir dir_;
    int lab_id_;
    std::map<std::string, Host> hosts_;
    std::vector<std::string> created_ns_;  // in creation order; deleted at teardown
    std::vector<std::unique_ptr<Link>> links_;
    std::vector<std::unique_ptr<Process>> processes_;
    std::vector<std::unique_ptr<Nginx>> nginxes_;
    int spawned_ = 0;
};

}  // namespace tcpr::test
