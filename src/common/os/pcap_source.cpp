#include "common/os/pcap_source.h"

#include <cstring>
#include <poll.h>

#include <pcap/pcap.h>

#include "common/base/error.h"
#include "common/base/log.h"
#include "common/os/stop_signal.h"

namespace tcpr::os {

void PcapCloser::operator()(pcap* p) const noexcept {
    if (p != nullptr) {
        pcap_close(p);
    }
}

void break_capture(pcap* p) noexcept {
    if (p != nullptr) {
        pcap_breakloop(p);
    }
}

uint32_t dlt_to_linktype(int dlt) {
    switch (dlt) {
        case 12:  // DLT_RAW on Linux
        case 14:  // DLT_RAW on OpenBSD; files say LINKTYPE_RAW (101)
            return 101;
        default:
            return static_cast<uint32_t>(dlt);
    }
}

namespace {

class BpfProgram {
  public:
    BpfProgram() { std::memset(&prog_, 0, sizeof prog_); }
    ~BpfProgram() { pcap_freecode(&prog_); }
    BpfProgram(const BpfProgram&) = delete;
    BpfProgram& operator=(const BpfProgram&) = delete;
    bpf_program* get() { return &prog_; }

  private:
    bpf_program prog_;
};

void apply_filter(pcap* p, const std::string& filter) {
    if (filter.empty()) {
        return;
    }
    BpfProgram prog;
    if (pcap_compile(p, prog.get(), filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
        throw Error(ErrorKind::Usage, "bad filter '" + filter + "': " + pcap_geterr(p));
    }
    if (pcap_setfilter(p, prog.get()) != 0) {
        throw Error(ErrorKind::Io, "cannot set filter '" + filter + "': " + pcap_geterr(p));
    }
}

class PcapSource final : public PacketSource {
  public:
    // A live source is in non-blocking mode and waits on poll_fd for at most `timeout`, so
    // next() returns Timeout on a quiet interface (periodic flushes, --duration).
    PcapSource(PcapHandle h, bool live, std::string describe, int poll_fd = -1,
               std::chrono::milliseconds timeout = std::chrono::milliseconds(100))
        : h_(std::move(h)),
          live_(live),
          describe_(std::move(describe)),
          poll_fd_(poll_fd),
          timeout_(timeout) {
        link_ = dlt_to_linktype(pcap_datalink(h_.get()));
        snaplen_ = static_cast<uint32_t>(pcap_snapshot(h_.get()));
        if (live_) {
            StopSignal::set_capture(h_.get());
        }
    }
    ~PcapSource() override {
        if (live_) {
            StopSignal::set_capture(nullptr);
        }
    }

    Status next(CapturedPacket& out) override {
        if (StopSignal::requested()) {
            return Status::End;
        }
        pcap_pkthdr* hdr = nullptr;
        const u_char* data = nullptr;
        int rc = pcap_next_ex(h_.get(), &hdr, &data);
        if (rc == 0 && poll_fd_ >= 0 && !caller_nonblocking_) {
            // Nothing buffered: sleep until the kernel hands over a block or the timeout ends.
            // (A blocking TPACKET_V3 read never times out on a quiet interface.) A signal
            // interrupts poll(); pcap_next_ex then reports the break.
            pollfd pfd{poll_fd_, POLLIN, 0};
            (void)::poll(&pfd, 1, static_cast<int>(timeout_.count()));
            if (StopSignal::requested()) {
                return Status::End;
            }
            rc = pcap_next_ex(h_.get(), &hdr, &data);
        }
        if (rc == 1) {
            ++received_;
            // Both sources run with nanosecond precision: tv_usec holds nanoseconds.
            out.ts_ns = static_cast<uint64_t>(hdr->ts.tv_sec) * 1000000000ULL +
                        static_cast<uint64_t>(hdr->ts.tv_usec);
            out.orig_len = hdr->len;
            out.bytes = std::span<const uint8_t>(data, hdr->caplen);
            return Status::Packet;
        }
        if (rc == 0) {
            return Status::Timeout;
        }
        if (rc == PCAP_ERROR_BREAK) {
            return Status::End;
        }
        throw Error(ErrorKind::Io, (live_ ? "capture failed on " : "cannot read ") + describe_ +
                                       ": " + pcap_geterr(h_.get()));
    }

    uint32_t link_type() const override { return link_; }
    uint32_t snaplen() const override { return snaplen_; }
    std::string describe() const override { return describe_; }

    int selectable_fd() const override { return live_ ? pcap_get_selectable_fd(h_.get()) : -1; }
    void set_nonblocking(bool on) override {
        // A live handle is always nonblocking underneath (see the constructor); "blocking"
        // means next() waits in poll() for at most the read timeout.
        caller_nonblocking_ = live_ && on;
    }

    CaptureCounters counters() const override {
        CaptureCounters c;
        c.received = received_;
        if (live_) {
            pcap_stat st{};
            if (pcap_stats(h_.get(), &st) == 0) {
                c.kernel_drops = st.ps_drop;
                c.interface_drops = st.ps_ifdrop;
            }
        }
        return c;
    }

  private:
    PcapHandle h_;
    bool live_;
    std::string describe_;
    int poll_fd_ = -1;
    std::chrono::milliseconds timeout_;
    bool caller_nonblocking_ = false;  // set_nonblocking(true): never wait in next()
    uint32_t link_ = 0;
    uint32_t snaplen_ = 0;
    uint64_t received_ = 0;
};

void check(pcap* p, int rc, const std::string& iface, const char* what) {
    if (rc != 0) {
        throw Error(ErrorKind::Io, "cannot capture on '" + iface + "': cannot " + what + ": " +
                                       pcap_statustostr(rc));
    }
    (void)p;
}

}  // namespace

std::unique_ptr<PacketSource> open_live(const LiveCaptureOptions& opt) {
    char err[PCAP_ERRBUF_SIZE] = {};
    PcapHandle h{pcap_create(opt.interface.c_str(), err)};
    if (!h) {
        throw Error(ErrorKind::Io, "cannot capture on '" + opt.interface + "': " + err);
    }
    check(h.get(), pcap_set_snaplen(h.get(), static_cast<int>(opt.snaplen_bytes)), opt.interface,
          "set snaplen");
    check(h.get(), pcap_set_promisc(h.get(), opt.promiscuous ? 1 : 0), opt.interface,
          "set promiscuous mode");
    check(h.get(), pcap_set_buffer_size(h.get(), static_cast<int>(opt.buffer_bytes)), opt.interface,
          "set buffer size");
    check(h.get(), pcap_set_timeout(h.get(), static_cast<int>(opt.read_timeout.count())),
          opt.interface, "set timeout");
    if (opt.immediate) {
        check(h.get(), pcap_set_immediate_mode(h.get(), 1), opt.interface, "set immediate mode");
    }
    (void)pcap_set_tstamp_precision(h.get(), PCAP_TSTAMP_PRECISION_NANO);
    const int rc = pcap_activate(h.get());
    if (rc < 0) {
        std::string why = pcap_geterr(h.get());
        if (why.empty() || rc == PCAP_ERROR_NO_SUCH_DEVICE) {
            const std::string status = pcap_statustostr(rc);
            why = why.empty() || why == status ? status : status + " (" + why + ")";
        }
        const ErrorKind kind = rc == PCAP_ERROR_PERM_DENIED ? ErrorKind::Permission : ErrorKind::Io;
        if (rc == PCAP_ERROR_PERM_DENIED) {
            why += " (capturing needs root or CAP_NET_RAW)";
        }
        throw Error(kind, "cannot capture on '" + opt.interface + "': " + why);
    }
    if (rc > 0) {
        log::warn("capture on '%s': %s", opt.interface.c_str(), pcap_geterr(h.get()));
    }
    if (pcap_get_tstamp_precision(h.get()) != PCAP_TSTAMP_PRECISION_NANO) {
        throw Error(ErrorKind::Unsupported,
                    "cannot capture on '" + opt.interface + "': no nanosecond timestamps");
    }
    apply_filter(h.get(), opt.filter);
    if (pcap_setnonblock(h.get(), 1, err) != 0) {
        throw Error(ErrorKind::Io,
                    "cannot capture on '" + opt.interface + "': cannot set non-blocking: " + err);
    }
    const int fd = pcap_get_selectable_fd(h.get());
    if (fd < 0) {
        throw Error(ErrorKind::Unsupported,
                    "cannot capture on '" + opt.interface + "': no selectable descriptor");
    }
    std::string desc = "live " + opt.interface;
    if (!opt.filter.empty()) {
        desc += " filter '" + opt.filter + "'";
    }
    return std::make_unique<PcapSource>(std::move(h), true, desc, fd, opt.read_timeout);
}

std::unique_ptr<PacketSource> open_file(const std::string& path, const std::string& filter) {
    char err[PCAP_ERRBUF_SIZE] = {};
    PcapHandle h{
        pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err)};
    if (!h) {
        std::string why = err;
        if (why.find("unknown file format") != std::string::npos) {
            why = "not a pcap or pcapng file";
        }
        // libpcap prefixes errno text with the path already in some versions; keep one line.
        if (why.rfind(path + ": ", 0) == 0) {
            why = why.substr(path.size() + 2);
        }
        throw Error(ErrorKind::Io, "cannot read '" + path + "': " + why);
    }
    apply_filter(h.get(), filter);
    return std::make_unique<PcapSource>(std::move(h), false, "'" + path + "'");
}

}  // namespace tcpr::os
