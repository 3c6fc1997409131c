// Bounds-checked readers/writers over byte spans, little- and big-endian.
// Reading past the end never touches memory: it sets a sticky failure flag and returns 0.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

namespace tcpr {

class ByteReader {
  public:
    explicit ByteReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}

    bool ok() const { return ok_; }
    size_t offset() const { return pos_; }
    size_t remaining() const { return ok_ ? bytes_.size() - pos_ : 0; }

    uint8_t u8() { return static_cast<uint8_t>(take(1)); }
    uint16_t u16le() { return static_cast<uint16_t>(take(2)); }
    uint32_t u32le() { return static_cast<uint32_t>(take(4)); }
    uint64_t u64le() { return take(8); }
    uint16_t u16be() { return static_cast<uint16_t>(take_be(2)); }
    uint32_t u32be() { return static_cast<uint32_t>(take_be(4)); }
    uint64_t u64be() { return take_be(8); }

    // LEB128 unsigned varint, at most 10 bytes.
    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            const uint8_t b = u8();
            if (!ok_) {
                return 0;
            }
            v |= static_cast<uint64_t>(b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
        ok_ = false;
        return 0;
    }

    // Returns an empty span (and fails) if fewer than n bytes remain.
    std::span<const uint8_t> bytes(size_t n) {
        if (!ok_ || bytes_.size() - pos_ < n) {
            ok_ = false;
            return {};
        }
        auto s = bytes_.subspan(pos_, n);
        pos_ += n;
        return s;
    }
    void skip(size_t n) { (void)bytes(n); }

  private:
    uint64_t take(size_t n) {
        auto s = bytes(n);
        uint64_t v = 0;
        for (size_t i = 0; i < s.size(); ++i) {
            v |= static_cast<uint64_t>(s[i]) << (8 * i);
        }
        return v;
    }
    uint64_t take_be(size_t n) {
        auto s = bytes(n);
        uint64_t v = 0;
        for (uint8_t b : s) {
            v = (v << 8) | b;
        }
        return v;
    }

    std::span<const uint8_t> bytes_;
    size_t pos_ = 0;
    bool ok_ = true;
};

class ByteWriter {
  public:
    explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}

    void u8(uint8_t v) { out_.push_back(v); }
    void u16le(uint16_t v) { put(v, 2); }
    void u32le(uint32_t v) { put(v, 4); }
    void u64le(uint64_t v) { put(v, 8); }
    void u16be(uint16_t v) { put_be(v, 2); }
    void u32be(uint32_t v) { put_be(v, 4); }
    void u64be(uint64_t v) { put_be(v, 8); }
    void varint(uint64_t v) {
        while (v >= 0x80) {
            out_.push_back(static_cast<uint8_t>(v | 0x80));
            v >>= 7;
        }
        out_.push_back(static_cast<uint8_t>(v));
    }
    void bytes(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
    size_t size() const { return out_.size(); }

  private:
    void put(uint64_t v, size_t n) {
        for (size_t i = 0; i < n; ++i) {
            out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
        }
    }
    void put_be(uint64_t v, size_t n) {
        for (size_t i = n; i-- > 0;) {
            out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
        }
    }
    std::vector<uint8_t>& out_;
};

// A string as varint(length) + bytes.
inline void put_string(ByteWriter& w, const std::string& s) {
    w.varint(s.size());
    w.bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
}

// Reads a put_string() string; a length beyond the bytes left sets the reader's failure flag.
inline std::string get_string(ByteReader& r) {
    const uint64_t n = r.varint();
    if (n > r.remaining()) {
        r.skip(r.remaining() + 1);  // sets the failure flag
        return {};
    }
    auto b = r.bytes(n);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace tcpr
