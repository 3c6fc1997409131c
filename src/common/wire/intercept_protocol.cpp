#include "common/wire/intercept_protocol.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "common/base/byte_cursor.h"

namespace tcpr::wire {
namespace {

constexpr uint8_t kFamilyV4 = 4;
constexpr uint8_t kFamilyV6 = 6;

// ---- encoding ----

void put_address(ByteWriter& w, const net::IpAddress& a, uint8_t family) {
    w.bytes(std::span<const uint8_t>(a.bytes.data(), family == kFamilyV6 ? 16 : 4));
}

// [family u8][client addr][client port u16][server addr][server port u16]
void put_tuple(ByteWriter& w, const Tuple& t) {
    const uint8_t family = t.client.addr.version == 6 ? kFamilyV6 : kFamilyV4;
    // A TCP connection's endpoints share one family; a mixed tuple is a caller bug.
    assert((t.server.addr.version == 6 ? kFamilyV6 : kFamilyV4) == family);
    w.u8(family);
    put_address(w, t.client.addr, family);
    w.u16be(t.client.port);
    put_address(w, t.server.addr, family);
    w.u16be(t.server.port);
}

void put_text(ByteWriter& w, const std::string& s) {
    const size_t n = std::min(s.size(), kMaxTextBytes);
    w.u16be(static_cast<uint16_t>(n));
    w.bytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), n));
}

void put_tuples(ByteWriter& w, const std::vector<Tuple>& tuples) {
    assert(tuples.size() <= kMaxTuplesPerFrame);
    w.u32be(static_cast<uint32_t>(tuples.size()));
    for (const Tuple& t : tuples) {
        put_tuple(w, t);
    }
}

void put_report(ByteWriter& w, const Report& r, size_t max_payload) {
    w.u64be(r.ts_ns);
    put_tuple(w, r.tuple);
    w.u32be(r.seq);
    w.u32be(r.ack);
    w.u16be(r.window);
    w.u8(r.flags);
    w.u8(r.window_scale);
    w.u16be(r.mss);
    w.u32be(r.payload_len);
    const size_t head = std::min({r.payload_head.size(), max_payload, kMaxPayloadBytes});
    w.u16be(static_cast<uint16_t>(head));
    w.bytes(std::span<const uint8_t>(r.payload_head.data(), head));
}

// A Reports message is framed with spans when one of its reports is a merged one.
bool has_spans(const Reports& m) {
    return m.spans || std::any_of(m.reports.begin(), m.reports.end(),
                                  [](const Report& r) { return r.span_ns != 0; });
}

struct BodyEncoder {
    ByteWriter& w;
    MessageType operator()(const Hello& m) {
        w.u8(m.version);
        put_text(w, m.name);
        w.u32be(m.features);
        return MessageType::Hello;
    }
    MessageType operator()(const HelloAck& m) {
        w.u8(m.version);
        w.u32be(m.expiry_seconds);
        w.u32be(m.features);
        return MessageType::HelloAck;
    }
    MessageType operator()(const Register& m) {
        put_tuples(w, m.tuples);
        return MessageType::Register;
    }
    MessageType operator()(const Unregister& m) {
        put_tuples(w, m.tuples);
        return MessageType::Unregister;
    }
    MessageType operator()(const Reports& m) {
        assert(m.reports.size() <= kMaxReportsPerFrame);
        w.u64be(m.sent_ns);
        w.u32be(static_cast<uint32_t>(m.reports.size()));
        const bool spans = has_spans(m);
        for (const Report& r : m.reports) {
            put_report(w, r, kMaxPayloadBytes);
            if (spans) {
                w.u32be(r.span_ns);
            }
        }
        return MessageType::Reports;
    }
    MessageType operator()(const Ping& m) {
        w.u64be(m.nonce);
        return MessageType::Ping;
    }
    MessageType operator()(const ErrorMsg& m) {
        put_text(w, m.reason);
        return MessageType::Error;
    }
    MessageType operator()(const Refused& m) {
        w.u8(m.reason);
        put_tuples(w, m.tuples);
        return MessageType::Refused;
    }
    MessageType operator()(const Challenge& m) {
        w.u8(m.algorithm);
        w.bytes(m.nonce);
        return MessageType::Challenge;
    }
    MessageType operator()(const Auth& m) {
        w.bytes(m.mac);
        return MessageType::Auth;
    }
};

void put_header(std::vector<uint8_t>& out, size_t at, MessageType type, size_t body_len,
                uint8_t version = kProtocolVersion, uint16_t flags = 0) {
    assert(body_len <= kMaxBodyBytes);
    out[at + 0] = version;
    out[at + 1] = static_cast<uint8_t>(type);
    out[at + 2] = static_cast<uint8_t>(flags >> 8);  // kFrameFlag*
    out[at + 3] = static_cast<uint8_t>(flags);
    for (int i = 0; i < 4; ++i) {
        out[at + 4 + i] = static_cast<uint8_t>(body_len >> (8 * (3 - i)));
    }
}

// ---- decoding ----

bool get_tuple(ByteReader& r, Tuple& t) {
    const uint8_t family = r.u8();
    if (!r.ok() || (family != kFamilyV4 && family != kFamilyV6)) {
        return false;
    }
    const size_t alen = family == kFamilyV6 ? 16 : 4;
    auto get_endpoint = [&](net::Endpoint& e) {
        const auto a = r.bytes(alen);
        e.port = r.u16be();
        if (!r.ok()) {
            return false;
        }
        e.addr = family == kFamilyV6 ? net::IpAddress::v6_bytes(a.data())
                                     : net::IpAddress::v4_bytes(a.data());
        return true;
    };
    return get_endpoint(t.client) && get_endpoint(t.server);
}

bool get_text(ByteReader& r, std::string& s) {
    const uint16_t n = r.u16be();
    if (!r.ok() || n > kMaxTextBytes) {
        return false;
    }
    const auto b = r.bytes(n);
    if (!r.ok()) {
        return false;
    }
    s.assign(reinterpret_cast<const char*>(b.data()), b.size());
    return true;
}

// The smallest encoding of one tuple / report: a count larger than remaining / min is a lie,
// rejected before anything is allocated.
constexpr size_t kMinTupleBytes = 1 + 2 * (4 + 2);
constexpr size_t kMinReportBytes = kReportFixedBytes + kMinTupleBytes;

bool get_tuples(ByteReader& r, std::vector<Tuple>& out) {
    const uint32_t n = r.u32be();
    if (!r.ok() || n > kMaxTuplesPerFrame || n > r.remaining() / kMinTupleBytes) {
        return false;
    }
    out.resize(n);
    for (Tuple& t : out) {
        if (!get_tuple(r, t)) {
            return false;
        }
    }
    return true;
}

bool get_report(ByteReader& r, Report& rep) {
    rep.ts_ns = r.u64be();
    if (!get_tuple(r, rep.tuple)) {
        return false;
    }
    rep.seq = r.u32be();
    rep.ack = r.u32be();
    rep.window = r.u16be();
    rep.flags = r.u8();
    rep.window_scale = r.u8();
    rep.mss = r.u16be();
    rep.payload_len = r.u32be();
    const uint16_t head = r.u16be();
    if (!r.ok() || head > rep.payload_len) {
        return false;
    }
    const auto b = r.bytes(head);
    if (!r.ok()) {
        return false;
    }
    rep.payload_head.assign(b.begin(), b.end());
    return true;
}

std::optional<Message> decode_body(MessageType type, uint16_t flags,
                                   std::span<const uint8_t> body) {
    ByteReader r(body);
    std::optional<Message> m;
    bool ok = false;
    switch (type) {
        case MessageType::Hello: {
            Hello h;
            h.version = r.u8();
            ok = r.ok() && get_text(r, h.name);
            h.features = r.u32be();
            ok = ok && r.ok();
            m = std::move(h);
            break;
        }
        case MessageType::HelloAck: {
            HelloAck h;
            h.version = r.u8();
            h.expiry_seconds = r.u32be();
            h.features = r.u32be();
            ok = r.ok();
            m = h;
            break;
        }
        case MessageType::Register: {
            Register g;
            ok = get_tuples(r, g.tuples);
            m = std::move(g);
            break;
        }
        case MessageType::Unregister: {
            Unregister u;
            ok = get_tuples(r, u.tuples);
            m = std::move(u);
            break;
        }
        case MessageType::Reports: {
            Reports rs;
            rs.spans = (flags & kFrameFlagSpans) != 0;
            rs.sent_ns = r.u64be();
            const uint32_t n = r.u32be();
            ok = r.ok() && n <= kMaxReportsPerFrame && n <= r.remaining() / kMinReportBytes;
            if (ok) {
                rs.reports.resize(n);
                for (Report& rep : rs.reports) {
                    if (!get_report(r, rep)) {
                        ok = false;
                        break;
                    }
                    if ((flags & kFrameFlagSpans) != 0) {
                        rep.span_ns = r.u32be();
                        if (!r.ok()) {
                            ok = false;  // the body ends inside the span
                            break;
                        }
                    }
                }
            }
            m = std::move(rs);
            break;
        }
        case MessageType::Ping: {
            Ping p;
            p.nonce = r.u64be();
            ok = r.ok();
            m = p;
            break;
        }
        case MessageType::Error: {
            ErrorMsg e;
            ok = get_text(r, e.reason);
            m = std::move(e);
            break;
        }
        case MessageType::Refused: {
            Refused f;
            f.reason = r.u8();
            ok = r.ok() && get_tuples(r, f.tuples);
            m = std::move(f);
            break;
        }
        case MessageType::Challenge: {
            Challenge c;
            c.algorithm = r.u8();
            const auto b = r.bytes(kNonceBytes);
            ok = r.ok();
            if (ok) {
                std::copy(b.begin(), b.end(), c.nonce.begin());
            }
            m = c;
            break;
        }
        case MessageType::Auth: {
            Auth a;
            const auto b = r.bytes(kMacBytes);
            ok = r.ok();
            if (ok) {
                std::copy(b.begin(), b.end(), a.mac.begin());
            }
            m = a;
            break;
        }
    }
    // The body must be consumed exactly: trailing bytes mean the sender and we disagree.
    if (!ok || r.remaining() != 0) {
        return std::nullopt;
    }
    return m;
}

bool known_type(uint8_t t) {
    return t >= static_cast<uint8_t>(MessageType::Hello) &&
           t <= static_cast<uint8_t>(MessageType::Auth);
}

}  // namespace

size_t TupleHash::operator()(const Tuple& t) const noexcept {
    const net::EndpointHash h;
    const size_t a = h(t.client);
    return a ^ (h(t.server) + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
}

void encode(const Message& m, std::vector<uint8_t>& out) {
    const size_t at = out.size();
    out.resize(at + kHeaderBytes);
    ByteWriter w(out);
    const MessageType type = std::visit(BodyEncoder{w}, m);
    const auto* reports = std::get_if<Reports>(&m);
    put_header(out, at, type, out.size() - at - kHeaderBytes, kProtocolVersion,
               reports != nullptr && has_spans(*reports) ? kFrameFlagSpans : 0);
}

std::vector<uint8_t> encode(const Message& m) {
    std::vector<uint8_t> out;
    encode(m, out);
    return out;
}

std::vector<uint8_t> encode_legacy_error(const std::string& reason) {
    std::vector<uint8_t> out(kHeaderBytes);
    ByteWriter w(out);
    put_text(w, reason);
    put_header(out, 0, MessageType::Error, out.size() - kHeaderBytes, kLegacyVersion);
    return out;
}

void append_report(const Report& r, std::vector<uint8_t>& body, size_t max_payload, bool span) {
    ByteWriter w(body);
    put_report(w, r, max_payload);
    if (span) {
        w.u32be(r.span_ns);
    }
}

void grow_report(std::vector<uint8_t>& body, size_t at, const Report& next, uint32_t span_ns,
                 std::span<const uint8_t> more) {
    // ts 8, tuple (family 1 + 2 x (address + port)), then the fields of put_report.
    const size_t fields = at + 8 + (body.at(at + 8) == kFamilyV6 ? 37 : 13);
    auto get = [&](size_t off, int n) {
        uint32_t v = 0;
        for (int i = 0; i < n; ++i) {
            v = v << 8 | body.at(off + static_cast<size_t>(i));
        }
        return v;
    };
    auto set = [&](size_t off, int n, uint32_t v) {
        for (int i = n; i-- > 0; v >>= 8) {
            body.at(off + static_cast<size_t>(i)) = static_cast<uint8_t>(v);
        }
    };
    set(fields + 4, 4, next.ack);
    set(fields + 8, 2, next.window);
    body.at(fields + 10) |= next.flags;
    set(fields + 14, 4, get(fields + 14, 4) + next.payload_len);
    const uint32_t head = get(fields + 18, 2);
    assert(body.size() == fields + 20 + head + 4);  // the last report, its span at the end
    set(fields + 18, 2, head + static_cast<uint32_t>(more.size()));
    body.resize(body.size() - 4);
    body.insert(body.end(), more.begin(), more.end());
    ByteWriter w(body);
    w.u32be(span_ns);
}

void append_reports_frame(std::span<const uint8_t> encoded_reports, uint32_t count,
                          uint64_t sent_ns, std::vector<uint8_t>& out, bool spans) {
    assert(count <= kMaxReportsPerFrame);
    const size_t at = out.size();
    out.resize(at + kHeaderBytes);
    ByteWriter w(out);
    w.u64be(sent_ns);
    w.u32be(count);
    w.bytes(encoded_reports);
    put_header(out, at, MessageType::Reports, kReportsBodyOverhead + encoded_reports.size(),
               kProtocolVersion, spans ? kFrameFlagSpans : 0);
}

const char* to_string(DecodeStatus s) {
    switch (s) {
        case DecodeStatus::Ok:
            return "ok";
        case DecodeStatus::NeedMore:
            return "incomplete frame";
        case DecodeStatus::BadVersion:
            return "unsupported protocol version";
        case DecodeStatus::BadType:
            return "unknown message type";
        case DecodeStatus::BadLength:
            return "frame too long";
        case DecodeStatus::Malformed:
            return "malformed message";
    }
    return "?";
}

DecodeResult decode(std::span<const uint8_t> bytes) {
    DecodeResult res;
    // The version byte is checked first, as soon as it is there: a peer speaking another
    // version is refused without waiting for a frame whose layout we may not know.
    if (bytes.empty()) {
        return res;
    }
    // A version-1 frame is read only if it is an Error: an old intercept's refusal of us.
    const bool legacy = bytes[0] == kLegacyVersion;
    if (bytes[0] != kProtocolVersion && !legacy) {
        res.status = DecodeStatus::BadVersion;
        return res;
    }
    if (bytes.size() < kHeaderBytes) {
        return res;
    }
    ByteReader r(bytes.first(kHeaderBytes));
    r.u8();
    const uint8_t type = r.u8();
    const uint16_t flags = r.u16be();  // kFrameFlag*: unknown ones are ignored
    const uint32_t length = r.u32be();
    if (legacy && type != static_cast<uint8_t>(MessageType::Error)) {
        res.status = DecodeStatus::BadVersion;
        return res;
    }
    if (!known_type(type)) {
        res.status = DecodeStatus::BadType;
        return res;
    }
    if (length > kMaxBodyBytes) {
        res.status = DecodeStatus::BadLength;
        return res;
    }
    if (bytes.size() - kHeaderBytes < length) {
        return res;
    }
    res.message =
        decode_body(static_cast<MessageType>(type), flags, bytes.subspan(kHeaderBytes, length));
    if (!res.message) {
        res.status = DecodeStatus::Malformed;
        return res;
    }
    res.status = DecodeStatus::Ok;
    res.consumed = kHeaderBytes + length;
    return res;
}

std::span<uint8_t> FrameBuffer::writable(size_t min_bytes) {
    if (buf_.size() - end_ < min_bytes) {
        // Move the unread bytes to the front before growing.
        if (start_ > 0) {
            std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
            end_ -= start_;
            start_ = 0;
        }
        if (buf_.size() - end_ < min_bytes) {
            buf_.resize(end_ + min_bytes);
        }
    }
    return std::span<uint8_t>(buf_.data() + end_, buf_.size() - end_);
}

void FrameBuffer::commit(size_t n) {
    assert(n <= buf_.size() - end_);
    end_ += n;
}

void FrameBuffer::append(std::span<const uint8_t> bytes) {
    if (bytes.empty()) {
        return;
    }
    auto w = writable(bytes.size());
    std::memcpy(w.data(), bytes.data(), bytes.size());
    commit(bytes.size());
}

size_t FrameBuffer::missing() const {
    const size_t have = end_ - start_;
    if (have == 0) {
        return 0;
    }
    if (have < kHeaderBytes) {
        return kHeaderBytes - have;
    }
    ByteReader header(std::span<const uint8_t>(buf_.data() + start_, kHeaderBytes));
    header.skip(4);  // [ver][type][flags]
    const size_t whole = kHeaderBytes + header.u32be();
    return whole > have ? whole - have : 0;
}

DecodeResult FrameBuffer::next() {
    if (failed_ != DecodeStatus::Ok) {
        DecodeResult r;
        r.status = failed_;
        return r;
    }
    DecodeResult r = decode(std::span<const uint8_t>(buf_.data() + start_, end_ - start_));
    if (r.status == DecodeStatus::Ok) {
        start_ += r.consumed;
        if (start_ == end_) {
            start_ = end_ = 0;
        }
    } else if (r.status != DecodeStatus::NeedMore) {
        failed_ = r.status;
    }
    return r;
}

}  // namespace tcpr::wire
