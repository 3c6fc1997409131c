#include "support/e2e_helpers.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "support/json_lite.h"
#include "support/netns_lab.h"
#include "support/subprocess.h"

namespace tcpr::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string binary(const std::string& name) {
    const fs::path p = fs::path(TCPR_BINARY_DIR) / "src" / name;
    INFO("the " << name << " binary is not built at " << p);
    REQUIRE(fs::exists(p));
    return p.string();
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty()) {
            lines.push_back(line);
        }
    }
    return lines;
}

std::vector<std::string> split_words(const std::string& text) {
    std::vector<std::string> words;
    std::istringstream in(text);
    std::string w;
    while (in >> w) {
        words.push_back(w);
    }
    return words;
}

LogEntry parse_log_line(const std::string& line) {
    INFO("access log line: " << line);
    const auto space = line.find(' ');
    const auto q1 = line.find('"');
    const auto q2 = line.find('"', q1 + 1);
    REQUIRE(space != std::string::npos);
    REQUIRE(q1 == space + 1);
    REQUIRE(q2 != std::string::npos);
    LogEntry e;
    e.endpoint = line.substr(0, space);
    const std::string request_line = line.substr(q1 + 1, q2 - q1 - 1);  // GET / HTTP/1.1
    const auto proto = request_line.rfind(' ');
    REQUIRE(proto != std::string::npos);
    e.request = request_line.substr(0, proto);
    e.status = std::atoi(line.c_str() + q2 + 1);
    return e;
}

Conversations conversations(const std::vector<std::string>& log_lines) {
    Conversations c;
    for (const auto& line : log_lines) {
        const LogEntry e = parse_log_line(line);
        c[e.endpoint].push_back(e.request);
    }
    return c;
}

Conversations connections(const std::vector<std::string>& log_lines) {
    Conversations c;
    for (const auto& line : log_lines) {
        const LogEntry e = parse_log_line(line);
        // After the quoted request: status, request length, bytes sent, connection serial.
        std::istringstream rest(line.substr(line.rfind('"') + 1));
        std::string status, request_length, bytes_sent, serial;
        rest >> status >> request_length >> bytes_sent >> serial;
        INFO("access log line without nginx's connection serial: " << line);
        REQUIRE(!serial.empty());
        c[e.endpoint + " #" + serial].push_back(e.request);
    }
    return c;
}

std::map<std::vector<std::string>, size_t> sequence_counts(const Conversations& c) {
    std::map<std::vector<std::string>, size_t> counts;
    for (const auto& [endpoint, requests] : c) {
        ++counts[requests];
    }
    return counts;
}

void require_intercept_listening(Process& p, const std::string& address, uint16_t port) {
    const bool up = wait_until(
        [&] { return !p.running() || NetnsLab::listening(p.pid(), address, port); }, 10s);
    INFO("intercept did not start listening within 10 s: " << p.command()
                                                           << "\nstderr: " << p.stderr_text());
    REQUIRE(up);
    REQUIRE(p.running());
}

Json read_json(const std::filesystem::path& path) {
    const std::string text = read_text(path);
    INFO("report " << path << ":\n" << text);
    REQUIRE(!text.empty());
    try {
        return Json::parse(text);
    } catch (const std::exception& e) {
        FAIL("invalid JSON report: " << e.what());
    }
    return Json();
}

std::map<std::string, std::string> proc_status(pid_t pid) {
    std::map<std::string, std::string> m;
    for (const std::string& line :
         split_lines(read_text("/proc/" + std::to_string(pid) + "/status"))) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) {
            continue;
        }
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        m[line.substr(0, colon)] = value;
    }
    return m;
}

void check_runs_as_nobody(pid_t pid) {
    // Real, effective, saved and file-system ids of nobody, as /proc/PID/status lists them.
    const std::string nobody = "65534\t65534\t65534\t65534";
    // The drop follows the opening of the last privileged socket by a few system calls, so a
    // test that has just seen that socket may look a moment too early: give it up to 5 s.
    wait_until(
        [&] {
            const auto st = proc_status(pid);
            return st.count("Uid") == 0 || st.at("Uid") == nobody;
        },
        5s);
    const auto st = proc_status(pid);
    REQUIRE(st.count("Uid") == 1);
    INFO("/proc/" << pid << "/status: Uid " << st.at("Uid") << ", CapEff " << st.at("CapEff"));
    CHECK(st.at("Uid") == nobody);
    CHECK(st.at("Gid") == nobody);
    CHECK(st.at("Groups").empty());
    for (const char* set : {"CapEff", "CapPrm", "CapInh", "CapAmb"}) {
        INFO(set);
        CHECK(st.at(set) == "0000000000000000");
    }
    CHECK(st.at("NoNewPrivs") == "1");
}

void check_owned_by_nobody(const std::filesystem::path& path) {
    struct stat st {};
    INFO(path);
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK(st.st_uid == 65534u);
}

}  // namespace tcpr::test
