#include "replayer/input/load.h"

#include <map>

#include "common/base/error.h"
#include "common/os/files.h"
#include "common/os/pcap_source.h"

namespace tcpr::replay {
namespace {

// The server port most sessions of the index use (orientation of mid-session captures).
std::optional<uint16_t> busiest_server_port(const archive::ArchiveInfo& info) {
    std::map<uint16_t, uint64_t> count;
    for (const auto& s : info.sessions) {
        ++count[s.server.port];
    }
    std::optional<uint16_t> best;
    uint64_t n = 0;
    for (const auto& [port, c] : count) {
        if (c > n) {
            best = port;
            n = c;
        }
    }
    return best;
}

}  // namespace

LoadedInput load_input(const std::string& path, BuilderOptions options) {
    LoadedInput out;
    if (archive::looks_like_archive(os::read_head(path, 64))) {
        out.format = "archive";
        os::FileSource source(path);
        // A truncated or damaged archive (no trailer, bad index) is rebuilt in memory from its
        // intact frames, so whatever is readable is replayed; the loss is reported.
        std::optional<archive::ArchiveReader> opened;
        archive::VectorSink rebuilt;
        std::optional<archive::SpanSource> rebuilt_source;
        archive::DamageReport repair_damage;
        try {
            opened.emplace(source, path);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::Corrupt) {
                throw;
            }
            out.recovered_from = e.what();
            const archive::RepairResult r = archive::repair_archive(source, path, rebuilt, 1);
            repair_damage = r.damage;
            rebuilt_source.emplace(rebuilt.data());
            opened.emplace(*rebuilt_source, path);
        }
        archive::ArchiveReader& reader = *opened;
        const archive::ArchiveInfo& info = reader.info();
        out.link_type = info.link_type;
        if (!options.selection.server_port && !options.default_server_port) {
            options.default_server_port = busiest_server_port(info);
        }
        out.server_port = options.selection.server_port ? options.selection.server_port
                                                        : options.default_server_port;
        SessionBuilder builder(options);
        const uint32_t link = info.link_type;
        out.damage = reader.for_each_record([&](const archive::Record& r) {
            builder.add_frame(link, r.ts_ns, r.bytes);
            return true;
        });
        out.damage.frames_damaged += repair_damage.frames_damaged;
        out.damage.bytes_lost += repair_damage.bytes_lost;
        out.damage.problems.insert(out.damage.problems.begin(), repair_damage.problems.begin(),
                                   repair_damage.problems.end());
        out.recording = builder.finish();
        return out;
    }
    out.format = "pcap/pcapng";
    // Without --port nothing is filtered, so frames that are not TCP are counted as skipped.
    std::string filter;
    if (options.selection.server_port) {
        filter = "tcp port " + std::to_string(*options.selection.server_port);
    }
    if (!options.selection.server_port && !options.default_server_port) {
        // A first pass finds the port most SYNs go to, to orient mid-session captures as an
        // archive's index would.
        auto scan = os::open_file(path);
        std::map<uint16_t, uint64_t> syns;
        os::CapturedPacket pkt;
        while (scan->next(pkt) == os::PacketSource::Status::Packet) {
            const net::DecodeResult d = net::decode(scan->link_type(), pkt.bytes);
            if (d.ok() && d.packet().syn() && !d.packet().ack_flag()) {
                ++syns[d.packet().dport];
            }
        }
        uint64_t best = 0;
        for (const auto& [port, n] : syns) {
            if (n > best) {
                best = n;
                options.default_server_port = port;
            }
        }
    }
    auto source = os::open_file(path, filter);
    out.link_type = source->link_type();
    out.server_port =
        options.selection.server_port ? options.selection.server_port : options.default_server_port;
    SessionBuilder builder(options);
    os::CapturedPacket pkt;
    while (source->next(pkt) == os::PacketSource::Status::Packet) {
        builder.add_frame(out.link_type, pkt.ts_ns, pkt.bytes);
    }
    out.recording = builder.finish();
    return out;
}

}  // namespace tcpr::replay
