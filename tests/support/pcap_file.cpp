#include "support/pcap_file.h"

#include <algorithm>
#include <stdexcept>

#include "support/temp_dir.h"

namespace tcpr::test {
namespace {

constexpr uint32_t kMagicMicro = 0xa1b2c3d4;
constexpr uint32_t kMagicNano = 0xa1b23c4d;
constexpr uint32_t kShbType = 0x0A0D0D0A;
constexpr uint32_t kIdbType = 0x00000001;
constexpr uint32_t kEpbType = 0x00000006;
constexpr uint32_t kByteOrderMagic = 0x1A2B3C4D;

class Out {
  public:
    explicit Out(bool big_endian) : big_(big_endian) {}
    void u8(uint8_t v) { b_.push_back(v); }
    void u16(uint16_t v) { put(v, 2); }
    void u32(uint32_t v) { put(v, 4); }
    void u64(uint64_t v) { put(v, 8); }
    void bytes(std::span<const uint8_t> s) { b_.insert(b_.end(), s.begin(), s.end()); }
    void pad4() {
        while (b_.size() % 4 != 0) {
            b_.push_back(0);
        }
    }
    size_t size() const { return b_.size(); }
    void patch32(size_t at, uint32_t v) {
        for (size_t i = 0; i < 4; ++i) {
            const size_t shift = big_ ? 8 * (3 - i) : 8 * i;
            b_[at + i] = static_cast<uint8_t>(v >> shift);
        }
    }
    std::vector<uint8_t> take() { return std::move(b_); }

  private:
    void put(uint64_t v, size_t n) {
        for (size_t i = 0; i < n; ++i) {
            const size_t shift = big_ ? 8 * (n - 1 - i) : 8 * i;
            b_.push_back(static_cast<uint8_t>(v >> shift));
        }
    }
    bool big_;
    std::vector<uint8_t> b_;
};

uint32_t orig_len_of(const PcapRecord& r) {
    return r.orig_len != 0 ? r.orig_len : static_cast<uint32_t>(r.bytes.size());
}

// Starts a pcapng block; returns the offset of its total-length field for end_block().
size_t begin_block(Out& o, uint32_t type) {
    o.u32(type);
    const size_t at = o.size();
    o.u32(0);
    return at;
}
void end_block(Out& o, size_t len_at) {
    const uint32_t total = static_cast<uint32_t>(o.size() - (len_at - 4) + 4);
    o.u32(total);
    o.patch32(len_at, total);
}
void option(Out& o, uint16_t code, std::span<const uint8_t> value) {
    o.u16(code);
    o.u16(static_cast<uint16_t>(value.size()));
    o.bytes(value);
    o.pad4();
}

class In {
  public:
    explicit In(std::span<const uint8_t> b) : b_(b) {}
    void set_big(bool big) { big_ = big; }
    bool has(size_t n) const { return b_.size() - pos_ >= n; }
    size_t pos() const { return pos_; }
    uint32_t u32() { return static_cast<uint32_t>(get(4)); }
    uint16_t u16() { return static_cast<uint16_t>(get(2)); }
    std::span<const uint8_t> bytes(size_t n) {
        auto s = b_.subspan(pos_, n);
        pos_ += n;
        return s;
    }

  private:
    uint64_t get(size_t n) {
        uint64_t v = 0;
        for (size_t i = 0; i < n; ++i) {
            const size_t shift = big_ ? 8 * (n - 1 - i) : 8 * i;
            v |= static_cast<uint64_t>(b_[pos_ + i]) << shift;
        }
        pos_ += n;
        return v;
    }
    std::span<const uint8_t> b_;
    size_t pos_ = 0;
    bool big_ = false;
};

}  // namespace

std::vector<uint8_t> pcap_bytes(const PcapOptions& options,
                                const std::vector<PcapRecord>& records) {
    const bool nano = options.resolution == TsResolution::Nano;
    Out o(options.big_endian);
    o.u32(nano ? kMagicNano : kMagicMicro);
    o.u16(2);
    o.u16(4);
    o.u32(0);  // thiszone
    o.u32(0);  // sigfigs
    o.u32(options.snaplen);
    o.u32(options.link_type);
    for (const PcapRecord& r : records) {
        const uint64_t sec = r.ts_ns / 1'000'000'000u;
        const uint64_t frac = r.ts_ns % 1'000'000'000u;
        o.u32(static_cast<uint32_t>(sec));
        o.u32(static_cast<uint32_t>(nano ? frac : frac / 1000u));
        o.u32(static_cast<uint32_t>(r.bytes.size()));
        o.u32(orig_len_of(r));
        o.bytes(r.bytes);
    }
    return o.take();
}

void write_pcap(const std::filesystem::path& path, const PcapOptions& options,
                const std::vector<PcapRecord>& records) {
    write_file(path, pcap_bytes(options, records));
}

std::vector<uint8_t> pcapng_bytes(const std::vector<PcapngInterface>& interfaces,
                                  const std::vector<PcapRecord>& records) {
    Out o(false);
    // Section Header Block: byte-order magic, version 1.0, section length unknown (-1).
    size_t at = begin_block(o, kShbType);
    o.u32(kByteOrderMagic);
    o.u16(1);
    o.u16(0);
    o.u64(~uint64_t{0});
    end_block(o, at);
    for (const PcapngInterface& itf : interfaces) {
        at = begin_block(o, kIdbType);
        o.u16(static_cast<uint16_t>(itf.link_type));
        o.u16(0);
        o.u32(itf.snaplen);
        if (!itf.name.empty()) {
            option(o, 2,
                   std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(itf.name.data()),
                                            itf.name.size()));
        }
        const uint8_t tsresol = itf.resolution == TsResolution::Nano ? 9 : 6;
        option(o, 9, std::span<const uint8_t>(&tsresol, 1));
        option(o, 0, {});  // opt_endofopt
        end_block(o, at);
    }
    for (const PcapRecord& r : records) {
        if (r.interface_id >= interfaces.size()) {
            throw std::invalid_argument("pcapng_bytes: record names interface " +
                                        std::to_string(r.interface_id) + " of " +
                                        std::to_string(interfaces.size()));
        }
        const bool nano = interfaces[r.interface_id].resolution == TsResolution::Nano;
        const uint64_t ts = nano ? r.ts_ns : r.ts_ns / 1000u;
        at = begin_block(o, kEpbType);
        o.u32(r.interface_id);
        o.u32(static_cast<uint32_t>(ts >> 32));
        o.u32(static_cast<uint32_t>(ts));
        o.u32(static_cast<uint32_t>(r.bytes.size()));
        o.u32(orig_len_of(r));
        o.bytes(r.bytes);
        o.pad4();
        end_block(o, at);
    }
    return o.take();
}

void write_pcapng(const std::filesystem::path& path, const std::vector<PcapngInterface>& interfaces,
                  const std::vector<PcapRecord>& records) {
    write_file(path, pcapng_bytes(interfaces, records));
}

PcapContents parse_pcap(std::span<const uint8_t> file) {
    PcapContents c;
    In in(file);
    if (!in.has(24)) {
        throw std::runtime_error("pcap: file header truncated: " + std::to_string(file.size()) +
                                 " of 24 bytes");
    }
    const uint32_t magic_le = in.u32();
    const auto swap32 = [](uint32_t v) {
        return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
    };
    if (magic_le == kMagicMicro || magic_le == kMagicNano) {
        c.big_endian = false;
    } else if (swap32(magic_le) == kMagicMicro || swap32(magic_le) == kMagicNano) {
        c.big_endian = true;
    } else {
        throw std::runtime_error("pcap: bad magic at offset 0");
    }
    const uint32_t magic = c.big_endian ? swap32(magic_le) : magic_le;
    c.resolution = magic == kMagicNano ? TsResolution::Nano : TsResolution::Micro;
    in.set_big(c.big_endian);
    c.version_major = in.u16();
    c.version_minor = in.u16();
    (void)in.u32();
    (void)in.u32();
    c.snaplen = in.u32();
    c.link_type = in.u32();
    while (in.has(1)) {
        const size_t at = in.pos();
        if (!in.has(16)) {
            throw std::runtime_error("pcap: record header truncated at offset " +
                                     std::to_string(at));
        }
        PcapRecord r;
        const uint64_t sec = in.u32();
        const uint64_t frac = in.u32();
        const uint32_t incl = in.u32();
        r.orig_len = in.u32();
        r.ts_ns = sec * 1'000'000'000u + (c.resolution == TsResolution::Nano ? frac : frac * 1000);
        if (!in.has(incl)) {
            throw std::runtime_error("pcap: record data truncated at offset " + std::to_string(at));
        }
        const auto data = in.bytes(incl);
        r.bytes.assign(data.begin(), data.end());
        c.records.push_back(std::move(r));
    }
    return c;
}

PcapContents read_pcap(const std::filesystem::path& path) { return parse_pcap(read_file(path)); }

PcapngContents parse_pcapng(std::span<const uint8_t> file) {
    PcapngContents c;
    size_t pos = 0;
    bool big = false;
    size_t section_base = 0;  // index of the section's first interface in c.interfaces
    std::vector<uint64_t> units_per_s;
    const auto fail = [](const std::string& what, size_t at) {
        throw std::runtime_error("pcapng: " + what + " at offset " + std::to_string(at));
    };
    const auto rd32 = [&](size_t at) {
        In in(file.subspan(at, 4));
        in.set_big(big);
        return in.u32();
    };
    const auto rd16 = [&](size_t at) {
        In in(file.subspan(at, 2));
        in.set_big(big);
        return in.u16();
    };
    while (pos < file.size()) {
        if (file.size() - pos < 12) {
            fail("block header truncated", pos);
        }
        const uint32_t type_raw = rd32(pos);
        if (type_raw == kShbType) {
            const uint32_t bom = static_cast<uint32_t>(file[pos + 8]) |
                                 static_cast<uint32_t>(file[pos + 9]) << 8 |
                                 static_cast<uint32_t>(file[pos + 10]) << 16 |
                                 static_cast<uint32_t>(file[pos + 11]) << 24;
            if (bom == kByteOrderMagic) {
                big = false;
            } else if (bom == 0x4D3C2B1A) {
                big = true;
            } else {
                fail("bad byte-order magic", pos + 8);
            }
            section_base = c.interfaces.size();
        } else if (pos == 0) {
            fail("not a pcapng file (no section header block)", 0);
        }
        const uint32_t len = rd32(pos + 4);
        if (len < 12 || len % 4 != 0 || len > file.size() - pos) {
            fail("bad block length " + std::to_string(len), pos + 4);
        }
        if (rd32(pos + len - 4) != len) {
            fail("trailing block length differs", pos + len - 4);
        }
        const size_t body = pos + 8;
        const size_t body_len = len - 12;
        if (type_raw == kIdbType) {
            if (body_len < 8) {
                fail("interface block too short", pos);
            }
            PcapngInterface itf;
            itf.link_type = rd16(body);
            itf.snaplen = rd32(body + 4);
            itf.name.clear();
            itf.resolution = TsResolution::Micro;
            uint64_t units = 1'000'000;
            size_t o = body + 8;
            while (o + 4 <= body + body_len) {
                const uint16_t code = rd16(o);
                const uint16_t olen = rd16(o + 2);
                if (code == 0) {
                    break;
                }
                if (o + 4 + olen > body + body_len) {
                    fail("interface option overruns its block", o);
                }
                if (code == 2) {
                    itf.name.assign(reinterpret_cast<const char*>(file.data() + o + 4), olen);
                } else if (code == 9 && olen >= 1) {
                    const uint8_t r = file[o + 4];
                    if ((r & 0x80) != 0 || r > 18) {
                        fail("unsupported if_tsresol", o + 4);
                    }
                    units = 1;
                    for (uint8_t i = 0; i < r; ++i) {
                        units *= 10;
                    }
                    itf.resolution = r == 9 ? TsResolution::Nano : TsResolution::Micro;
                }
                o += 4 + (olen + 3u) / 4u * 4u;
            }
            c.interfaces.push_back(itf);
            units_per_s.push_back(units);
        } else if (type_raw == kEpbType) {
            if (body_len < 20) {
                fail("packet block too short", pos);
            }
            PcapRecord r;
            const uint32_t itf = rd32(body);
            const size_t global = section_base + itf;
            if (global >= c.interfaces.size()) {
                fail("packet names unknown interface " + std::to_string(itf), body);
            }
            const uint64_t ts = (uint64_t{rd32(body + 4)} << 32) | rd32(body + 8);
            const uint32_t incl = rd32(body + 12);
            r.orig_len = rd32(body + 16);
            if (incl > body_len - 20) {
                fail("packet data overruns its block", body + 12);
            }
            const uint64_t units = units_per_s[global];
            // units is a power of ten: exact for resolutions up to 1 ns, truncated beyond.
            constexpr uint64_t kNsPerS = 1'000'000'000u;
            r.ts_ns = units <= kNsPerS ? ts / units * kNsPerS + ts % units * (kNsPerS / units)
                                       : ts / (units / kNsPerS);
            r.interface_id = static_cast<uint32_t>(global);
            r.bytes.assign(file.begin() + static_cast<std::ptrdiff_t>(body + 20),
                           file.begin() + static_cast<std::ptrdiff_t>(body + 20 + incl));
            c.records.push_back(std::move(r));
        }
        pos += len;
    }
    return c;
}

PcapngContents read_pcapng(const std::filesystem::path& path) {
    return parse_pcapng(read_file(path));
}

std::vector<PcapRecord> merge_by_time(const std::vector<std::vector<PcapRecord>>& lists) {
    std::vector<PcapRecord> all;
    for (const auto& l : lists) {
        all.insert(all.end(), l.begin(), l.end());
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const PcapRecord& a, const PcapRecord& b) { return a.ts_ns < b.ts_ns; });
    return all;
}

}  // namespace tcpr::test
