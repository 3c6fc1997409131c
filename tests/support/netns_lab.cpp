#include "support/netns_lab.h"

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <fstream>
#include <pwd.h>
#include <signal.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

namespace tcpr::test {
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using namespace std::chrono_literals;

namespace {

std::atomic<int> g_next_lab{0};
std::atomic<int> g_next_subnet{0};

// The 74 characters after "tcpr /large line NNNNNN: " that make each line of /large 100 bytes
// (also in samples/make-sample.sh).
constexpr const char* kLargeFiller =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:;,!?+*/=";

bool pid_alive(long pid) { return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM; }

// Namespaces named "tcpr-<pid>-..." whose creating process is gone were left by a test process
// that was killed (e.g. by a CTest timeout); they hold no process of ours any more.
void delete_stale_namespaces() {
    DIR* d = ::opendir("/run/netns");
    if (d == nullptr) {
        return;
    }
    std::vector<std::string> stale;
    while (const dirent* e = ::readdir(d)) {
        const std::string name = e->d_name;
        if (name.rfind("tcpr-", 0) != 0) {
            continue;
        }
        const auto dash = name.find('-', 5);
        if (dash == std::string::npos || dash == 5) {
            continue;
        }
        const std::string digits = name.substr(5, dash - 5);
        if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) {
            continue;
        }
        const long pid = std::stol(digits);
        if (pid != ::getpid() && !pid_alive(pid)) {
            stale.push_back(name);
        }
    }
    ::closedir(d);
    for (const auto& name : stale) {
        const pid_t p = ::fork();
        if (p == 0) {
            const int devnull = ::open("/dev/null", O_WRONLY);
            ::dup2(devnull, 1);
            ::dup2(devnull, 2);
            ::execlp("ip", "ip", "netns", "del", name.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        if (p > 0) {
            int st = 0;
            ::waitpid(p, &st, 0);
        }
    }
}

std::string find_in_path(const std::string& tool) {
    std::string path = std::getenv("PATH") != nullptr ? std::getenv("PATH") : "";
    path += ":/usr/sbin:/sbin:/usr/bin:/bin";
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':')) {
        if (dir.empty()) {
            continue;
        }
        const std::string candidate = dir + "/" + tool;
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
    }
    return "";
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
        s.replace(pos, from.size(), to);
    }
}

}  // namespace

bool NetnsLab::listening(pid_t pid, const std::string& address, uint16_t port) {
    // /proc/net/tcp and tcp6 print the address as 32-bit words in host order, %08X each.
    char want[40] = {};
    std::string table = "tcp";
    in_addr a{};
    in6_addr a6{};
    if (::inet_pton(AF_INET, address.c_str(), &a) == 1) {
        std::snprintf(want, sizeof want, "%08X", static_cast<unsigned>(a.s_addr));
    } else if (::inet_pton(AF_INET6, address.c_str(), &a6) == 1) {
        table = "tcp6";
        for (int i = 0; i < 4; ++i) {
            uint32_t word = 0;
            std::memcpy(&word, a6.s6_addr + 4 * i, sizeof word);
            std::snprintf(want + 8 * i, sizeof want - 8 * i, "%08X", static_cast<unsigned>(word));
        }
    } else {
        return false;
    }
    std::ifstream in("/proc/" + std::to_string(pid) + "/net/" + table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string slot, local, remote, state;
        ls >> slot >> local >> remote >> state;
        const auto colon = local.find(':');
        if (colon == std::string::npos || state != "0A") {
            continue;
        }
        if (local.substr(0, colon) == want &&
            std::stoul(local.substr(colon + 1), nullptr, 16) == port) {
            return true;
        }
    }
    return false;
}

// ---- Nginx -------------------------------------------------------------------------------

std::string Nginx::url(const std::string& path) const {
    const bool v6 = address.find(':') != std::string::npos;
    return "http://" + (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port) + path;
}

// ---- NetnsLab ----------------------------------------------------------------------------

std::string NetnsLab::namespace_prefix() { return "tcpr-" + std::to_string(::getpid()) + "-"; }

std::string NetnsLab::require_tool(const std::string& tool, const std::string& why) {
    const std::string found = find_in_path(tool);
    INFO("'" << tool << "' is needed " << why
             << "; install it (scripts/install-deps installs everything the tests use)");
    REQUIRE_FALSE(found.empty());
    return found;
}

NetnsLab::NetnsLab() : dir_("tcpr-lab"), lab_id_(g_next_lab++) {
    {
        INFO(
            "the end-to-end tests build network namespaces and must run as root "
            "(e.g. sudo ctest -L integration)");
        REQUIRE(::geteuid() == 0);
    }
    require_tool("ip", "to build network namespaces (package iproute2)");
    require_tool("nginx", "as the test web server (package nginx-light)");
    delete_stale_namespaces();
    const CommandResult r = run("", {"ip", "netns", "list"}, 10s);
    {
        INFO("`ip netns` does not work here: " << r.describe());
        REQUIRE(r.ok());
    }
    const CommandResult v = run("", {"nginx", "-v"}, 10s);
    {
        INFO("nginx does not run: " << v.describe());
        REQUIRE(v.ok());
    }
    give_to_nobody(dir_.path());
}

void NetnsLab::give_to_nobody(const std::filesystem::path& dir) {
    const passwd* pw = ::getpwnam("nobody");
    INFO("the user nobody (the programs' -Z default) must exist");
    REQUIRE(pw != nullptr);
    INFO("chown " << dir << " to nobody: " << std::strerror(errno));
    REQUIRE(::chown(dir.c_str(), pw->pw_uid, pw->pw_gid) == 0);
}

NetnsLab::~NetnsLab() { teardown(); }

void NetnsLab::teardown() noexcept {
    try {
        // Processes first (in reverse start order), so nothing holds the namespaces.
        while (!processes_.empty()) {
            processes_.pop_back();
        }
        for (auto it = created_ns_.rbegin(); it != created_ns_.rend(); ++it) {
            const pid_t p = ::fork();
            if (p == 0) {
                const int devnull = ::open("/dev/null", O_WRONLY);
                ::dup2(devnull, 1);
                ::dup2(devnull, 2);
                ::execlp("ip", "ip", "netns", "del", it->c_str(), static_cast<char*>(nullptr));
                ::_exit(127);
            }
            if (p > 0) {
                int st = 0;
                while (::waitpid(p, &st, 0) < 0 && errno == EINTR) {
                }
            }
        }
        created_ns_.clear();
    } catch (...) {
        // A destructor never throws; the next lab deletes stale namespaces of dead processes.
    }
}

NetnsLab::Host& NetnsLab::host_ref(const std::string& role) {
    auto it = hosts_.find(role);
    INFO("no host '" << role << "' in this lab: add_host() it first");
    REQUIRE(it != hosts_.end());
    return it->second;
}

const std::string& NetnsLab::ns(const std::string& role) const {
    auto it = hosts_.find(role);
    INFO("no host '" << role << "' in this lab: add_host() it first");
    REQUIRE(it != hosts_.end());
    return it->second.ns;
}

void NetnsLab::ip(const std::vector<std::string>& args) {
    std::vector<std::string> argv{"ip"};
    argv.insert(argv.end(), args.begin(), args.end());
    const CommandResult r = run("", argv, 10s);
    INFO(r.describe());
    REQUIRE(r.ok());
}

const std::string& NetnsLab::add_host(const std::string& role) {
    INFO("host names are short words: '" << role << "'");
    REQUIRE(!role.empty());
    REQUIRE(role.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") == std::string::npos);
    REQUIRE(hosts_.count(role) == 0);
    const std::string name = namespace_prefix() + std::to_string(lab_id_) + "-" + role;
    ip({"netns", "add", name});
    created_ns_.push_back(name);
    hosts_[role] = Host{name, 0};
    ip({"-n", name, "link", "set", "lo", "up"});
    return hosts_[role].ns;
}

std::string NetnsLab::fresh_subnet() {
    // 10.<64 + pid % 128>.<n>: unique among the labs of this process; different test
    // processes usually differ in the second octet (their namespaces are separate anyway).
    const int n = g_next_subnet++;
    INFO("a test process can create at most 256 subnets");
    REQUIRE(n < 256);
    int second = 64 + ::getpid() % 128;
    if (second == 99) {
        second = 192;  // 10.99.0.0/16 is the bundled sample's client network
    }
    return "10." + std::to_string(second) + "." + std::to_string(n);
}

const Link& NetnsLab::link(const std::string& a, const std::string& b, LinkOptions options) {
    REQUIRE(a != b);
    Host& ha = host_ref(a);
    Host& hb = host_ref(b);
    auto l = std::make_unique<Link>();
    l->host_a = a;
    l->host_b = b;
    l->if_a = "eth" + std::to_string(ha.next_if++);
    l->if_b = "eth" + std::to_string(hb.next_if++);
    const std::string net = fresh_subnet();
    l->subnet = net + ".0/24";
    l->addr_a = net + ".1";
    l->addr_b = net + ".2";
    // Created directly inside the namespaces: nothing appears in the root namespace.
    ip({"link", "add", l->if_a, "netns", ha.ns, "type", "veth", "peer", "name", l->if_b, "netns",
        hb.ns});
    for (const auto& [ns_name, ifname, addr] :
         {std::tuple{ha.ns, l->if_a, l->addr_a}, std::tuple{hb.ns, l->if_b, l->addr_b}}) {
        ip({"-n", ns_name, "addr", "add", addr + "/24", "dev", ifname});
        if (options.wire_sized_segments) {
            ip({"-n", ns_name, "link", "set", "dev", ifname, "gso_max_segs", "1", "gso_max_size",
                "1500"});
        }
        ip({"-n", ns_name, "link", "set", "dev", ifname, "up"});
    }
    links_.push_back(std::move(l));
    return *links_.back();
}

std::string NetnsLab::add_dummy(const std::string& host, const std::string& ifname,
                                const std::string& cidr) {
    const std::string& n = host_ref(host).ns;
    std::string kind = "dummy";
    const CommandResult d = run("", {"ip", "-n", n, "link", "add", ifname, "type", "dummy"}, 10s);
    if (!d.ok()) {
        // Kernels built without CONFIG_DUMMY (some CI VMs): an ifb device behaves the same for
        // this purpose (Ethernet, NOARP, always up, drops what is routed to it after capture).
        INFO("cannot create a dummy interface: " << d.describe());
        REQUIRE(d.err.find("Unknown device type") != std::string::npos);
        kind = "ifb";
        ip({"-n", n, "link", "add", ifname, "type", "ifb"});
    }
    ip({"-n", n, "addr", "add", cidr, "dev", ifname});
    ip({"-n", n, "link", "set", "dev", ifname, "up"});
    return kind;
}

void NetnsLab::add_address(const std::string& host, const std::string& ifname,
                           const std::string& cidr) {
    ip({"-n", host_ref(host).ns, "addr", "add", cidr, "dev", ifname});
}

void NetnsLab::add_route(const std::string& host, const std::string& destination,
                         const std::string& via) {
    ip({"-n", host_ref(host).ns, "route", "add", destination, "via", via});
}

void NetnsLab::add_route_dev(const std::string& host, const std::string& destination,
                             const std::string& ifname) {
    ip({"-n", host_ref(host).ns, "route", "add", destination, "dev", ifname});
}

void NetnsLab::set_sysctl(const std::string& host, const std::string& key,
                          const std::string& value) {
    std::string path = "/proc/sys/" + key;
    std::replace(path.begin() + 10, path.end(), '.', '/');
    const CommandResult r = sh(host, "echo '" + value + "' > " + path, 10s);
    INFO(r.describe());
    REQUIRE(r.ok());
}

std::vector<std::string> NetnsLab::in_ns(const std::string& host,
                                         const std::vector<std::string>& argv) const {
    if (host.empty()) {
        return argv;
    }
    std::vector<std::string> full{"ip", "netns", "exec", ns(host)};
    full.insert(full.end(), argv.begin(), argv.end());
    return full;
}

CommandResult NetnsLab::run(const std::string& host, const std::vector<std::string>& argv,
                            milliseconds timeout) {
    CommandResult r;
    try {
        r = run_command(in_ns(host, argv), timeout);
    } catch (const std::exception& e) {
        FAIL(e.what());
    }
    r.command = join_command(argv) + (host.empty() ? "" : " (in " + host + ")");
    return r;
}

CommandResult NetnsLab::sh(const std::string& host, const std::string& script,
                           milliseconds timeout) {
    return run(host, {"sh", "-c", script}, timeout);
}

Process& NetnsLab::spawn(const std::string& host, const std::vector<std::string>& argv,
                         const std::string& name) {
    const std::string unique = std::to_string(spawned_++) + "-" + name;
    std::unique_ptr<Process> p;
    try {
        p = start_process(in_ns(host, argv), name, path(unique + ".out"), path(unique + ".err"));
    } catch (const std::exception& e) {
        FAIL(e.what());
    }
    processes_.push_back(std::move(p));
    return *processes_.back();
}

const Nginx& NetnsLab::start_nginx(const std::string& host, const std::string& address,
                                   uint16_t port) {
    auto n = std::make_unique<Nginx>();
    n->host = host;
    n->address = address;
    n->port = port;
    n->prefix = path("nginx-" + std::to_string(nginxes_.size()));
    const fs::path templ = fs::path(TCPR_SOURCE_DIR) / "samples" / "nginx.conf.in";
    std::string conf = read_text(templ);
    {
        INFO("the nginx configuration template " << templ << " is missing or empty");
        REQUIRE(!conf.empty());
    }
    replace_all(conf, "@PREFIX@", n->prefix.string());
    const bool v6 = address.find(':') != std::string::npos;
    replace_all(conf, "@LISTEN@",
                (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port));
    for (const char* sub : {"www", "tmp"}) {
        fs::create_directories(n->prefix / sub);
    }
    n->conf = n->prefix / "nginx.conf";
    n->access_log = n->prefix / "access.log";
    n->error_log = n->prefix / "error.log";
    {
        std::ofstream c(n->conf);
        c << conf;
    }
    write_file(n->prefix / "www" / "index.html", std::string_view("<html>tcpr test</html>\n"));
    // /large: 3072 lines of 100 bytes (307200 bytes), the same bytes samples/make-sample.sh
    // serves, so a replay of the bundled sample gets the recorded response sizes.
    n->large_bytes = 3072 * 100;
    std::string large;
    large.reserve(n->large_bytes);
    for (int i = 1; i <= 3072; ++i) {
        char line[128];
        std::snprintf(line, sizeof line, "tcpr /large line %06d: %s\n", i, kLargeFiller);
        large += line;
    }
    REQUIRE(large.size() == n->large_bytes);
    write_file(n->prefix / "www" / "large", large);
    // /noise: 300 kB of incompressible pseudo-random bytes (xorshift, fixed seed).
    n->noise_bytes = 300 * 1024;
    std::vector<uint8_t> noise(n->noise_bytes);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (auto& byte : noise) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        byte = static_cast<uint8_t>(x >> 24);
    }
    write_file(n->prefix / "www" / "noise", noise);

    Process& p = spawn(
        host,
        {"nginx", "-p", n->prefix.string(), "-c", n->conf.string(), "-e", n->error_log.string()},
        "nginx");
    n->process = &p;
    const bool up =
        wait_until([&] { return !p.running() || listening(p.pid(), address, port); }, 10s);
    {
        INFO("nginx did not start listening on " << address << ":" << port << " in " << host
                                                 << "\nstderr: " << p.stderr_text()
                                                 << "\nerror.log: " << read_text(n->error_log));
        REQUIRE(up);
        REQUIRE(p.running());
    }
    nginxes_.push_back(std::move(n));
    return *nginxes_.back();
}

std::vector<std::string> NetnsLab::access_log_lines(const Nginx& nginx) const {
    std::vector<std::string> lines;
    std::istringstream in(read_text(nginx.access_log));
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty()) {
            lines.push_back(line);
        }
    }
    return lines;
}

std::vector<std::string> NetnsLab::settled_access_log(const Nginx& nginx, size_t at_least,
                                                      int quiet_polls,
                                                      std::chrono::milliseconds limit) const {
    std::vector<std::string> lines;
    size_t last = 0;
    int quiet = 0;
    wait_until(
        [&] {
            lines = access_log_lines(nginx);
            quiet = lines.size() == last ? quiet + 1 : 0;
            last = lines.size();
            return lines.size() >= at_least && quiet >= quiet_polls;
        },
        limit);
    return lines;
}

}  // namespace tcpr::test
