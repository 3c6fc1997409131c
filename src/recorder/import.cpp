// pcap/pcapng file -> archive.
#include <chrono>

#include "common/archive/archive_reader.h"
#include "common/archive/archive_writer.h"
#include "common/base/error.h"
#include "common/base/log.h"
#include "common/base/stats.h"
#include "common/cli/run_main.h"
#include "common/os/files.h"
#include "common/os/pcap_source.h"
#include "recorder/commands.h"

namespace tcpr::rec {
namespace {
bool ends_with(const std::string& s, const std::string& e) {
    return s.size() >= e.size() && s.compare(s.size() - e.size(), e.size(), e) == 0;
}

std::string default_output(const std::string& input) {
    for (const char* ext : {".pcapng", ".pcap", ".cap"}) {
        if (ends_with(input, ext)) {
            return input.substr(0, input.size() - std::string(ext).size()) + ".pcap.zst";
        }
    }
    return input + ".pcap.zst";
}
}  // namespace

int run_import(const ImportOptions& o) {
    if (archive::looks_like_archive(os::read_head(o.input, 64))) {
        throw Error(ErrorKind::Usage,
                    "cannot import '" + o.input + "': it is already a tcprec archive (see --info)");
    }
    const std::string output = o.output.empty() ? default_output(o.input) : o.output;
    if (output == o.input) {
        throw Error(ErrorKind::Usage, "cannot import '" + o.input + "' onto itself: give -o");
    }
    const auto start = std::chrono::steady_clock::now();
    auto source = os::open_file(o.input, build_filter(o.ports, o.filter));
    require_supported_link(source->link_type(), "cannot import '" + o.input + "'");

    archive::WriterOptions wo;
    wo.link_type = source->link_type();
    wo.snaplen = source->snaplen() == 0 ? 262144 : source->snaplen();
    wo.level = o.level;
    wo.background = true;
    wo.source = "import " + source->describe();
    if (o.ports.size() == 1) {
        wo.server_port = o.ports.front();
    }
    // On any error the AtomicFile destructor removes the partial output: nothing half-written.
    os::AtomicFile file = os::AtomicFile::create(output);
    archive::ArchiveWriter writer(file, wo);
    os::CapturedPacket pkt;
    while (source->next(pkt) == os::PacketSource::Status::Packet) {
        writer.add(pkt.ts_ns, pkt.orig_len, pkt.bytes);
    }
    writer.finish();
    file.commit();

    const archive::WriterStats s = writer.stats();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log::info("imported %llu packets in %llu sessions from %s into %s: %s pcap -> %s (%.1f MB/s)",
              static_cast<unsigned long long>(s.packets),
              static_cast<unsigned long long>(s.sessions), o.input.c_str(), output.c_str(),
              human_bytes(s.pcap_bytes).c_str(), human_bytes(s.file_bytes).c_str(),
              secs > 0 ? static_cast<double>(s.pcap_bytes) / 1e6 / secs : 0.0);
    if (s.not_indexed.total() > 0) {
        log::info("not indexed (stored in the pcap, not part of a TCP session): %llu packets: %s",
                  static_cast<unsigned long long>(s.not_indexed.total()),
                  s.not_indexed.breakdown().c_str());
    }
    return kExitOk;
}

}  // namespace tcpr::rec
