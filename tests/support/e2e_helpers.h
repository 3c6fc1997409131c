// Small helpers shared by the end-to-end tests (tests/integration): the built binaries, text
// lines, nginx access-log lines (samples/nginx.conf.in's format) and waiting for intercept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

namespace tcpr::test {

class Json;
class Process;

// The JSON file at `path` (a --report), parsed; REQUIREs that it exists and parses.
Json read_json(const std::filesystem::path& path);

// The path of the built program `name` (tcprec, tcpreplay2, intercept) under
// TCPR_BINARY_DIR/src. REQUIREs that it exists (Catch2 assertion, so only inside a test).
std::string binary(const std::string& name);

// The non-empty lines of `text`, in order, without their '\n'.
std::vector<std::string> split_lines(const std::string& text);

// The whitespace-separated words of `text`.
std::vector<std::string> split_words(const std::string& text);

// One line of the access log format of samples/nginx.conf.in:
// `10.99.0.1:50001 "GET / HTTP/1.1" 200 73 252 1 1` -> endpoint and "GET /".
struct LogEntry {
    std::string endpoint;  // client address:port
    std::string request;   // method and path
    int status = 0;
};

// REQUIREs the line to have that shape (an endpoint, one space, a quoted request line with a
// protocol); status is 0 where no number follows the request line.
LogEntry parse_log_line(const std::string& line);

// The requests of each client connection, in order, keyed by client endpoint.
using Conversations = std::map<std::string, std::vector<std::string>>;

// The conversations of access-log lines (each parsed with parse_log_line).
Conversations conversations(const std::vector<std::string>& log_lines);

// The same keyed by client endpoint and nginx's connection serial ($connection): one entry per
// connection also where a client port was used again for a later connection (a kernel client
// reuses a port whose TIME_WAIT is on the server's side).
Conversations connections(const std::vector<std::string>& log_lines);

// How many connections made each sequence of requests.
std::map<std::vector<std::string>, size_t> sequence_counts(const Conversations& c);

// The "Name:\tvalue" lines of /proc/PID/status ("Uid" -> "65534\t65534\t65534\t65534").
std::map<std::string, std::string> proc_status(pid_t pid);

// CHECKs that process `pid`, started as root, runs as nobody (-Z's default) within 5 s: real,
// effective, saved and file-system uid and gid 65534, no supplementary group, no capability in
// any set, no_new_privs.
void check_runs_as_nobody(pid_t pid);

// CHECKs that `path` exists and belongs to nobody (written by a program that dropped to it).
void check_owned_by_nobody(const std::filesystem::path& path);

// Waits up to 10 s until the intercept process `p` listens on address:port in its namespace;
// REQUIREs that it does and is still running (with its command line and stderr on failure).
void require_intercept_listening(Process& p, const std::string& address, uint16_t port);

}  // namespace tcpr::test
