// Runs the built tcprec on the fixtures in tests/data and checks exit codes, the exact error
// line on stderr (like zstd's *.stderr.exact tests), and that a failed run leaves no output.
// Needs no root: no capture, only files. Each case runs in a fresh temp dir holding copies of
// the fixtures, with relative names, so the messages do not depend on where the tree is.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/os/pcap_source.h"
#include "support/json_lite.h"
#include "support/subprocess.h"
#include "support/temp_dir.h"

namespace tcpr::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string tcprec() {
    const fs::path p = fs::path(TCPR_BINARY_DIR) / "src" / "tcprec";
    INFO("the tcprec binary is not built at " << p);
    REQUIRE(fs::exists(p));
    return p.string();
}

// A temp dir with copies of tests/data/good/* and tests/data/bad/*.
class CliDir {
  public:
    CliDir() : dir_("tcpr-cli") {
        for (const char* sub : {"good", "bad"}) {
            const fs::path src = fs::path(TCPR_TEST_DATA) / sub;
            INFO("fixture directory " << src << " is missing");
            REQUIRE(fs::is_directory(src));
            for (const auto& e : fs::directory_iterator(src)) {
                fs::copy_file(e.path(), dir_.path() / e.path().filename());
            }
        }
    }

    const fs::path& path() const { return dir_.path(); }
    fs::path operator/(const std::string& name) const { return dir_.path() / name; }

    // Runs tcprec with `args` in the dir.
    CommandResult run(const std::vector<std::string>& args) const {
        std::vector<std::string> argv{tcprec()};
        argv.insert(argv.end(), args.begin(), args.end());
        CommandResult r = run_command(argv, 60s, dir_.path().string());
        REQUIRE_FALSE(r.timed_out);
        return r;
    }

    std::set<std::string> listing() const {
        std::set<std::string> names;
        for (const auto& e : fs::directory_iterator(dir_.path())) {
            names.insert(e.path().filename().string());
        }
        return names;
    }

    Json info_json(const std::string& archive) const {
        const CommandResult r = run({"--info", archive, "--all-sessions", "--json"});
        INFO(r.describe());
        REQUIRE(r.exit_code == 0);
        return Json::parse(r.out);
    }

    // Imports `input` into `output`, REQUIRing success.
    void import(const std::string& input, const std::string& output) const {
        const CommandResult r = run({"-r", input, "-o", output});
        INFO(r.describe());
        REQUIRE(r.exit_code == 0);
        REQUIRE(fs::exists(dir_.path() / output));
    }

  private:
    TempDir dir_;
};

size_t lines_in(const std::string& s) {
    return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

// Checks a failed run: exit code, exactly one stderr line equal to `line`, nothing on stdout.
void check_error(const CommandResult& r, int exit_code, const std::string& line) {
    INFO(r.describe());
    CHECK(r.exit_code == exit_code);
    CHECK(r.err == line + "\n");
    CHECK(r.out.empty());
}

uint64_t count_pcap_records(const fs::path& file) {
    auto src = os::open_file(file.string());
    os::CapturedPacket p;
    uint64_t n = 0;
    while (src->next(p) == os::PacketSource::Status::Packet) {
        ++n;
    }
    return n;
}

}  // namespace

TEST_CASE("importing a damaged or foreign capture fails with one exact line and no output",
          "[cli]") {
    struct Case {
        std::string input;
        std::string error;
    };
    const Case c = GENERATE(
        Case{"not_a_pcap.txt", "cannot read 'not_a_pcap.txt': not a pcap or pcapng file"},
        Case{"truncated_header.pcap",
             "cannot read 'truncated_header.pcap': truncated dump file; tried to read 24 file "
             "header bytes, only got 6"},
        Case{"truncated_record.pcap",
             "cannot read 'truncated_record.pcap': truncated dump file; tried to read 54 "
             "captured bytes, only got 27"},
        Case{"pcapng_multi_if.pcapng",
             "cannot read 'pcapng_multi_if.pcapng': an interface has a type 113 different from "
             "the type of the first interface"},
        Case{"garbage.pcap.zst", "cannot read 'garbage.pcap.zst': not a pcap or pcapng file"},
        Case{"wrong_content.zst", "cannot read 'wrong_content.zst': not a pcap or pcapng file"},
        Case{"missing.pcap", "cannot open 'missing.pcap': No such file or directory"});
    CAPTURE(c.input);
    const CliDir dir;
    const auto before = dir.listing();
    SECTION("with -o") {
        check_error(dir.run({"-r", c.input, "-o", "out.pcap.zst"}), 1, "tcprec: error: " + c.error);
    }
    SECTION("with the default output name") {
        check_error(dir.run({"-r", c.input}), 1, "tcprec: error: " + c.error);
    }
    // Nothing was left behind: no output, no .partial.
    CHECK(dir.listing() == before);
}

TEST_CASE("importing good captures indexes their sessions", "[cli]") {
    struct Case {
        std::string input;
        uint32_t link_type;
        uint64_t sessions;
    };
    const Case c = GENERATE(Case{"http_sessions.pcap", 1, 3}, Case{"sll.pcap", 113, 1},
                            Case{"sll2.pcap", 276, 2}, Case{"vlan.pcap", 1, 2},
                            Case{"ipv6.pcap", 1, 2}, Case{"pcapng_single.pcapng", 1, 1},
                            Case{"tso_offload.pcap", 1, 1}, Case{"midsession.pcap", 1, 1});
    CAPTURE(c.input);
    const CliDir dir;
    const CommandResult r = dir.run({"-r", c.input, "-o", "out.pcap.zst"});
    INFO(r.describe());
    REQUIRE(r.exit_code == 0);
    CHECK(r.out.empty());
    CHECK(lines_in(r.err) == 1);  // the one-line summary
    CHECK(r.err.rfind("tcprec: info: imported ", 0) == 0);
    REQUIRE(fs::exists(dir / "out.pcap.zst"));
    CHECK_FALSE(fs::exists(dir / "out.pcap.zst.partial"));

    const uint64_t records = count_pcap_records(dir / c.input);
    const Json info = dir.info_json("out.pcap.zst");
    CHECK(info["packets"].as_u64() == records);
    CHECK(info["indexed"].as_u64() == records);  // all TCP, all decodable
    CHECK(info["link_type"].as_u64() == c.link_type);
    CHECK(info["session_count"].as_u64() == c.sessions);
    uint64_t session_packets = 0;
    for (const auto& s : info["sessions"].as_array()) {
        session_packets += s["packets_c2s"].as_u64() + s["packets_s2c"].as_u64();
        // midsession.pcap is the one capture that starts after the handshake.
        CHECK(s["syn"].as_bool() == (c.input != "midsession.pcap"));
        CHECK(s["fin"].as_bool());
    }
    CHECK(session_packets == records);

    const CommandResult v = dir.run({"--verify", "out.pcap.zst"});
    INFO(v.describe());
    CHECK(v.exit_code == 0);
    CHECK(v.err.empty());
    CHECK(v.out.find("archive is intact") != std::string::npos);

    // zstd alone turns the archive back into a pcap that libpcap reads, record for record.
    const CommandResult z = run_command(
        {"zstd", "-dcq", (dir / "out.pcap.zst").string(), "-o", (dir / "back.pcap").string()}, 60s);
    INFO(z.describe());
    REQUIRE(z.exit_code == 0);
    CHECK(count_pcap_records(dir / "back.pcap") == records);
}

TEST_CASE("the default import output name replaces the capture extension", "[cli]") {
    const CliDir dir;
    dir.import("http_sessions.pcap", "explicit.pcap.zst");
    REQUIRE(dir.run({"-r", "http_sessions.pcap"}).exit_code == 0);
    CHECK(fs::exists(dir / "http_sessions.pcap.zst"));
    REQUIRE(dir.run({"-r", "pcapng_single.pcapng"}).exit_code == 0);
    CHECK(fs::exists(dir / "pcapng_single.pcap.zst"));
    // The two archives of the same capture hold the same packets.
    CHECK(dir.info_json("http_sessions.pcap.zst")["packets"].as_u64() ==
          dir.info_json("explicit.pcap.zst")["packets"].as_u64());
}

TEST_CASE("fragments and non-TCP packets are stored but not indexed", "[cli]") {
    const CliDir dir;
    SECTION("IPv4 fragments") {
        const CommandResult r = dir.run({"-r", "fragments.pcap", "-o", "frag.pcap.zst"});
        INFO(r.describe());
        REQUIRE(r.exit_code == 0);
        CHECK(r.err.find("tcprec: info: not indexed (stored in the pcap, not part of a TCP "
                         "session): 3 packets: ip-fragment=3\n") != std::string::npos);
        const Json info = dir.info_json("frag.pcap.zst");
        CHECK(info["packets"].as_u64() == 4);
        CHECK(info["indexed"].as_u64() == 1);
        CHECK(info["not_indexed"].size() == 1);
        CHECK(info["not_indexed"]["ip-fragment"].as_u64() == 3);
        const CommandResult text = dir.run({"--info", "frag.pcap.zst"});
        INFO(text.describe());
        REQUIRE(text.exit_code == 0);
        CHECK(text.out.find("\npackets:    4 (1 indexed; not indexed: ip-fragment=3)\n") !=
              std::string::npos);
        CHECK(count_pcap_records(dir / "fragments.pcap") == 4);
    }
    SECTION("a link type we do not decode is refused, nothing written") {
        const CommandResult r = dir.run({"-r", "wrong_dlt.pcap", "-o", "dlt.pcap.zst"});
        INFO(r.describe());
        CHECK(r.exit_code == 1);
        CHECK(r.err ==
              "tcprec: error: cannot import 'wrong_dlt.pcap': link type LINKTYPE_105 is not "
              "supported (supported: EN10MB, LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, "
              "LOOP)\n");
        CHECK_FALSE(std::filesystem::exists(dir / "dlt.pcap.zst"));
        CHECK_FALSE(std::filesystem::exists(dir / "dlt.pcap.zst.partial"));
    }
    SECTION("an empty capture") {
        REQUIRE(dir.run({"-r", "empty.pcap", "-o", "empty.pcap.zst"}).exit_code == 0);
        const CommandResult text = dir.run({"--info", "empty.pcap.zst"});
        INFO(text.describe());
        REQUIRE(text.exit_code == 0);
        CHECK(text.out.find("\ntime:       - (no packets)\n") != std::string::npos);
        CHECK(text.out.find("\nsessions:   0 (0 with SYN, 0 closed by FIN/RST)\n") !=
              std::string::npos);
        CHECK(dir.run({"--verify", "empty.pcap.zst"}).exit_code == 0);
    }
}

TEST_CASE("tcprec --info and --verify on files that are not whole archives", "[cli]") {
    const CliDir dir;
    SECTION("not archives at all") {
        struct Case {
            std::string file;
            std::string why;
        };
        const Case c = GENERATE(
            Case{"garbage.pcap.zst", "not a tcprec archive"},
            Case{"not_a_pcap.txt", "not a tcprec archive"},
            Case{"wrong_content.zst", "not a tcprec archive (zstd data without a tcprec header)"},
            Case{"http_sessions.pcap",
                 "not a tcprec archive (plain pcap? use tcprec -r to import it)"});
        CAPTURE(c.file);
        check_error(dir.run({"--info", c.file}), 1,
                    "tcprec: error: cannot open archive '" + c.file + "': " + c.why);
        check_error(dir.run({"--verify", c.file}), 1,
                    "tcprec: error: cannot open archive '" + c.file + "': " + c.why);
    }
    SECTION("a missing file") {
        check_error(dir.run({"--info", "missing.pcap.zst"}), 1,
                    "tcprec: error: cannot open 'missing.pcap.zst': No such file or directory");
        check_error(dir.run({"--verify", "missing.pcap.zst"}), 1,
                    "tcprec: error: cannot open 'missing.pcap.zst': No such file or directory");
    }
    SECTION("truncated archives") {
        dir.import("http_sessions.pcap", "whole.pcap.zst");
        const auto whole = read_file(dir / "whole.pcap.zst");
        REQUIRE(whole.size() > 200);
        // Cut anywhere: in the trailer, in the index, in the data frame, in the header.
        const size_t keep = GENERATE_COPY(whole.size() - 1, whole.size() - 20, whole.size() / 2,
                                          size_t{100}, size_t{10});
        CAPTURE(keep);
        write_file(dir / "cut.pcap.zst",
                   std::span<const uint8_t>(whole.data(), std::min(keep, whole.size())));
        const CommandResult i = dir.run({"--info", "cut.pcap.zst"});
        INFO(i.describe());
        CHECK(i.exit_code == 1);
        CHECK(lines_in(i.err) == 1);
        CHECK(i.err.rfind("tcprec: error: cannot open archive 'cut.pcap.zst': ", 0) == 0);
        CHECK(i.out.empty());
        const CommandResult v = dir.run({"--verify", "cut.pcap.zst"});
        INFO(v.describe());
        CHECK(v.exit_code == 3);
        CHECK(lines_in(v.err) == 1);
        CHECK(v.err.rfind("tcprec: error: 'cut.pcap.zst' is damaged (", 0) == 0);
        CHECK(v.out.find("damage: ") != std::string::npos);
    }
    SECTION("the exact message for a file that lost its trailer") {
        dir.import("http_sessions.pcap", "whole.pcap.zst");
        const auto whole = read_file(dir / "whole.pcap.zst");
        write_file(dir / "cut.pcap.zst", std::span<const uint8_t>(whole.data(), whole.size() - 1));
        check_error(dir.run({"--info", "cut.pcap.zst"}), 1,
                    "tcprec: error: cannot open archive 'cut.pcap.zst': no archive trailer (file "
                    "truncated or recording interrupted? run 'tcprec --repair')");
    }
    SECTION("a damaged data frame") {
        dir.import("http_sessions.pcap", "whole.pcap.zst");
        const Json info = dir.info_json("whole.pcap.zst");
        REQUIRE(info["frames"].as_u64() == 1);
        auto bytes = read_file(dir / "whole.pcap.zst");
        // The data frame follows the small header frames; flip bytes in its middle.
        const uint64_t data_frame_end = bytes.size() / 2;
        for (uint64_t k = data_frame_end - 8; k < data_frame_end; ++k) {
            bytes[k] ^= 0x5A;
        }
        write_file(dir / "flipped.pcap.zst", bytes);
        const CommandResult v = dir.run({"--verify", "flipped.pcap.zst"});
        INFO(v.describe());
        CHECK(v.exit_code == 3);
        CHECK(lines_in(v.err) == 1);
        CHECK(v.err.rfind("tcprec: error: 'flipped.pcap.zst' is damaged (", 0) == 0);
    }
}

TEST_CASE("usage errors give one line and exit 2", "[cli]") {
    const CliDir dir;
    struct Case {
        std::vector<std::string> args;
        std::string error;
    };
    const Case c = GENERATE(
        Case{{},
             "nothing to do: give -i IFACE -o OUT to record, -r FILE to import, or "
             "--info/--verify/--repair ARCHIVE (see --help)"},
        Case{{"--bogus"}, "The following argument was not expected: --bogus (see --help)"},
        Case{{"-r", "http_sessions.pcap", "--info", "x.pcap.zst"},
             "--read excludes --info (see --help)"},
        Case{{"-i", "lo"}, "recording needs an output file: -o OUT.pcap.zst"},
        Case{{"-r", "http_sessions.pcap", "-p", "0"},
             "bad value '0' for -p (expected a port number 1-65535)"},
        Case{{"-r", "http_sessions.pcap", "--level", "99"},
             "--level: Value 99 not in range 1 to 19 (see --help)"},
        Case{{"-i", "lo", "-o", "x.pcap.zst", "--duration", "5x"},
             "bad value '5x' for --duration (expected a duration such as 30s, 1500ms, 10m, 2h)"},
        Case{{"-r", "http_sessions.pcap", "-o", "http_sessions.pcap"},
             "cannot import 'http_sessions.pcap' onto itself: give -o"},
        Case{{"-r", "http_sessions.pcap", "-f", "tcp port"},
             "bad filter 'tcp port': can't parse filter expression: syntax error"});
    CAPTURE(c.args);
    const auto before = dir.listing();
    check_error(dir.run(c.args), 2, "tcprec: error: " + c.error);
    CHECK(dir.listing() == before);
}

TEST_CASE("importing an archive is refused", "[cli]") {
    const CliDir dir;
    dir.import("http_sessions.pcap", "a.pcap.zst");
    check_error(dir.run({"-r", "a.pcap.zst", "-o", "b.pcap.zst"}), 2,
                "tcprec: error: cannot import 'a.pcap.zst': it is already a tcprec archive (see "
                "--info)");
    CHECK_FALSE(fs::exists(dir / "b.pcap.zst"));
}

TEST_CASE("tcprec --help and --version", "[cli]") {
    const CliDir dir;
    const CommandResult h = dir.run({"--help"});
    CHECK(h.exit_code == 0);
    CHECK(h.out.find("--repair") != std::string::npos);
    CHECK(h.out.find("Exit codes: 0 ok, 1 error, 2 usage, 3 verify found damage") !=
          std::string::npos);
    const CommandResult v = dir.run({"--version"});
    CHECK(v.exit_code == 0);
    CHECK(v.out == std::string("tcprec ") + TCPR_VERSION + "\n");
}

TEST_CASE("tcprec --repair rebuilds an interrupted archive and never overwrites", "[cli]") {
    const CliDir dir;
    dir.import("http_sessions.pcap", "whole.pcap.zst");
    const auto whole = read_file(dir / "whole.pcap.zst");
    const Json whole_info = dir.info_json("whole.pcap.zst");

    SECTION("an interrupted recording: X.partial -> X") {
        // Everything but the index and trailer, as a SIGKILLed recorder leaves it.
        const size_t cut = whole.size() - 1;
        write_file(dir / "rec.pcap.zst.partial", std::span<const uint8_t>(whole.data(), cut));
        const auto partial_before = read_file(dir / "rec.pcap.zst.partial");
        const CommandResult r = dir.run({"--repair", "rec.pcap.zst.partial"});
        INFO(r.describe());
        REQUIRE(r.exit_code == 0);
        CHECK(r.err.empty());
        CHECK(r.out.find("\nrepaired rec.pcap.zst.partial -> rec.pcap.zst: 33 records in 3 "
                         "sessions kept from 1 frames; 0 damaged frames dropped") !=
              std::string::npos);
        // The input is untouched (the output's temporary name must not be the input).
        CHECK(read_file(dir / "rec.pcap.zst.partial") == partial_before);
        CHECK(dir.run({"--verify", "rec.pcap.zst"}).exit_code == 0);
        const Json info = dir.info_json("rec.pcap.zst");
        CHECK(info["packets"].as_u64() == whole_info["packets"].as_u64());
        CHECK(info["session_count"].as_u64() == 3);
        CHECK_FALSE(fs::exists(dir / "rec.pcap.zst.repair.partial"));

        // A second repair would overwrite rec.pcap.zst: refused, nothing changes.
        const auto repaired = read_file(dir / "rec.pcap.zst");
        check_error(dir.run({"--repair", "rec.pcap.zst.partial"}), 2,
                    "tcprec: error: cannot repair 'rec.pcap.zst.partial': output 'rec.pcap.zst' "
                    "exists (give another -o)");
        CHECK(read_file(dir / "rec.pcap.zst") == repaired);
    }
    SECTION("naming X when only X.partial exists") {
        write_file(dir / "rec.pcap.zst.partial",
                   std::span<const uint8_t>(whole.data(), whole.size() / 2));
        const CommandResult r = dir.run({"--repair", "rec.pcap.zst"});
        INFO(r.describe());
        REQUIRE(r.exit_code == 0);
        CHECK(dir.run({"--verify", "rec.pcap.zst"}).exit_code == 0);
    }
    SECTION("-o naming an existing file is refused and the file is kept") {
        write_file(dir / "keep.pcap.zst", std::string_view("precious"));
        check_error(dir.run({"--repair", "whole.pcap.zst", "-o", "keep.pcap.zst"}), 2,
                    "tcprec: error: cannot repair 'whole.pcap.zst': output 'keep.pcap.zst' exists "
                    "(give another -o)");
        CHECK(read_text(dir / "keep.pcap.zst") == "precious");
    }
    SECTION("a whole archive is copied to X.repaired.pcap.zst") {
        const CommandResult r = dir.run({"--repair", "whole.pcap.zst"});
        INFO(r.describe());
        REQUIRE(r.exit_code == 0);
        CHECK(dir.run({"--verify", "whole.repaired.pcap.zst"}).exit_code == 0);
        CHECK(dir.info_json("whole.repaired.pcap.zst")["packets"].as_u64() ==
              whole_info["packets"].as_u64());
        check_error(dir.run({"--repair", "whole.pcap.zst"}), 2,
                    "tcprec: error: cannot repair 'whole.pcap.zst': output "
                    "'whole.repaired.pcap.zst' exists (give another -o)");
    }
    SECTION("garbage cannot be repaired and leaves no output") {
        const auto before = dir.listing();
        check_error(dir.run({"--repair", "garbage.pcap.zst", "-o", "g.pcap.zst"}), 1,
                    "tcprec: error: cannot repair 'garbage.pcap.zst': no pcap header frame found "
                    "(not a tcprec archive, or damaged at its start)");
        CHECK(dir.listing() == before);
    }
    CHECK(read_file(dir / "whole.pcap.zst") == whole);  // repair never changes its input
}

}  // namespace tcpr::test
