// Installing tcpr like a real tool (docs/install.md): `cmake --install` puts the programs, the
// man pages generated from their --help and the systemd units in place; the units verify with
// systemd-analyze and hold what the docs promise (CAP_NET_RAW only, as a non-root dynamic user,
// Restart=on-failure, logs to the journal); the Debian package built by CPack declares Depends
// that are installed Debian packages and runs from the tree it unpacks to; and the programs
// really run as a non-root user holding only an ambient CAP_NET_RAW, as the units start them.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "support/debian_root.h"
#include "support/e2e_helpers.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace tcpr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct Program {
    std::string name;
    std::string dir;  // bin or sbin
    int section;
};

const std::vector<Program> kPrograms{
    {"tcprec", "bin", 1}, {"tcpreplay2", "bin", 1}, {"intercept", "sbin", 8}};

const std::vector<std::string> kUnits{"intercept.service", "intercept@.service",
                                      "tcpreplay2-live@.service"};

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        out.push_back(line);
    }
    return out;
}

// The option names a definition line starts with: "  -i,--interface TEXT ..." gives -i and
// --interface, "  -x TEXT" gives -x.
void add_option_names(const std::string& line, std::set<std::string>& names) {
    static const std::regex def(R"(^\s*(-[-A-Za-z0-9]+(,-[-A-Za-z0-9]+)*))");
    std::smatch m;
    if (!std::regex_search(line, m, def)) {
        return;
    }
    std::istringstream parts(m[1].str());
    std::string name;
    while (std::getline(parts, name, ',')) {
        names.insert(name);
    }
}

// The options `program --help` defines: its lines that start with a dash at a small indent
// (descriptions are indented further and never counted).
std::set<std::string> help_options(const fs::path& program) {
    const CommandResult r = run_command({program.string(), "--help"}, 30s);
    INFO(r.describe());
    REQUIRE(r.ok());
    std::set<std::string> names;
    for (const auto& line : lines_of(r.out)) {
        const size_t indent = line.find_first_not_of(' ');
        if (indent != std::string::npos && indent < 8 && line[indent] == '-') {
            add_option_names(line, names);
        }
    }
    REQUIRE(names.count("--help") == 1);
    REQUIRE(names.count("--version") == 1);
    return names;
}

// The page as man(1) renders it, plain text. Fails on any warning of the formatter.
std::string render_man_page(const fs::path& page) {
    INFO("man page " << page);
    REQUIRE(fs::exists(page));
    const CommandResult r =
        run_command({"env", "LC_ALL=C.UTF-8", "MANWIDTH=200", "MAN_KEEP_FORMATTING=", "man",
                     "--warnings", "-l", page.string()},
                    30s);
    INFO(r.describe());
    REQUIRE(r.ok());
    REQUIRE(r.err.empty());
    // Undo any overstriking (bold/underline), as col -b would.
    return std::regex_replace(r.out, std::regex(".\b"), "");
}

// The options the OPTIONS section of a rendered page defines (tags at the section's indent).
std::set<std::string> man_options(const std::string& rendered) {
    std::set<std::string> names;
    bool in_options = false;
    for (const auto& line : lines_of(rendered)) {
        if (!line.empty() && line[0] != ' ') {  // a section heading
            in_options = line == "OPTIONS";
            continue;
        }
        if (in_options && line.rfind("       -", 0) == 0) {
            add_option_names(line, names);
        }
    }
    return names;
}

// `page` renders cleanly, has the sections the docs promise, and its OPTIONS are exactly the
// options of `program --help`.
void check_man_page(const fs::path& page, const fs::path& program) {
    CAPTURE(page, program);
    const std::string rendered = render_man_page(page);
    for (const char* section :
         {"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"}) {
        INFO("section " << section);
        CHECK(std::regex_search(rendered, std::regex(std::string("(^|\n)") + section + "\n")));
    }
    const std::set<std::string> help = help_options(program);
    const std::set<std::string> man = man_options(rendered);
    std::set<std::string> missing, extra;
    std::set_difference(help.begin(), help.end(), man.begin(), man.end(),
                        std::inserter(missing, missing.end()));
    std::set_difference(man.begin(), man.end(), help.begin(), help.end(),
                        std::inserter(extra, extra.end()));
    std::string missing_text, extra_text;
    for (const auto& m : missing) {
        missing_text += m + " ";
    }
    for (const auto& e : extra) {
        extra_text += e + " ";
    }
    INFO("in --help but not in the man page: " << missing_text);
    INFO("in the man page but not in --help: " << extra_text);
    CHECK(missing.empty());
    CHECK(extra.empty());
}

// A unit file's [Service] entries, key -> values in order (comments and other sections left out).
std::multimap<std::string, std::string> service_entries(const fs::path& unit) {
    INFO("unit " << unit);
    REQUIRE(fs::exists(unit));
    std::multimap<std::string, std::string> out;
    std::string section;
    for (const auto& line : lines_of(read_text(unit))) {
        if (line.empty() || line[0] == '#' || line[0] == ';') {
            continue;
        }
        if (line[0] == '[') {
            section = line;
            continue;
        }
        const size_t eq = line.find('=');
        if (section == "[Service]" && eq != std::string::npos) {
            out.emplace(line.substr(0, eq), line.substr(eq + 1));
        }
    }
    return out;
}

std::string only(const std::multimap<std::string, std::string>& entries, const std::string& key) {
    INFO("key " << key);
    REQUIRE(entries.count(key) == 1);
    return entries.find(key)->second;
}

// What the docs promise of every unit: the program under `root` + its path exists, no -d (logs
// go to the journal), a dynamic (non-root) user holding CAP_NET_RAW and nothing else, restart
// on failure, the hardening directives.
void check_unit(const fs::path& unit, const fs::path& root) {
    CAPTURE(unit);
    const auto e = service_entries(unit);
    const std::vector<std::string> exec = split_words(only(e, "ExecStart"));
    REQUIRE(!exec.empty());
    const fs::path program = root.string() + exec[0];
    CAPTURE(program);
    CHECK(fs::exists(program));
    CHECK((program.filename() == "intercept" || program.filename() == "tcpreplay2"));
    for (const auto& w : exec) {
        CHECK(w != "-d");
        CHECK(w != "--daemon");
        CHECK(w != "--logfile");
    }
    CHECK(only(e, "Restart") == "on-failure");
    CHECK(only(e, "DynamicUser") == "yes");
    CHECK(e.count("User") == 0);
    CHECK(only(e, "AmbientCapabilities") == "CAP_NET_RAW");
    CHECK(only(e, "CapabilityBoundingSet") == "CAP_NET_RAW");
    CHECK(only(e, "NoNewPrivileges") == "yes");
    CHECK(only(e, "ProtectSystem") == "strict");
    CHECK(only(e, "ProtectHome") == "yes");
    CHECK(only(e, "PrivateTmp") == "yes");
    CHECK(only(e, "RestrictAddressFamilies") == "AF_INET AF_INET6 AF_PACKET AF_UNIX AF_NETLINK");
    CHECK(e.count("StandardOutput") == 0);  // the journal, systemd's default
    CHECK(e.count("StandardError") == 0);
    CHECK(e.count("EnvironmentFile") == 1);
}

fs::path build_dir() { return fs::path(TCPR_BINARY_DIR); }

TEST_CASE("cmake --install puts the programs, man pages and units in place", "[install]") {
    TempDir tmp("tcpr-install");
    const fs::path prefix = tmp / "prefix";
    const CommandResult r = run_command(
        {"cmake", "--install", build_dir().string(), "--prefix", prefix.string()}, 120s);
    INFO(r.describe());
    REQUIRE(r.ok());

    for (const auto& p : kPrograms) {
        const fs::path exe = prefix / p.dir / p.name;
        CAPTURE(exe);
        REQUIRE(fs::exists(exe));
        CHECK(access(exe.c_str(), X_OK) == 0);
        const fs::path page = prefix / "share" / "man" / ("man" + std::to_string(p.section)) /
                              (p.name + "." + std::to_string(p.section));
        check_man_page(page, exe);
    }
    const fs::path unit_dir = prefix / "lib" / "systemd" / "system";
    for (const auto& u : kUnits) {
        // ExecStart names the programs under the prefix given to cmake --install.
        check_unit(unit_dir / u, "");
    }

    // systemd-analyze verifies unit files offline (no systemd running needed): syntax, known
    // keys, ExecStart executable. Warnings count as failures.
    const CommandResult which = run_command({"sh", "-c", "command -v systemd-analyze"}, 10s);
    INFO("systemd-analyze is needed (Debian package systemd; scripts/install-deps)");
    REQUIRE(which.ok());
    for (const auto& u : kUnits) {
        const CommandResult v =
            run_command({"systemd-analyze", "verify", "--man=no", (unit_dir / u).string()}, 60s);
        INFO(v.describe());
        CHECK(v.ok());
        CHECK(v.err.empty());
    }
}

TEST_CASE("the man pages in the build tree list every option of --help and no other", "[install]") {
    for (const auto& p : kPrograms) {
        check_man_page(build_dir() / "man" / (p.name + "." + std::to_string(p.section)),
                       build_dir() / "src" / p.name);
    }
}

// "libpcap0.8 (>= 1.0.0), libc6 (>= 2.34), ..." -> {name, relation, version} each; alternatives
// (a | b) are not used by our Depends and fail the test if they appear.
struct Dependency {
    std::string name, relation, version;
};

std::vector<Dependency> parse_depends(const std::string& field) {
    std::vector<Dependency> out;
    static const std::regex dep(
        R"(^\s*([a-z0-9][a-z0-9.+-]*)(:\w+)?\s*(\((<<|<=|=|>=|>>)\s*([^)\s]+)\))?\s*$)");
    std::istringstream in(field);
    std::string item;
    while (std::getline(in, item, ',')) {
        INFO("Depends item '" << item << "'");
        std::smatch m;
        REQUIRE(std::regex_match(item, m, dep));
        out.push_back({m[1].str(), m[4].str(), m[5].str()});
    }
    return out;
}

std::string deb_field(const fs::path& deb, const std::string& field) {
    const CommandResult r = run_command({"dpkg-deb", "-f", deb.string(), field}, 30s);
    INFO(r.describe());
    REQUIRE(r.ok());
    std::string v = r.out;
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) {
        v.pop_back();
    }
    return v;
}

TEST_CASE("the Debian package declares installed dependencies and runs from its unpacked tree",
          "[package]") {
    TempDir tmp("tcpr-package");
    // The package the way scripts/package makes it (cpack -G DEB), into a directory of its own.
    const fs::path deb = make_deb(tmp / "out");
    CAPTURE(deb);

    CHECK(deb_field(deb, "Package") == "tcpr");
    CHECK(deb_field(deb, "Version") == TCPR_VERSION);
    CHECK(deb_field(deb, "Section") == "net");
    CHECK(!deb_field(deb, "Maintainer").empty());
    CHECK(!deb_field(deb, "Description").empty());

    // Depends, from the linked libraries (dpkg-shlibdeps): the three the programs need besides
    // the C and C++ runtimes, each an installed Debian package of a version that satisfies it.
    const std::vector<Dependency> depends = parse_depends(deb_field(deb, "Depends"));
    std::set<std::string> names;
    for (const auto& d : depends) {
        names.insert(d.name);
        CAPTURE(d.name, d.relation, d.version);
        const CommandResult q =
            run_command({"dpkg-query", "-W", "-f=${Status}|${Version}", d.name}, 30s);
        INFO(q.describe());
        REQUIRE(q.ok());
        const size_t bar = q.out.find('|');
        REQUIRE(bar != std::string::npos);
        CHECK(q.out.substr(0, bar) == "install ok installed");
        if (!d.relation.empty()) {
            const std::string installed = q.out.substr(bar + 1);
            const std::string rel = d.relation == "<<"   ? "lt"
                                    : d.relation == "<=" ? "le"
                                    : d.relation == "="  ? "eq"
                                    : d.relation == ">=" ? "ge"
                                                         : "gt";
            CAPTURE(installed);
            CHECK(run_command({"dpkg", "--compare-versions", installed, rel, d.version}, 30s).ok());
        }
    }
    for (const char* lib : {"libpcap0.8", "libzstd1", "libre2-9", "libc6", "libstdc++6"}) {
        INFO("Depends should name " << lib);
        CHECK(names.count(lib) == 1);
    }

    // Unpacked into an empty directory: the programs run from there with the host's system
    // libraries (no LD_LIBRARY_PATH), the man pages render and list every option, the units
    // name programs the package ships.
    const fs::path root = tmp / "root";
    const CommandResult x = run_command({"dpkg-deb", "-x", deb.string(), root.string()}, 60s);
    INFO(x.describe());
    REQUIRE(x.ok());
    for (const auto& p : kPrograms) {
        const fs::path exe = root / "usr" / p.dir / p.name;
        CAPTURE(exe);
        const CommandResult v = run_command({exe.string(), "--version"}, 30s);
        INFO(v.describe());
        REQUIRE(v.ok());
        CHECK(v.out == p.name + " " + TCPR_VERSION + "\n");
        check_man_page(root / "usr" / "share" / "man" / ("man" + std::to_string(p.section)) /
                           (p.name + "." + std::to_string(p.section)),
                       exe);
    }
    for (const auto& u : kUnits) {
        check_unit(root / "usr" / "lib" / "systemd" / "system" / u, root);
    }
    for (const char* doc : {"README.md", "docs/install.md", "examples/intercept.example",
                            "examples/tcpreplay2-live.example"}) {
        CHECK(fs::exists(root / "usr" / "share" / "doc" / "tcpr" / doc));
    }
}

TEST_CASE(
    "intercept and live tcpreplay2 run as a non-root user holding only an ambient CAP_NET_RAW",
    "[package]") {
    // What the units ask of systemd (DynamicUser, AmbientCapabilities=CAP_NET_RAW,
    // CapabilityBoundingSet=CAP_NET_RAW, NoNewPrivileges), done with setpriv in a network
    // namespace of our own: intercept captures on its lo and a live tcpreplay2 connects to it,
    // captures and records, as uid 65534. Without the ambient capability intercept stops with
    // its one error line.
    INFO("this test changes user ids and creates a network namespace: it needs root");
    REQUIRE(geteuid() == 0);
    TempDir tmp("tcpr-ambient");
    fs::permissions(tmp.path(), fs::perms::all);  // the unprivileged user records here
    const std::string sbin = (build_dir() / "src" / "intercept").string();
    const std::string bin = (build_dir() / "src" / "tcpreplay2").string();
    const std::string script = R"SH(
set -u
cd "$1"
ip link set lo up
as_user="setpriv --reuid=65534 --regid=65534 --clear-groups --no-new-privs --bounding-set=-all,+net_raw"
caps="--inh-caps=-all,+net_raw --ambient-caps=-all,+net_raw"
$as_user --inh-caps=-all "$2" -i lo -b 127.0.0.1 2>nocap.err
echo "nocap-exit=$?"
$as_user $caps "$2" -i lo -b 127.0.0.1 2>intercept.err & i=$!
for n in $(seq 100); do grep -q listening intercept.err && break; sleep 0.1; done
$as_user $caps "$3" -i lo -p 80 --target 127.0.0.1:8080 --intercept 127.0.0.1 --record live.pcap.zst 2>live.err & t=$!
for n in $(seq 100); do grep -q connected intercept.err && break; sleep 0.1; done
caps() { awk '/^Cap(Eff|Prm|Amb):/{printf "%s%s", s, $2; s=" "}' /proc/$1/status; }
echo "intercept-uid=$(stat -c %u /proc/$i) caps=$(caps $i)"
echo "tcpreplay2-uid=$(stat -c %u /proc/$t) caps=$(caps $t)"
kill -TERM $t; wait $t; echo "tcpreplay2-exit=$?"
kill -TERM $i; wait $i; echo "intercept-exit=$?"
echo "--- intercept"; cat intercept.err; echo "--- tcpreplay2"; cat live.err; echo "--- nocap"; cat nocap.err
)SH";
    const CommandResult r = run_command(
        {"unshare", "-n", "sh", "-c", script, "sh", tmp.path().string(), sbin, bin}, 60s);
    INFO(r.describe());
    REQUIRE(r.ok());
    // Started with CAP_NET_RAW (and no other), they give it up once their capture and raw
    // socket are open: nothing is left in any set.
    CHECK(r.out.find("intercept-uid=65534 caps=0000000000000000 0000000000000000 "
                     "0000000000000000") != std::string::npos);
    CHECK(r.out.find("tcpreplay2-uid=65534 caps=0000000000000000 0000000000000000 "
                     "0000000000000000") != std::string::npos);
    CHECK(r.out.find("connected") != std::string::npos);
    CHECK(r.out.find("tcpreplay2-exit=0") != std::string::npos);
    CHECK(r.out.find("intercept-exit=0") != std::string::npos);
    CHECK(fs::exists(tmp / "live.pcap.zst"));
    CHECK(r.out.find("nocap-exit=1") != std::string::npos);
    CHECK(r.out.find("capturing needs root or CAP_NET_RAW") != std::string::npos);
}

}  // namespace
}  // namespace tcpr::test
