#include "replayer/input/load.h"

#include <glob.h>
#include <map>
#include <memory>
#include <queue>
#include <set>

#include "common/base/error.h"
#include "common/os/files.h"
#include "common/os/pcap_source.h"

namespace tcpr::replay {
namespace {

using PortCounts = std::map<uint16_t, uint64_t>;

// One input file read packet by packet; the current packet stays valid until advance().
class InputFile {
  public:
    virtual ~InputFile() = default;
    // Moves to the next packet; false at the end.
    virtual bool advance() = 0;
    virtual uint32_t link_type() const = 0;
    // Connections per server port, to orient mid-session captures when no --port is given.
    virtual void count_ports(PortCounts& counts) const = 0;

    uint64_t ts_ns = 0;
    std::span<const uint8_t> bytes;
};

// Our archive, rebuilt in memory from its intact frames when its trailer or index is unusable.
class ArchiveFile final : public InputFile {
  public:
    explicit ArchiveFile(const std::string& file) : path(file), source_(file) {
        try {
            reader_.emplace(source_, file);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::Corrupt) {
                throw;
            }
            recovered_from = e.what();
            const archive::RepairResult r = archive::repair_archive(source_, file, rebuilt_, 1);
            repair_damage = r.damage;
            rebuilt_source_.emplace(rebuilt_.data());
            reader_.emplace(*rebuilt_source_, file);
        }
        cursor_.emplace(*reader_);
    }

    bool advance() override {
        archive::Record r;
        if (!cursor_->next(r)) {
            return false;
        }
        ts_ns = r.ts_ns;
        bytes = r.bytes;
        return true;
    }
    uint32_t link_type() const override { return reader_->info().link_type; }
    void count_ports(PortCounts& counts) const override {
        for (const auto& s : reader_->info().sessions) {
            ++counts[s.server.port];
        }
    }
    // Frames skipped: while rebuilding, then while reading.
    archive::DamageReport damage() const {
        archive::DamageReport d = cursor_->damage();
        d.frames_damaged += repair_damage.frames_damaged;
        d.bytes_lost += repair_damage.bytes_lost;
        d.problems.insert(d.problems.begin(), repair_damage.problems.begin(),
                          repair_damage.problems.end());
        return d;
    }

    std::string path;
    std::string recovered_from;
    archive::DamageReport repair_damage;

  private:
    os::FileSource source_;
    archive::VectorSink rebuilt_;
    std::optional<archive::SpanSource> rebuilt_source_;
    std::optional<archive::ArchiveReader> reader_;
    std::optional<archive::RecordCursor> cursor_;
};

// A pcap or pcapng file (libpcap). Without --port nothing is filtered, so frames that are not
// TCP are counted as skipped by the builder.
class PcapFile final : public InputFile {
  public:
    PcapFile(const std::string& path, const std::optional<uint16_t>& port) : path_(path) {
        source_ = os::open_file(path, port ? "tcp port " + std::to_string(*port) : std::string());
    }

    bool advance() override {
        os::CapturedPacket pkt;
        if (source_->next(pkt) != os::PacketSource::Status::Packet) {
            return false;
        }
        ts_ns = pkt.ts_ns;
        bytes = pkt.bytes;
        return true;
    }
    uint32_t link_type() const override { return source_->link_type(); }
    // A first pass counts the SYNs to each port, as an archive's index would count sessions.
    void count_ports(PortCounts& counts) const override {
        auto scan = os::open_file(path_);
        os::CapturedPacket pkt;
        while (scan->next(pkt) == os::PacketSource::Status::Packet) {
            const net::DecodeResult d = net::decode(scan->link_type(), pkt.bytes);
            if (d.ok() && d.packet().syn() && !d.packet().ack_flag()) {
                ++counts[d.packet().dport];
            }
        }
    }

  private:
    std::string path_;
    std::unique_ptr<os::PacketSource> source_;
};

bool has_glob_chars(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::string plural(size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string describe_formats(size_t archives, size_t pcaps) {
    if (pcaps == 0 && archives == 1) {
        return "archive";
    }
    if (archives == 0 && pcaps == 1) {
        return "pcap/pcapng";
    }
    if (pcaps == 0) {
        return plural(archives, "archive", "archives");
    }
    if (archives == 0) {
        return plural(pcaps, "pcap/pcapng file", "pcap/pcapng files");
    }
    return plural(archives, "archive", "archives") + " + " +
           plural(pcaps, "pcap/pcapng file", "pcap/pcapng files");
}

}  // namespace

std::vector<std::string> expand_inputs(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    std::set<std::string> seen;
    const auto add = [&](const std::string& path) {
        if (seen.insert(path).second) {
            out.push_back(path);
        }
    };
    for (const std::string& arg : args) {
        if (!has_glob_chars(arg)) {
            add(arg);
            continue;
        }
        glob_t g{};
        const int rc = ::glob(arg.c_str(), GLOB_ERR, nullptr, &g);
        if (rc == 0) {
            for (size_t i = 0; i < g.gl_pathc; ++i) {
                add(g.gl_pathv[i]);
            }
        }
        globfree(&g);
        if (rc == GLOB_NOMATCH) {
            throw Error(ErrorKind::Usage, "--in '" + arg + "': no file matches");
        }
        if (rc != 0) {
            throw Error(ErrorKind::Io, "--in '" + arg + "': cannot read its directory");
        }
    }
    if (out.empty()) {
        throw Error(ErrorKind::Usage, "--in: no input file");
    }
    return out;
}

LoadedInput load_input(const std::vector<std::string>& paths, BuilderOptions options) {
    LoadedInput out;
    out.files = paths.size();
    std::vector<std::unique_ptr<InputFile>> files;
    std::vector<const ArchiveFile*> archives;
    size_t pcaps = 0;
    for (const std::string& path : paths) {
        if (archive::looks_like_archive(os::read_head(path, 64))) {
            auto a = std::make_unique<ArchiveFile>(path);
            if (!a->recovered_from.empty()) {
                out.recovered_from += (out.recovered_from.empty() ? "" : "; ") + a->recovered_from;
            }
            archives.push_back(a.get());
            files.push_back(std::move(a));
        } else {
            files.push_back(std::make_unique<PcapFile>(path, options.selection.server_port));
            ++pcaps;
        }
    }
    out.format = describe_formats(archives.size(), pcaps);
    out.link_type = files.empty() ? 0 : files.front()->link_type();
    if (!options.selection.server_port && !options.default_server_port) {
        // The port most connections go to orients mid-session captures.
        PortCounts counts;
        for (const auto& f : files) {
            f->count_ports(counts);
        }
        uint64_t best = 0;
        for (const auto& [port, n] : counts) {
            if (n > best) {
                best = n;
                options.default_server_port = port;
            }
        }
    }
    out.server_port =
        options.selection.server_port ? options.selection.server_port : options.default_server_port;

    // Merge by capture time: the file whose current packet is the earliest goes next.
    SessionBuilder builder(options);
    using Entry = std::pair<uint64_t, size_t>;  // (ts, file index)
    std::priority_queue<Entry, std::vector<Entry>, std::greater<>> next;
    for (size_t i = 0; i < files.size(); ++i) {
        if (files[i]->advance()) {
            next.emplace(files[i]->ts_ns, i);
        }
    }
    while (!next.empty()) {
        const size_t i = next.top().second;
        next.pop();
        InputFile& f = *files[i];
        builder.add_frame(f.link_type(), f.ts_ns, f.bytes);
        if (f.advance()) {
            next.emplace(f.ts_ns, i);
        }
    }
    for (const ArchiveFile* a : archives) {
        const archive::DamageReport d = a->damage();
        out.damage.frames_ok += d.frames_ok;
        out.damage.frames_damaged += d.frames_damaged;
        out.damage.records += d.records;
        out.damage.bytes_lost += d.bytes_lost;
        for (const std::string& problem : d.problems) {
            // Several files: each line names its file.
            out.damage.problems.push_back(files.size() > 1 ? a->path + ": " + problem : problem);
        }
    }
    out.recording = builder.finish();
    return out;
}

}  // namespace tcpr::replay
