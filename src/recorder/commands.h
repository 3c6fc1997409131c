// tcprec's command line: one mode per invocation (record, import, info, verify, repair).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/os/privileges.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace tcpr::rec {

struct RecordOptions {
    std::string interface;                     // -i
    std::vector<uint16_t> ports;               // -p (repeatable)
    std::string filter;                        // -f BPF, and-ed with the ports
    std::string output;                        // -o
    uint32_t snaplen = 262144;                 // -s
    uint64_t count = 0;                        // -c, 0 = unlimited
    std::chrono::nanoseconds duration{0};      // --duration, 0 = until Ctrl-C
    uint64_t rotate_bytes = 0;                 // -C (millions of bytes, like tcpdump)
    std::chrono::nanoseconds rotate_every{0};  // -G
    uint32_t buffer_bytes = 64u << 20;         // -B (KiB on the command line, like tcpdump)
    int level = 3;                             // --level
    bool promiscuous = true;                   // -P/--no-promisc
    bool quiet = false;
    std::string user = os::kDefaultUser;  // -Z: who a recording started as root becomes
    bool user_given = false;
};

struct ImportOptions {
    std::string input;   // -r
    std::string output;  // -o (default: input with .pcap.zst)
    std::vector<uint16_t> ports;
    std::string filter;
    int level = 3;
    bool quiet = false;
};

struct InfoOptions {
    std::string archive;
    size_t max_sessions = 50;  // --sessions N (0 = none), --all-sessions
    bool json = false;
};

struct RepairOptions {
    std::string input;
    std::string output;  // default: input without .partial, or <stem>.repaired.pcap.zst
    int level = 3;
};

// Throws tcpr::Error(Unsupported) naming `what` if link type `value` is not one we decode:
// an archive of frames nobody can replay is refused up front rather than written.
void require_supported_link(uint32_t value, const std::string& what);

// Combines -p ports and -f into one BPF expression ("" when neither is given).
std::string build_filter(const std::vector<uint16_t>& ports, const std::string& filter);

// Registers every option on `app`; run() executes the selected mode and returns the exit code.
class Commands {
  public:
    explicit Commands(CLI::App& app);
    int run();

  private:
    CLI::App& app_;
    RecordOptions record_;
    ImportOptions import_;
    InfoOptions info_;
    RepairOptions repair_;
    std::string verify_path_;
    std::vector<std::string> ports_text_;
    std::string duration_text_, rotate_every_text_, rotate_size_text_;
    CLI::Option* user_opt_ = nullptr;
    int buffer_kib_ = 0;
    bool no_promisc_ = false;
    bool all_sessions_ = false;
    int verbosity_ = 0;
};

int run_record(const RecordOptions& options);
int run_import(const ImportOptions& options);
int run_info(const InfoOptions& options);
int run_verify(const std::string& path);
int run_repair(const RepairOptions& options);

}  // namespace tcpr::rec
