// --info, --verify and --repair of archives.
#include <cstdio>

#include "common/archive/archive_reader.h"
#include "common/archive/archive_writer.h"
#include "common/base/error.h"
#include "common/base/json.h"
#include "common/base/log.h"
#include "common/base/parse.h"
#include "common/base/stats.h"
#include "common/cli/run_main.h"
#include "common/net/link_type.h"
#include "common/os/files.h"
#include "recorder/commands.h"

namespace tcpr::rec {
namespace {

using session::SessionSummary;
namespace sf = session::session_flags;

std::string flags_text(uint8_t f) {
    std::string s;
    s += (f & sf::kSynSeen) ? 'S' : '-';
    s += (f & sf::kSynAckSeen) ? 'A' : '-';
    s += (f & sf::kFinSeen) ? 'F' : '-';
    s += (f & sf::kRstSeen) ? 'R' : '-';
    s += (f & sf::kPayloadTruncated) ? 'T' : '-';
    return s;
}

using ull = unsigned long long;

void print_text(const std::string& path, const archive::ArchiveInfo& in, size_t max_sessions) {
    std::printf("archive:    %s (format %u, written by %s)\n", path.c_str(), in.format_version,
                in.writer.c_str());
    std::printf("source:     %s\n", in.source.c_str());
    std::printf("link type:  %s (%u), snaplen %u\n", net::link_type_name(in.link_type).c_str(),
                in.link_type, in.snaplen);
    if (in.packets > 0) {
        std::printf("time:       %s .. %s (%s)\n", format_timestamp(in.first_ns, 3).c_str(),
                    format_timestamp(in.last_ns, 3).c_str(),
                    format_duration(std::chrono::nanoseconds(in.last_ns - in.first_ns)).c_str());
    } else {
        std::printf("time:       - (no packets)\n");
    }
    std::printf("packets:    %llu (%llu indexed", static_cast<ull>(in.packets),
                static_cast<ull>(in.indexed));
    if (in.not_indexed.total() > 0) {
        std::printf("; not indexed: %s", in.not_indexed.breakdown().c_str());
    }
    std::printf(")\n");
    const double ratio =
        in.file_bytes ? static_cast<double>(in.pcap_bytes) / static_cast<double>(in.file_bytes) : 0;
    std::printf("size:       %s pcap in %s (ratio %.2f), %zu frames\n",
                human_bytes(in.pcap_bytes).c_str(), human_bytes(in.file_bytes).c_str(), ratio,
                in.frames.size());
    std::printf("drops:      kernel %llu, interface %llu\n", static_cast<ull>(in.kernel_drops),
                static_cast<ull>(in.interface_drops));
    size_t with_syn = 0, closed = 0;
    for (const auto& s : in.sessions) {
        with_syn += s.has(sf::kSynSeen) ? 1 : 0;
        closed += (s.flags & (sf::kFinSeen | sf::kRstSeen)) ? 1 : 0;
    }
    std::printf("sessions:   %zu (%zu with SYN, %zu closed by FIN/RST)\n", in.sessions.size(),
                with_syn, closed);
    if (max_sessions == 0 || in.sessions.empty()) {
        return;
    }
    std::printf("%6s %-40s %-40s %10s %10s %7s %7s %10s %10s %s\n", "#", "client", "server",
                "start(s)", "dur(s)", "pkts>", "pkts<", "bytes>", "bytes<", "flags");
    size_t n = 0;
    for (const auto& s : in.sessions) {
        if (n == max_sessions) {
            std::printf("... %zu more sessions (--all-sessions lists all)\n",
                        in.sessions.size() - n);
            break;
        }
        ++n;
        std::printf("%6zu %-40s %-40s %10.3f %10.3f %7llu %7llu %10llu %10llu %s\n", n,
                    s.client.to_string().c_str(), s.server.to_string().c_str(),
                    static_cast<double>(s.first_ns - in.first_ns) / 1e9,
                    static_cast<double>(s.last_ns - s.first_ns) / 1e9,
                    static_cast<ull>(s.packets_c2s), static_cast<ull>(s.packets_s2c),
                    static_cast<ull>(s.bytes_c2s), static_cast<ull>(s.bytes_s2c),
                    flags_text(s.flags).c_str());
    }
    std::printf("flags: S client SYN, A server SYN-ACK, F FIN, R RST, T payload cut by snaplen\n");
}

void print_json(const std::string& path, const archive::ArchiveInfo& in, size_t max_sessions) {
    std::printf("{\"archive\":%s,\"format\":%u,\"writer\":%s,\"source\":%s,",
                json_string(path).c_str(), in.format_version, json_string(in.writer).c_str(),
                json_string(in.source).c_str());
    std::printf("\"link_type\":%u,\"link_name\":%s,\"snaplen\":%u,", in.link_type,
                json_string(net::link_type_name(in.link_type)).c_str(), in.snaplen);
    std::printf("\"packets\":%llu,\"indexed\":%llu,\"pcap_bytes\":%llu,\"file_bytes\":%llu,",
                static_cast<ull>(in.packets), static_cast<ull>(in.indexed),
                static_cast<ull>(in.pcap_bytes), static_cast<ull>(in.file_bytes));
    std::printf(
        "\"first_ns\":%llu,\"last_ns\":%llu,\"kernel_drops\":%llu,"
        "\"interface_drops\":%llu,\"frames\":%zu,",
        static_cast<ull>(in.first_ns), static_cast<ull>(in.last_ns),
        static_cast<ull>(in.kernel_drops), static_cast<ull>(in.interface_drops), in.frames.size());
    std::printf("\"not_indexed\":{");
    bool first = true;
    for (int i = 0; i < net::kSkipReasonCount; ++i) {
        if (in.not_indexed.by_reason[i] != 0) {
            std::printf("%s%s:%llu", first ? "" : ",",
                        json_string(net::to_string(static_cast<net::SkipReason>(i))).c_str(),
                        static_cast<ull>(in.not_indexed.by_reason[i]));
            first = false;
        }
    }
    std::printf("},\"session_count\":%zu,\"sessions\":[", in.sessions.size());
    size_t n = 0;
    for (const auto& s : in.sessions) {
        if (n == max_sessions) {
            break;
        }
        std::printf(
            "%s{\"client\":%s,\"server\":%s,\"first_ns\":%llu,\"last_ns\":%llu,"
            "\"packets_c2s\":%llu,\"packets_s2c\":%llu,\"bytes_c2s\":%llu,\"bytes_s2c\":%llu,"
            "\"syn\":%s,\"syn_ack\":%s,\"fin\":%s,\"rst\":%s,\"frames\":%zu}",
            n ? "," : "", json_string(s.client.to_string()).c_str(),
            json_string(s.server.to_string()).c_str(), static_cast<ull>(s.first_ns),
            static_cast<ull>(s.last_ns), static_cast<ull>(s.packets_c2s),
            static_cast<ull>(s.packets_s2c), static_cast<ull>(s.bytes_c2s),
            static_cast<ull>(s.bytes_s2c), s.has(sf::kSynSeen) ? "true" : "false",
            s.has(sf::kSynAckSeen) ? "true" : "false", s.has(sf::kFinSeen) ? "true" : "false",
            s.has(sf::kRstSeen) ? "true" : "false", s.frames.size());
        ++n;
    }
    std::printf("]}\n");
}

bool ends_with(const std::string& s, const std::string& e) {
    return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

}  // namespace

int run_info(const InfoOptions& o) {
    os::FileSource file(o.archive);
    archive::ArchiveReader reader(file, o.archive);
    if (o.json) {
        print_json(o.archive, reader.info(), o.max_sessions);
    } else {
        print_text(o.archive, reader.info(), o.max_sessions);
    }
    return kExitOk;
}

int run_verify(const std::string& path) {
    os::FileSource file(path);
    const std::vector<uint8_t> head = os::read_head(path, 64);
    if (head.size() == 64 && !archive::looks_like_archive(head)) {
        // Not an archive at all (a pcap, a text file): the same one-line error as --info, exit 1.
        // Only files that start like an archive (or are too short to tell) are "damaged"
        // (exit 3) and worth a --repair.
        archive::ArchiveReader reader(file, path);
    }
    const archive::DamageReport r = archive::verify_archive(file, path);
    for (const auto& p : r.problems) {
        std::printf("damage: %s\n", p.c_str());
    }
    std::printf("%s: %llu frames ok, %llu damaged, %llu records readable%s\n", path.c_str(),
                static_cast<ull>(r.frames_ok), static_cast<ull>(r.frames_damaged),
                static_cast<ull>(r.records), r.clean() ? ", archive is intact" : "");
    if (!r.clean()) {
        log::error("'%s' is damaged (%zu problems); 'tcprec --repair %s' rebuilds what is readable",
                   path.c_str(), r.problems.size(), path.c_str());
        return kExitDamaged;
    }
    return kExitOk;
}

int run_repair(const RepairOptions& o) {
    std::string input = o.input;
    if (!os::file_exists(input) && os::file_exists(os::AtomicFile::partial_name(input))) {
        input = os::AtomicFile::partial_name(input);  // "--repair monday.pcap.zst" after a crash
    }
    std::string output = o.output;
    if (output.empty()) {
        if (ends_with(input, ".partial")) {
            output = input.substr(0, input.size() - 8);
        } else if (ends_with(input, ".pcap.zst")) {
            output = input.substr(0, input.size() - 9) + ".repaired.pcap.zst";
        } else {
            output = input + ".repaired.pcap.zst";
        }
    }
    if (output == input) {
        throw Error(ErrorKind::Usage, "cannot repair '" + input + "' in place: give -o");
    }
    if (os::file_exists(output)) {
        throw Error(ErrorKind::Usage, "cannot repair '" + input + "': output '" + output +
                                          "' exists (give another -o)");
    }
    os::FileSource source(input);
    // "--repair X.partial" writes X: its usual temporary name is the input itself, which
    // O_TRUNC would destroy. Write through another temporary name then.
    std::string tmp = os::AtomicFile::partial_name(output);
    if (os::same_file(tmp, input)) {
        tmp = output + ".repair.partial";
    }
    os::AtomicFile out = os::AtomicFile::create(output, tmp);
    const archive::RepairResult r = archive::repair_archive(source, input, out, o.level);
    out.commit();
    for (const auto& p : r.damage.problems) {
        std::printf("dropped: %s\n", p.c_str());
    }
    std::printf(
        "repaired %s -> %s: %llu records in %llu sessions kept from %llu frames; "
        "%llu damaged frames dropped (%s)\n",
        input.c_str(), output.c_str(), static_cast<ull>(r.records_kept),
        static_cast<ull>(r.sessions), static_cast<ull>(r.damage.frames_ok),
        static_cast<ull>(r.damage.frames_damaged), human_bytes(r.damage.bytes_lost).c_str());
    return kExitOk;
}

}  // namespace tcpr::rec
