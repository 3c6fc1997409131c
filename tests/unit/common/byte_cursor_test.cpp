#include "common/base/byte_cursor.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "common/base/crc32.h"

using tcpr::ByteReader;
using tcpr::ByteWriter;

namespace {

std::span<const uint8_t> span_of(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

TEST_CASE("crc32 matches the IEEE 802.3 check value", "[base]") {
    CHECK(tcpr::crc32(span_of("123456789")) == 0xCBF43926u);
    CHECK(tcpr::crc32(span_of("")) == 0u);
    CHECK(tcpr::crc32(span_of("The quick brown fox jumps over the lazy dog")) == 0x414FA339u);
}

TEST_CASE("crc32 can be computed incrementally", "[base]") {
    const std::string text = "record, replay and amplify real TCP traffic";
    const uint32_t whole = tcpr::crc32(span_of(text));
    for (size_t cut = 0; cut <= text.size(); ++cut) {
        CAPTURE(cut);
        const auto all = span_of(text);
        const uint32_t part = tcpr::crc32_update(tcpr::crc32(all.first(cut)), all.subspan(cut));
        CHECK(part == whole);
    }
}

TEST_CASE("integers round trip through writer and reader, both byte orders", "[base]") {
    std::vector<uint8_t> buf;
    ByteWriter w(buf);
    w.u8(0xab);
    w.u16le(0x1234);
    w.u32le(0xdeadbeef);
    w.u64le(0x0102030405060708ull);
    w.u16be(0x1234);
    w.u32be(0xdeadbeef);
    w.u64be(0x0102030405060708ull);
    CHECK(w.size() == 1 + 2 + 4 + 8 + 2 + 4 + 8);
    // Byte order on the wire.
    CHECK(buf[1] == 0x34);
    CHECK(buf[2] == 0x12);
    CHECK(buf[15] == 0x12);
    CHECK(buf[16] == 0x34);

    ByteReader r(buf);
    CHECK(r.u8() == 0xab);
    CHECK(r.u16le() == 0x1234);
    CHECK(r.u32le() == 0xdeadbeefu);
    CHECK(r.u64le() == 0x0102030405060708ull);
    CHECK(r.u16be() == 0x1234);
    CHECK(r.u32be() == 0xdeadbeefu);
    CHECK(r.u64be() == 0x0102030405060708ull);
    CHECK(r.ok());
    CHECK(r.remaining() == 0);
    CHECK(r.offset() == buf.size());
}

TEST_CASE("varints round trip at every length boundary", "[base]") {
    std::vector<uint64_t> values = {0, 1, 127, 128, 255, 300, 16383, 16384};
    for (int bits = 14; bits < 64; bits += 7) {
        values.push_back((uint64_t{1} << bits) - 1);
        values.push_back(uint64_t{1} << bits);
    }
    values.push_back(std::numeric_limits<uint64_t>::max());
    for (uint64_t v : values) {
        CAPTURE(v);
        std::vector<uint8_t> buf;
        ByteWriter w(buf);
        w.varint(v);
        size_t want_len = 1;
        for (uint64_t x = v; x >= 0x80; x >>= 7) {
            ++want_len;
        }
        CHECK(buf.size() == want_len);
        ByteReader r(buf);
        CHECK(r.varint() == v);
        CHECK(r.ok());
        CHECK(r.remaining() == 0);
    }
}

TEST_CASE("a varint longer than 10 bytes or cut short fails", "[base]") {
    const std::vector<uint8_t> endless(11, 0x80);
    ByteReader r(endless);
    CHECK(r.varint() == 0);
    CHECK_FALSE(r.ok());

    const std::vector<uint8_t> cut = {0xff, 0xff};  // continuation bit on the last byte
    ByteReader r2(cut);
    CHECK(r2.varint() == 0);
    CHECK_FALSE(r2.ok());
}

TEST_CASE("reading past the end fails without reading, and the failure sticks", "[base]") {
    // Only the first 3 bytes are in the span; the bytes after it must never be read.
    const std::vector<uint8_t> backing = {1, 2, 3, 0xee, 0xee, 0xee, 0xee, 0xee};
    const std::span<const uint8_t> three(backing.data(), 3);

    SECTION("a 4-byte read on 3 bytes returns 0 and consumes nothing") {
        ByteReader r(three);
        CHECK(r.u32le() == 0);
        CHECK_FALSE(r.ok());
        CHECK(r.offset() == 0);
        CHECK(r.remaining() == 0);
        CHECK(r.u8() == 0);  // sticky: even a read that would fit now fails
        CHECK_FALSE(r.ok());
    }
    SECTION("big-endian and 64-bit reads") {
        ByteReader r(three);
        CHECK(r.u16be() == 0x0102);
        CHECK(r.u16be() == 0);
        CHECK_FALSE(r.ok());
        ByteReader r64(three);
        CHECK(r64.u64be() == 0);
        CHECK_FALSE(r64.ok());
    }
    SECTION("bytes(n) returns an empty span") {
        ByteReader r(three);
        CHECK(r.bytes(2).size() == 2);
        const auto s = r.bytes(2);
        CHECK(s.empty());
        CHECK_FALSE(r.ok());
        CHECK(r.offset() == 2);
    }
    SECTION("skip past the end fails") {
        ByteReader r(three);
        r.skip(4);
        CHECK_FALSE(r.ok());
        CHECK(r.u8() == 0);
    }
    SECTION("huge lengths do not overflow the bounds check") {
        ByteReader r(three);
        r.skip(1);
        CHECK(r.bytes(std::numeric_limits<size_t>::max()).empty());
        CHECK_FALSE(r.ok());
    }
    SECTION("an empty span") {
        ByteReader r(std::span<const uint8_t>{});
        CHECK(r.u8() == 0);
        CHECK_FALSE(r.ok());
        CHECK(r.varint() == 0);
    }
}
