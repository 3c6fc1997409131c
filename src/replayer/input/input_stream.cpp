#include "replayer/input/input_stream.h"

#include <map>

#include "common/base/error.h"
#include "common/os/files.h"
#include "common/os/pcap_source.h"

namespace tcpr::replay {

using PortCounts = std::map<uint16_t, uint64_t>;

// One input file read frame by frame; the current frame stays valid until advance().
class InputStream::File {
  public:
    virtual ~File() = default;
    // Moves to the next frame; false at the end.
    virtual bool advance() = 0;
    virtual uint32_t link_type() const = 0;
    // Connections per server port, to orient mid-session captures when no --port is given.
    virtual void count_ports(PortCounts& counts) const = 0;
    virtual archive::DamageReport damage() const { return {}; }
    virtual bool is_archive() const = 0;
    // A lower bound of the next frame's time known without reading it (archives: from the
    // index), so that a file is read only when its turn comes; nullopt: read to know.
    virtual std::optional<uint64_t> next_time_bound() const { return std::nullopt; }

    uint64_t ts_ns = 0;
    std::span<const uint8_t> bytes;
};

namespace {

// Our archive, rebuilt in memory from its intact frames when its trailer or index is unusable.
class ArchiveFile final : public InputStream::File {
  public:
    explicit ArchiveFile(const std::string& file) : source_(file) {
        try {
            reader_.emplace(source_, file);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::Corrupt) {
                throw;
            }
            recovered_from = e.what();
            const archive::RepairResult r = archive::repair_archive(source_, file, rebuilt_, 1);
            repair_damage_ = r.damage;
            rebuilt_source_.emplace(rebuilt_.data());
            reader_.emplace(*rebuilt_source_, file);
        }
        for (const auto& s : reader_->info().sessions) {
            ++ports_[s.server.port];
        }
        reader_->release_sessions();  // only the counts are needed
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
        for (const auto& [port, n] : ports_) {
            counts[port] += n;
        }
    }
    // Frames skipped: while rebuilding, then while reading.
    archive::DamageReport damage() const override {
        archive::DamageReport d = cursor_->damage();
        d.frames_damaged += repair_damage_.frames_damaged;
        d.bytes_lost += repair_damage_.bytes_lost;
        d.problems.insert(d.problems.begin(), repair_damage_.problems.begin(),
                          repair_damage_.problems.end());
        return d;
    }
    bool is_archive() const override { return true; }
    std::optional<uint64_t> next_time_bound() const override {
        return cursor_->next_frame_first_ns();
    }

    std::string recovered_from;

  private:
    os::FileSource source_;
    archive::VectorSink rebuilt_;
    std::optional<archive::SpanSource> rebuilt_source_;
    archive::DamageReport repair_damage_;
    std::optional<archive::ArchiveReader> reader_;
    std::optional<archive::RecordCursor> cursor_;
    PortCounts ports_;  // the index's sessions per server port
};

// A pcap or pcapng file (libpcap). Without --port nothing is filtered, so frames that are not
// TCP are counted as skipped by the builder.
class PcapFile final : public InputStream::File {
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
    bool is_archive() const override { return false; }

  private:
    std::string path_;
    std::unique_ptr<os::PacketSource> source_;
};

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

InputStream::InputStream(std::vector<std::string> paths, std::optional<uint16_t> port)
    : paths_(std::move(paths)), port_(port) {
    open_all();
    size_t archives = 0;
    for (const auto& f : files_) {
        archives += f->is_archive() ? 1 : 0;
    }
    format_ = describe_formats(archives, files_.size() - archives);
    for (size_t i = 0; i < files_.size(); ++i) {
        if (const auto* a = dynamic_cast<const ArchiveFile*>(files_[i].get());
            a != nullptr && !a->recovered_from.empty()) {
            recovered_from_ += (recovered_from_.empty() ? "" : "; ") +
                               (files_.size() > 1 ? paths_[i] + ": " : "") + a->recovered_from;
        }
    }
}

InputStream::~InputStream() = default;

void InputStream::open_all() {
    files_.clear();
    next_ = {};
    primed_ = false;
    current_ = SIZE_MAX;
    for (const std::string& path : paths_) {
        if (archive::looks_like_archive(os::read_head(path, 64))) {
            files_.push_back(std::make_unique<ArchiveFile>(path));
        } else {
            files_.push_back(std::make_unique<PcapFile>(path, port_));
        }
    }
}

bool InputStream::next(InputFrame& out) {
    if (!primed_) {
        primed_ = true;
        for (size_t i = 0; i < files_.size(); ++i) {
            queue(i);
        }
    } else if (current_ != SIZE_MAX) {
        queue_read(current_);
    }
    current_ = SIZE_MAX;
    while (!next_.empty()) {
        const Entry e = next_.top();
        next_.pop();
        if (e.bound) {
            // Its turn by the index: now read it (its first record may come later still).
            queue_read(e.file);
            continue;
        }
        current_ = e.file;
        const File& f = *files_[current_];
        out.ts_ns = f.ts_ns;
        out.link_type = f.link_type();
        out.bytes = f.bytes;
        return true;
    }
    return false;
}

// File i into the merge: by its index's time bound when it has one, else by its next frame.
void InputStream::queue(size_t i) {
    if (const auto bound = files_[i]->next_time_bound()) {
        next_.push({*bound, i, true});
        return;
    }
    queue_read(i);
}

void InputStream::queue_read(size_t i) {
    if (files_[i]->advance()) {
        next_.push({files_[i]->ts_ns, i, false});
    }
}

void InputStream::rewind() {
    if (!first_pass_damage_) {
        first_pass_damage_ = damage();
    }
    open_all();
}

std::optional<uint16_t> InputStream::busiest_port() const {
    PortCounts counts;
    for (const auto& f : files_) {
        f->count_ports(counts);
    }
    std::optional<uint16_t> best;
    uint64_t n = 0;
    for (const auto& [p, c] : counts) {
        if (c > n) {
            n = c;
            best = p;
        }
    }
    return best;
}

uint32_t InputStream::first_link_type() const {
    return files_.empty() ? 0 : files_.front()->link_type();
}

archive::DamageReport InputStream::damage() const {
    if (first_pass_damage_) {
        return *first_pass_damage_;
    }
    archive::DamageReport out;
    for (size_t i = 0; i < files_.size(); ++i) {
        const archive::DamageReport d = files_[i]->damage();
        out.frames_ok += d.frames_ok;
        out.frames_damaged += d.frames_damaged;
        out.records += d.records;
        out.bytes_lost += d.bytes_lost;
        for (const std::string& problem : d.problems) {
            out.problems.push_back(files_.size() > 1 ? paths_[i] + ": " + problem : problem);
        }
    }
    return out;
}

}  // namespace tcpr::replay
