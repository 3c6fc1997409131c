#include "replayer/source/live_recorder.h"

#include "common/base/error.h"
#include "common/base/log.h"
#include "common/base/stats.h"

namespace tcpr::replay {
namespace {

constexpr uint64_t kFlushNs = 1'000'000'000;  // --record reaches the disk at least this often

}  // namespace

LiveRecorder::LiveRecorder(const std::string& path)
    : path_(path), file_(os::AtomicFile::create_recording(path)) {}

void LiveRecorder::start(const os::PacketSource& capture, uint16_t server_port, int level) {
    archive::WriterOptions wo;
    wo.link_type = capture.link_type();
    wo.snaplen = capture.snaplen();
    wo.level = level;
    wo.background = true;  // compression on a worker thread: the copy loop never waits
    wo.server_port = server_port;
    wo.source = capture.describe();
    writer_ = std::make_unique<archive::ArchiveWriter>(file_, wo);
}

void LiveRecorder::add(const os::CapturedPacket& p) {
    if (!writer_ || !error_.empty()) {
        return;
    }
    try {
        writer_->add(p.ts_ns, p.orig_len, p.bytes);
    } catch (const Error& e) {
        error_ = e.what();
        log::error(
            "recording stopped: %s (copying goes on; frames written so far are in "
            "'%s': tcprec --repair recovers them)",
            e.what(), file_.partial_path().c_str());
    }
}

void LiveRecorder::flush_if_due(uint64_t now_ns) {
    if (!writer_ || !error_.empty() || now_ns < last_flush_ + kFlushNs) {
        return;
    }
    try {
        writer_->flush();
    } catch (const Error& e) {
        error_ = e.what();
        log::error("recording stopped: %s", e.what());
    }
    last_flush_ = now_ns;
}

std::string LiveRecorder::size_text() const {
    return writer_ ? human_bytes(writer_->stats().file_bytes) : std::string();
}

std::string LiveRecorder::finish(const os::CaptureCounters& capture) {
    if (!writer_) {
        return {};
    }
    if (error_.empty()) {
        try {
            archive::CaptureTotals extra;
            extra.kernel_drops = capture.kernel_drops;
            extra.interface_drops = capture.interface_drops;
            writer_->finish(extra);
            file_.commit();
            const archive::WriterStats ws = writer_->stats();
            return path_ + " (" + std::to_string(ws.packets) + " packets, " +
                   human_bytes(ws.file_bytes) + ")";
        } catch (const Error& e) {
            error_ = e.what();
        }
    }
    return "FAILED: " + error_ + " (frames written so far are in '" + file_.partial_path() + "')";
}

}  // namespace tcpr::replay
